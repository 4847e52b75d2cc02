// Prototype-proof data: JavaScript prototype member names (`__proto__`, `constructor`, `toString`, ...) put in
// every position of a submission (node ids, node types, widget names, input names, link sources and outputs, in
// both our format and ComfyUI's API format, and as request-body keys) against a real server. None may give a 5xx,
// and none may pass: each one is refused (400 from /prompt, ok: false or 400 from /api/validate) with a code.
// KOSMOS_G_FUZZ_N sets the number of submissions (default 2,000).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, json, type TestServer } from './helpers.ts';

const N = Number(process.env.KOSMOS_G_FUZZ_N ?? 2000);
const NAMES = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty', 'prototype', 'isPrototypeOf', '__defineGetter__', 'toLocaleString'];

let s: TestServer;
before(async () => {
  s = await startServer({}, { builtins: false });
});
after(async () => s.close());

/** A small deterministic generator (mulberry32), so a failure names a submission that can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = Record<string, unknown>;

/** Builds an own property even for `__proto__` (an object literal or assignment would set the prototype instead). */
function put(target: Json, key: string, value: unknown): Json {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  return target;
}

/** A valid two-node workflow (counter → image) with one reserved name put in one position. */
function ours(name: string, position: number): Json {
  const counter: Json = { id: '1', type: 'TestCounter', widgets: { steps: 1, delayMs: 0 } };
  const out: Json = { id: '2', type: 'TestImageOut', widgets: { prefix: 'p' }, inputs: { value: { node: '1', output: 'value' } } };
  switch (position % 7) {
    case 0: // the producing node's id (and the link to it)
      counter.id = name;
      (out.inputs as Json).value = { node: name, output: 'value' };
      break;
    case 1: // the output node's id
      out.id = name;
      break;
    case 2: // a widget name
      put(counter.widgets as Json, name, 1);
      break;
    case 3: // an input name
      put(out.inputs as Json, name, { node: '1', output: 'value' });
      break;
    case 4: // a link's source node (no such node)
      (out.inputs as Json).value = { node: name, output: 'value' };
      break;
    case 5: // a link's output name
      (out.inputs as Json).value = { node: '1', output: name };
      break;
    default: // a node type
      counter.type = name;
  }
  return { workflow: { format: 'kosmos-g/workflow', version: 1, nodes: [counter, out] } };
}

/** The same graph in ComfyUI's API format, with one reserved name in one position. */
function comfy(name: string, position: number): Json {
  const counter: Json = { class_type: 'TestCounter', inputs: { steps: 1, delayMs: 0 } };
  const out: Json = { class_type: 'TestImageOut', inputs: { prefix: 'p', value: ['1', 0] } };
  const prompt: Json = {};
  switch (position % 5) {
    case 0: // a prompt key (node id)
      put(prompt, name, counter);
      out.inputs = { prefix: 'p', value: [name, 0] };
      put(prompt, '2', out);
      return { prompt, client_id: 'fuzz' };
    case 1: // an input name
      put(out.inputs as Json, name, 3);
      break;
    case 2: // a link's source id
      (out.inputs as Json).value = [name, 0];
      break;
    case 3: // a class_type
      counter.class_type = name;
      break;
    default: // an input name carrying a link
      put(out.inputs as Json, name, ['1', 0]);
  }
  put(prompt, '1', counter);
  put(prompt, '2', out);
  return { prompt, client_id: 'fuzz' };
}

test(`${N} submissions with prototype member names in every position: no 5xx, none accepted`, async () => {
  const next = rng(17);
  const statuses = new Map<number, number>();
  for (let i = 0; i < N; i++) {
    const name = NAMES[Math.floor(next() * NAMES.length)]!;
    const position = Math.floor(next() * 35);
    const body = next() < 0.5 ? ours(name, position) : comfy(name, position);
    const route = next() < 0.5 ? '/prompt' : '/api/validate';
    const r = await json(s.base, 'POST', route, JSON.stringify(body), { 'content-type': 'application/json' });
    statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    const what = `#${i} ${route} ${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.body)}`;
    assert.ok(r.status < 500, what);
    if (route === '/prompt' || r.status !== 200) {
      assert.equal(r.status, 400, what);
      assert.equal(typeof (r.body.error?.code ?? r.body.node_errors), r.body.error?.code !== undefined ? 'string' : 'object', what);
    } else {
      assert.equal(r.body.ok, false, what);
      assert.ok(r.body.issues.length > 0 && r.body.issues.every((issue: { code: unknown }) => typeof issue.code === 'string'), what);
    }
  }
  assert.equal([...statuses.keys()].filter((st) => st >= 500).length, 0, JSON.stringify([...statuses]));
});

test('request bodies whose own keys are prototype member names get a 400, never a 5xx', async () => {
  for (const name of NAMES) {
    for (const route of ['/prompt', '/api/validate', '/queue', '/history', '/interrupt']) {
      const r = await json(s.base, 'POST', route, `{"${name}": {"workflow": 1}, "prompt": {"${name}": {"class_type": "${name}"}}}`);
      assert.ok(r.status < 500, `${route} ${name}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    for (const route of [`/history/${name}`, `/object_info/${name}`, `/api/jobs/${name}`, `/view?filename=${name}`, `/api/workflows/${name}`]) {
      const r = await json(s.base, 'GET', route);
      assert.ok(r.status < 500, `${route}: ${r.status}`);
    }
  }
});

test('a reserved name is refused with RESERVED_NAME naming the node and the field', async () => {
  const r = await json(s.base, 'POST', '/api/validate', JSON.stringify(ours('constructor', 2)));
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'RESERVED_NAME');
  const issue = r.body.error.details.issues[0];
  assert.deepEqual([issue.code, issue.node, issue.input, issue.path], ['RESERVED_NAME', '1', 'constructor', 'nodes[0].widgets.constructor']);
  const proto = await json(s.base, 'POST', '/prompt', JSON.stringify(ours('__proto__', 3)));
  assert.equal(proto.status, 400);
  assert.equal(proto.body.error.details.issues[0].input, '__proto__');
});
