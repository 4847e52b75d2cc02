import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { Executor } from '../../engine/execute.ts';
import type { EngineEvent } from '../../engine/events.ts';
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Registry } from '../../engine/registry.ts';
import { defineNode, definePack } from '../../engine/node-def.ts';
import { calls, chain, disposed, resetCounts, testRegistry, wf } from './helpers.ts';

const registry = testRegistry();
const executed = (r: { nodes: Record<string, { status: string }> }) =>
  Object.entries(r.nodes)
    .filter(([, n]) => n.status === 'executed')
    .map(([id]) => id)
    .sort();

beforeEach(resetCounts);

test('runs in dependency order and returns the output values', async () => {
  const events: EngineEvent[] = [];
  const result = await new Executor(registry).run(chain(), { onEvent: (e) => events.push(e), jobId: 'job-1' });
  assert.equal(result.status, 'ok');
  assert.equal(result.jobId, 'job-1');
  assert.deepEqual(result.outputs.out, { files: [], values: { value: 6 } });
  const started = events.find((e) => e.type === 'job_started');
  assert.ok(started && started.type === 'job_started');
  const order = started.nodes;
  assert.ok(order.indexOf('sum') > order.indexOf('x') && order.indexOf('sum') > order.indexOf('y'));
  assert.ok(order.indexOf('double') > order.indexOf('sum') && order.indexOf('out') > order.indexOf('double'));
  assert.deepEqual(events.map((e) => e.type).filter((t) => t !== 'node_started' && t !== 'node_done'), ['job_started', 'job_done']);
  assert.equal(events.filter((e) => e.type === 'node_done').length, 5);
  assert.ok(events.every((e) => e.jobId === 'job-1'));
});

test('an unchanged rerun executes nothing; one changed widget re-executes exactly its descendants', async () => {
  const executor = new Executor(registry);
  const first = await executor.run(chain());
  assert.deepEqual(executed(first), ['double', 'out', 'sum', 'x', 'y']);
  const again = await executor.run(chain());
  assert.deepEqual(executed(again), []);
  assert.equal(Object.values(again.nodes).filter((n) => n.status === 'cached').length, 5);
  assert.deepEqual(again.outputs.out!.values, { value: 6 });
  const changed = await executor.run(chain(), { overrides: { 'y.value': 10 } });
  assert.deepEqual(executed(changed), ['double', 'out', 'sum', 'y']);
  assert.deepEqual(changed.outputs.out!.values, { value: 22 });
  const mode = await executor.run(chain(), { overrides: { 'double.mode': 'plain' } });
  assert.deepEqual(executed(mode), ['double', 'out']);
  executor.clearCache();
  assert.deepEqual(executed(await executor.run(chain())), ['double', 'out', 'sum', 'x', 'y']);
});

test('only what the requested outputs need runs', async () => {
  const w = wf([
    { id: 'x', type: 'Num', widgets: { value: 1 } },
    { id: 'y', type: 'Num', widgets: { value: 2 } },
    { id: 'o1', type: 'Out', inputs: { value: 'x.value' } },
    { id: 'o2', type: 'Out', inputs: { value: 'y.value' } },
  ]);
  const result = await new Executor(registry).run(w, { outputs: ['o2'] });
  assert.deepEqual(executed(result), ['o2', 'y']);
  assert.deepEqual(Object.keys(result.outputs), ['o2']);
  const unknown = await new Executor(registry).run(w, { outputs: ['nope'] });
  assert.equal(unknown.status, 'error');
  assert.equal(unknown.errors[0]!.code, 'UNKNOWN_OUTPUT');
});

test('an invalid workflow executes nothing and reports every issue', async () => {
  const events: EngineEvent[] = [];
  const result = await new Executor(registry).run(chain(), { overrides: { 'x.value': 'one', 'ghost.value': 1, bad: 2 }, onEvent: (e) => events.push(e) });
  assert.equal(result.status, 'error');
  assert.deepEqual(result.errors.map((e) => e.code).sort(), ['OVERRIDE_KEY', 'OVERRIDE_NODE']);
  const typed = await new Executor(registry).run(chain(), { overrides: { 'x.value': 'one' } });
  assert.deepEqual(typed.errors.map((e) => [e.code, e.node, e.input]), [['WIDGET_TYPE', 'x', 'value']]);
  assert.equal(calls.size, 0);
  assert.deepEqual(events.map((e) => e.type), ['job_done']);
});

