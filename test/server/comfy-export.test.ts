// `kosmos-g export --format comfy-api`: our workflow in ComfyUI's API format, round-tripping through a real
// server's POST /prompt to the same result as the original; invalid workflows and unknown formats exit 2.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../server/cli/main.ts';
import type { CliIO } from '../../server/cli/io.ts';
import { finishedJob, json, startServer, TEST_PACK, type TestServer } from './helpers.ts';

let s: TestServer;
let dir: string;
before(async () => {
  s = await startServer();
  dir = mkdtempSync(path.join(tmpdir(), 'kosmos-export-'));
});
after(async () => {
  await s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), tty: false };
  const code = await main(argv, io);
  return { code, out, err };
}

const finished = (id: string) => finishedJob(s.base, id);

// Int → (bypassed counter) → counter → image output, plus a muted output: the export resolves the bypass, drops
// the muted node and fills in every widget.
const workflow = {
  format: 'kosmos-g/workflow',
  version: 1,
  nodes: [
    { id: 'n', type: 'Int', widgets: { value: 3 }, title: 'three' },
    { id: 'skip', type: 'TestCounter', mode: 'bypass', inputs: { after: { node: 'n', output: 'value' } } },
    { id: 'c', type: 'TestCounter', widgets: { steps: 2, delayMs: 0 }, inputs: { after: { node: 'skip', output: 'value' } } },
    { id: 'o', type: 'TestImageOut', widgets: { prefix: 'rt' }, inputs: { value: { node: 'c', output: 'value' } } },
    { id: 'm', type: 'TestImageOut', mode: 'muted', inputs: { value: { node: 'c', output: 'value' } } },
  ],
};

test('export --format comfy-api: ComfyUI\'s API format that POST /prompt runs to the same result', async () => {
  const file = path.join(dir, 'wf.json');
  writeFileSync(file, JSON.stringify(workflow));
  const r = await cli(['export', '--format', 'comfy-api', file, '--plugin', TEST_PACK]);
  assert.equal(r.code, 0, r.err);
  const prompt = JSON.parse(r.out);
  assert.deepEqual(Object.keys(prompt), ['n', 'c', 'o']);
  assert.deepEqual(prompt.n, { class_type: 'Int', inputs: { value: 3 }, _meta: { title: 'three' } });
  assert.deepEqual(prompt.c.inputs, { steps: 2, delayMs: 0, failAt: 0, after: ['n', 0] });
  assert.deepEqual(prompt.o.inputs, { prefix: 'rt', value: ['c', 0] });

  const viaApi = await json(s.base, 'POST', '/prompt', { prompt, client_id: 'export-test' });
  assert.equal(viaApi.status, 200, JSON.stringify(viaApi.body));
  const original = await json(s.base, 'POST', '/prompt', { workflow });
  assert.equal(original.status, 200, JSON.stringify(original.body));
  const [a, b] = [await finished(viaApi.body.prompt_id), await finished(original.body.prompt_id)];
  assert.equal(a.status, 'done', JSON.stringify(a.error));
  assert.deepEqual(a.outputs.o.values, { value: 5 }, 'steps 2 + the Int 3 through the bypassed node');
  assert.deepEqual(a.outputs.o.values, b.outputs.o.values);
});

test('export refuses an invalid workflow (every issue, exit 2) and an unknown format', async () => {
  const file = path.join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify({ format: 'kosmos-g/workflow', version: 1, nodes: [{ id: 'x', type: 'Nope' }] }));
  const bad = await cli(['export', file, '--plugin', TEST_PACK]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /^UNKNOWN_NODE_TYPE x: /m);
  assert.equal(bad.out, '');
  const format = await cli(['export', '--format', 'comfy-ui', file]);
  assert.equal(format.code, 2);
  assert.match(format.err, /--format comfy-ui: expected one of comfy-api/);
});

test('POST /api/export (the editor\'s "Export API") gives what the CLI exports; an invalid workflow gets 400 with its issues', async () => {
  const file = path.join(dir, 'same.json');
  writeFileSync(file, JSON.stringify(workflow));
  const viaCli = JSON.parse((await cli(['export', file, '--plugin', TEST_PACK])).out);
  const viaHttp = await json(s.base, 'POST', '/api/export', { workflow });
  assert.equal(viaHttp.status, 200, JSON.stringify(viaHttp.body));
  assert.deepEqual(viaHttp.body, { format: 'comfy-api', prompt: viaCli });
  const bad = await json(s.base, 'POST', '/api/export', { workflow: { ...workflow, nodes: [{ id: 'x', type: 'TestCounter', widgets: { steps: -1 } }] } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'VALIDATION_FAILED');
  assert.deepEqual(bad.body.error.details.issues.map((i: { code: string; input?: string }) => `${i.code} ${i.input ?? ''}`).sort(), ['NO_OUTPUT_NODE ', 'WIDGET_RANGE steps']);
});