test('a throwing node ends the run with a structured error; the executor lives on', async () => {
  const executor = new Executor(registry);
  const events: EngineEvent[] = [];
  const w = wf([
    { id: 'n', type: 'Num' },
    { id: 'boom', type: 'Boom', inputs: { value: 'n.value' } },
    { id: 'o', type: 'Out', inputs: { value: 'boom.value' } },
  ]);
  const result = await executor.run(w, { onEvent: (e) => events.push(e) });
  assert.equal(result.status, 'error');
  assert.deepEqual(result.errors, [{ code: 'BOOM', node: 'boom', message: 'the node exploded on purpose' }]);
  assert.deepEqual(events.find((e) => e.type === 'node_error'), { type: 'node_error', jobId: result.jobId, nodeId: 'boom', nodeType: 'Boom', code: 'BOOM', message: 'the node exploded on purpose' });
  assert.equal(calls.get('Out'), undefined);
  const crash = await executor.run(wf([{ id: 'c', type: 'Crash' }, { id: 'o', type: 'Out', inputs: { value: 'c.value' } }]));
  assert.deepEqual(crash.errors.map((e) => [e.code, e.node]), [['NODE_FAILED', 'c']]);
  // nothing of a failed node is cached: it runs again; and other work still runs
  await executor.run(w);
  assert.equal(calls.get('Boom'), 2);
  assert.equal((await executor.run(chain())).status, 'ok');
});

test('cancellation inside a long node and between nodes', async () => {
  const executor = new Executor(registry);
  const w = wf([
    { id: 'n', type: 'Num' },
    { id: 's', type: 'Slow', widgets: { steps: 100000 }, inputs: { value: 'n.value' } },
    { id: 'o', type: 'Out', inputs: { value: 's.value' } },
  ]);
  const controller = new AbortController();
  const events: EngineEvent[] = [];
  const result = await executor.run(w, {
    signal: controller.signal,
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'node_progress' && e.value === 5) controller.abort();
    },
  });
  assert.equal(result.status, 'cancelled');
  assert.equal(result.errors[0]!.code, 'CANCELLED');
  assert.equal(result.errors[0]!.node, 's');
  assert.equal(events.filter((e) => e.type === 'node_progress').length, 5);
  assert.equal(calls.get('Out'), undefined);
  assert.deepEqual(events.at(-1), { type: 'job_done', jobId: result.jobId, status: 'cancelled', seconds: result.seconds, error: result.errors[0] });

  const before = new AbortController();
  before.abort();
  const early = await executor.run(chain(), { signal: before.signal });
  assert.equal(early.status, 'cancelled');
  assert.deepEqual(executed(early), []);
  // the completed node before the cancellation point is cached for the next run
  const rerun = await executor.run(w, { overrides: { 's.steps': 3 } });
  assert.equal(rerun.status, 'ok');
  assert.equal(rerun.nodes.n!.status, 'cached');
});

test('cache limits: entries and bytes evict least recently used values and dispose them', async () => {
  const executor = new Executor(registry, { cacheEntries: 3 });
  const blobChain = (name: string) =>
    wf([
      { id: 'b', type: 'MakeBlob', widgets: { name } },
      { id: 's', type: 'BlobSize', inputs: { blob: 'b.blob' } },
      { id: 'o', type: 'Out', inputs: { value: 's.value' } },
    ]);
  await executor.run(blobChain('one'));
  assert.equal(disposed.length, 0);
  assert.equal(executor.cacheStats().entries, 3);
  await executor.run(blobChain('two'));
  assert.deepEqual(disposed, ['one']);
  assert.equal(executor.cacheStats().entries, 3);

  resetCounts();
  const bytes = new Executor(registry, { cacheBytes: 250 });
  await bytes.run(blobChain('a'));
  await bytes.run(blobChain('b'));
  assert.equal(disposed.length, 0);
  await bytes.run(blobChain('c'));
  assert.deepEqual(disposed, ['a']);
  assert.ok(bytes.cacheStats().bytes <= 250);
  // a value larger than the whole cache is not cached: it is disposed after its last consumer
  const big = await bytes.run(blobChain('huge'), { overrides: { 'b.bytes': 1000 } });
  assert.equal(big.status, 'ok');
  assert.ok(disposed.includes('huge'));
  bytes.clearCache();
  assert.deepEqual(disposed.sort(), ['a', 'b', 'c', 'huge']);
});

test('values nobody needs are released; a passed-through value is disposed once, after its last user', async () => {
  const executor = new Executor(registry);
  const seen: string[][] = [];
  const w = wf([
    { id: 'f', type: 'FreshBlob', widgets: { name: 'fresh' } },
    { id: 'p', type: 'PassBlob', inputs: { blob: 'f.blob' } },
    { id: 's', type: 'BlobSize', inputs: { blob: 'p.blob' } },
    { id: 'o', type: 'Out', inputs: { value: 's.value' } },
  ]);
  const result = await executor.run(w, { onEvent: (e) => e.type === 'node_started' && seen.push([e.nodeId, ...disposed]) });
  assert.equal(result.status, 'ok');
  // not disposed while p and s still needed it; disposed before the output node ran
  assert.deepEqual(seen, [['f'], ['p'], ['s'], ['o', 'fresh']]);
  assert.deepEqual(disposed, ['fresh']);
  // non-cacheable nodes (and their descendants) run every time
  await executor.run(w);
  assert.equal(calls.get('FreshBlob'), 2);
  assert.equal(calls.get('BlobSize'), 2);
});

test('bypassed nodes pass their input through; muted nodes never run', async () => {
  const w = wf([
    { id: 'n', type: 'Num', widgets: { value: 7 } },
    { id: 'd', type: 'Add', widgets: { mode: 'double' }, mode: 'bypass', inputs: { a: 'n.value' } },
    { id: 'o', type: 'Out', inputs: { value: 'd.sum' } },
    { id: 'm', type: 'Out', mode: 'muted', inputs: { value: 'n.value' } },
  ]);
  const result = await new Executor(registry).run(w);
  assert.deepEqual(result.outputs.o!.values, { value: 7 });
  assert.deepEqual(executed(result), ['n', 'o']);
});

test('recompute inputs re-run the per-step region each step; static nodes run once', async () => {
  const w = wf([
    { id: 'bias', type: 'Num', widgets: { value: 10 } },
    { id: 'step', type: 'StepValue' },
    { id: 'loss', type: 'Add', inputs: { a: 'step.value', b: 'bias.value' } },
    { id: 'loop', type: 'Loop', widgets: { steps: 4 }, inputs: { loss: 'loss.sum' } },
  ]);
  const executor = new Executor(registry);
  const result = await executor.run(w);
  assert.equal(result.status, 'ok');
  assert.deepEqual(result.outputs.loop!.values, { total: 0 + 1 + 2 + 3 + 4 * 10 });
  assert.equal(calls.get('Num'), 1);
  assert.equal(calls.get('StepValue'), 4);
  assert.equal(calls.get('Add'), 4);
  assert.deepEqual(executed(result), ['bias', 'loop']);
  // a static-only upstream resolves to its (cached) value
  const plain = wf([
    { id: 'bias', type: 'Num', widgets: { value: 10 } },
    { id: 'loop', type: 'Loop', widgets: { steps: 3 }, inputs: { loss: 'bias.value' } },
  ]);
  assert.deepEqual((await executor.run(plain)).outputs.loop!.values, { total: 30 });
});

test('lazy inputs: inside a recompute region only the inputs a node asks for are computed', async () => {
  // Two per-step branches behind a lazy switch: each step computes the branch it takes and nothing of the other.
  const w = wf([
    { id: 'bias', type: 'Num', widgets: { value: 10 } },
    { id: 'step', type: 'StepValue' },
    { id: 'even', type: 'Add', inputs: { a: 'step.value', b: 'bias.value' } },
    { id: 'odd', type: 'Add', widgets: { mode: 'double' }, inputs: { a: 'step.value' } },
    { id: 'pick', type: 'PickByStep', inputs: { a: 'even.sum', b: 'odd.sum' } },
    { id: 'loop', type: 'Loop', widgets: { steps: 5 }, inputs: { loss: 'pick.value' } },
  ]);
  const result = await new Executor(registry).run(w);
  assert.equal(result.status, 'ok');
  assert.deepEqual(result.outputs.loop!.values, { total: 10 + 2 + 12 + 6 + 14 });
  assert.equal(calls.get('PickByStep'), 5);
  // Five Adds, one a step (three even, two odd): computing both branches every step would be ten.
  assert.equal(calls.get('Add'), 5);
  // StepValue feeds both branches and runs once per step, not once per branch.
  assert.equal(calls.get('StepValue'), 5);
  // An optional lazy input left open is undefined; in the main order a lazy input resolves to its computed value.
  const open = await new Executor(registry).run(wf([
    { id: 'step', type: 'StepValue' },
    { id: 'pick', type: 'PickByStep', inputs: { a: 'step.value' } },
    { id: 'loop', type: 'Loop', widgets: { steps: 3 }, inputs: { loss: 'pick.value' } },
  ]));
  assert.deepEqual(open.outputs.loop!.values, { total: 0 + 1 + 2 });
  const main = await new Executor(registry).run(wf([
    { id: 'n', type: 'Num', widgets: { value: 4 } },
    { id: 'pick', type: 'PickByStep', inputs: { a: 'n.value' } },
    { id: 'o', type: 'Out', inputs: { value: 'pick.value' } },
  ]));
  assert.deepEqual(main.outputs.o!.values, { value: 4 });
});

test('a node failing inside a recompute region is named in the error', async () => {
  const w = wf([
    { id: 'step', type: 'StepValue' },
    { id: 'bad', type: 'Boom', inputs: { value: 'step.value' } },
    { id: 'loop', type: 'Loop', inputs: { loss: 'bad.value' } },
  ]);
  const result = await new Executor(registry).run(w);
  assert.deepEqual(result.errors.map((e) => [e.code, e.node]), [['BOOM', 'bad']]);
});

test('a listener that throws does not break the run', async () => {
  const result = await new Executor(registry, { log: () => undefined }).run(chain(), {
    onEvent: () => {
      throw new Error('listener bug');
    },
  });
  assert.equal(result.status, 'ok');
});

test('a cached value passed through a non-cacheable node is never disposed by the job', async () => {
  const executor = new Executor(registry);
  const w = wf([
    { id: 'm', type: 'MakeBlob', widgets: { name: 'kept' } },
    { id: 'p', type: 'PassBlob', inputs: { blob: 'm.blob' } },
    { id: 's', type: 'BlobSize', inputs: { blob: 'p.blob' } },
    { id: 'o', type: 'Out', inputs: { value: 's.value' } },
  ]);
  await executor.run(w);
  await executor.run(w);
  assert.equal(disposed.length, 0);
  assert.equal(calls.get('MakeBlob'), 1);
  assert.equal(calls.get('PassBlob'), 2);
  executor.clearCache();
  assert.deepEqual(disposed, ['kept']);
});

test('a node that changes an input in place drops the cached source, so no later run reuses the changed value', async () => {
  const executor = new Executor(registry);
  const train = wf([
    { id: 'blob', type: 'MakeBlob', widgets: { name: 'model' } },
    { id: 'train', type: 'TrainBlob', inputs: { blob: 'blob.blob' } },
    { id: 'out', type: 'Out', inputs: { value: 'train.value' } },
  ]);
  assert.equal((await executor.run(train)).status, 'ok');
  // The changed value is released once the job is over (nothing else holds it).
  assert.deepEqual(disposed, ['model']);
  const use = wf([
    { id: 'blob', type: 'MakeBlob', widgets: { name: 'model' } },
    { id: 'size', type: 'BlobSize', inputs: { blob: 'blob.blob' } },
    { id: 'out', type: 'Out', inputs: { value: 'size.value' } },
  ]);
  const after = await executor.run(use);
  assert.equal(after.nodes.blob!.status, 'executed');
  const again = await executor.run(use);
  assert.equal(again.nodes.blob!.status, 'cached');
});

test('a file replaced at the same path is read again: the file\'s stamp is part of its node\'s cache key', async () => {
  const reads = new Registry();
  reads.add(
    definePack('files', [
      defineNode({
        type: 'ReadText',
        category: 'test',
        description: 'reads a text file',
        inputs: {},
        widgets: { file: { kind: 'PATH', default: '', mode: 'read' } },
        outputs: { text: { type: 'STRING' } },
        output: true,
        execute: async ({ file }) => ({ text: await readFile(file, 'utf8') }),
      }),
    ]),
  );
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'kg-stamp-')), 'weights.txt');
  writeFileSync(file, 'first');
  const workflow = wf([{ id: 'read', type: 'ReadText', widgets: { file } }]);
  const executor = new Executor(reads);
  assert.deepEqual((await executor.run(workflow)).outputs.read!.values, { text: 'first' });
  assert.deepEqual(executed(await executor.run(workflow)), [], 'an unchanged file is served from the cache');
  writeFileSync(file, 'second!');
  utimesSync(file, new Date(), new Date(Date.now() + 5000));
  const again = await executor.run(workflow);
  assert.deepEqual(executed(again), ['read']);
  assert.deepEqual(again.outputs.read!.values, { text: 'second!' });
});
