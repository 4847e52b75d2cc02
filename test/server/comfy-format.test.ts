import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromApiPrompt, toNodeErrors, toObjectInfo } from '../../server/comfy-format.ts';
import { newJobEventState, previewFrame, toComfyMessages } from '../../server/comfy-events.ts';
import { normaliseCatalogue } from '../../server/engine-port.ts';
import { Registry } from '../../engine/registry.ts';
import { defineNode, definePack } from '../../engine/node-def.ts';

// The catalogue of a real registry (keyed inputs/widgets/outputs), so the server reads the engine's actual shape.
const registry = new Registry();
registry.add(
  definePack('t', [
    defineNode({ type: 'Num', category: 'c', description: 'd', inputs: {}, widgets: { value: { kind: 'INT', default: 1, min: 0, max: 9, step: 1 } }, outputs: { value: { type: 'INT' } }, execute: (a) => ({ value: a.value }) }),
    defineNode({
      type: 'Add',
      category: 'c',
      description: 'd',
      inputs: { a: { type: 'INT' }, b: { type: 'INT', optional: true } },
      widgets: { mode: { kind: 'ENUM', options: ['x', 'y'], default: 'x' }, seed: { kind: 'SEED', default: 0 } },
      outputs: { sum: { type: 'INT' }, text: { type: 'STRING' } },
      output: true,
      execute: (a) => ({ sum: a.a + (a.b ?? 0), text: '' }),
    }),
  ]),
);
const catalogue = registry.catalogue();
const nodes = normaliseCatalogue(catalogue);

test('comfy format: API prompt links [id, index] become named links; other values widgets', () => {
  const wf = fromApiPrompt(
    { '1': { class_type: 'Num', inputs: { value: 4 } }, '2': { class_type: 'Add', inputs: { a: ['1', 0], b: [1, 0], mode: 'y' }, _meta: { title: 'Sum' } } },
    nodes,
  ) as { nodes: Record<string, unknown>[] };
  assert.deepEqual(wf.nodes[0]!.widgets, { value: 4 });
  assert.deepEqual(wf.nodes[1]!.inputs, { a: { node: '1', output: 'value' }, b: { node: '1', output: 'value' } });
  assert.deepEqual(wf.nodes[1]!.widgets, { mode: 'y' });
  assert.equal(wf.nodes[1]!.title, 'Sum');
  // An output index the source lacks becomes a name validation will report as missing.
  const bad = fromApiPrompt({ '1': { class_type: 'Num', inputs: {} }, '2': { class_type: 'Add', inputs: { a: ['1', 5] } } }, nodes) as {
    nodes: { inputs: Record<string, { output: string }> }[];
  };
  assert.equal(bad.nodes[1]!.inputs.a!.output, '_output_5');
  assert.throws(() => fromApiPrompt([1, 2], nodes), (e: { code?: string }) => e.code === 'WORKFLOW_SCHEMA');
  assert.throws(() => fromApiPrompt({ '1': { inputs: {} } }, nodes), /prompt\.1/);
});

test('comfy format: issues become node_errors keyed by node with the input name', () => {
  const errs = toNodeErrors(
    [
      { code: 'WIDGET_RANGE', message: 'too big', node: '1', input: 'value' },
      { code: 'NO_OUTPUT_NODE', message: 'none' },
    ],
    (id) => (id === '1' ? 'Num' : undefined),
  );
  assert.deepEqual(errs, {
    '1': {
      errors: [{ type: 'WIDGET_RANGE', message: 'too big', details: 'value: too big', extra_info: { input_name: 'value' } }],
      dependent_outputs: [],
      class_type: 'Num',
    },
  });
});

test('comfy format: object_info maps widget kinds to ComfyUI input specs', () => {
  const info = toObjectInfo(nodes) as Record<string, { input: { required: Record<string, unknown[]>; optional: Record<string, unknown[]> }; output: string[]; output_name: string[]; output_node: boolean }>;
  assert.deepEqual(info.Num!.input.required.value, ['INT', { default: 1, min: 0, max: 9, step: 1 }]);
  assert.deepEqual(info.Add!.input.required.mode, [['x', 'y'], { default: 'x' }]);
  assert.equal((info.Add!.input.required.seed![1] as { control_after_generate: boolean }).control_after_generate, true);
  assert.deepEqual(info.Add!.input.optional.b, ['INT', {}]);
  assert.deepEqual(info.Add!.output, ['INT', 'STRING']);
  assert.deepEqual(info.Add!.output_name, ['sum', 'text']);
  assert.equal(info.Add!.output_node, true);
});

test('comfy events: engine events map to ComfyUI message shapes in order', () => {
  const st = newJobEventState();
  const ref = (f: { path: string }) => ({ filename: f.path.split('/').pop()!, subfolder: 'j', type: 'output' as const, kind: 'image' });
  const all = [
    { type: 'job_started', jobId: 'j', nodes: ['1', '2'] },
    { type: 'node_cached', jobId: 'j', nodeId: '1' },
    { type: 'node_started', jobId: 'j', nodeId: '2', nodeType: 'Add' },
    { type: 'node_progress', jobId: 'j', nodeId: '2', value: 1, max: 2, metrics: { loss: 0.5 } },
    { type: 'node_done', jobId: 'j', nodeId: '2', seconds: 0.1, outputs: [{ path: '/o/j/a.png', kind: 'image' }] },
    { type: 'job_done', jobId: 'j', status: 'ok', seconds: 0.2 },
  ] as const;
  const msgs = all.flatMap((e) => toComfyMessages(e as never, st, ref as never));
  assert.deepEqual(msgs.map((m) => m.type), ['execution_start', 'execution_cached', 'executing', 'progress', 'kosmos.metrics', 'executed', 'executing', 'execution_success']);
  assert.deepEqual(msgs[1]!.data.nodes, ['1']);
  assert.equal(msgs[2]!.data.node, '2');
  assert.deepEqual({ ...msgs[3]!.data }, { value: 1, max: 2, node: '2', prompt_id: 'j' });
  assert.deepEqual(msgs[4]!.data.metrics, { loss: 0.5 });
  assert.deepEqual(msgs[5]!.data.output, { images: [{ filename: 'a.png', subfolder: 'j', type: 'output' }] });
  assert.equal(msgs[6]!.data.node, null);
  for (const m of msgs) assert.equal(m.data.prompt_id, 'j');

  const failed = newJobEventState();
  const err = [
    { type: 'node_started', jobId: 'k', nodeId: '5', nodeType: 'Add' },
    { type: 'node_error', jobId: 'k', nodeId: '5', nodeType: 'Add', code: 'BOOM', message: 'exploded' },
    { type: 'job_done', jobId: 'k', status: 'error', seconds: 1 },
  ].flatMap((e) => toComfyMessages(e as never, failed, ref as never));
  assert.deepEqual(err.map((m) => m.type), ['executing', 'execution_error', 'executing']);
  assert.equal(err[1]!.data.node_id, '5');
  assert.equal(err[1]!.data.exception_type, 'BOOM');

  const stopped = toComfyMessages({ type: 'job_done', jobId: 'c', status: 'cancelled', seconds: 1 }, newJobEventState(), ref as never);
  assert.deepEqual(stopped.map((m) => m.type), ['execution_interrupted', 'executing']);
});

test('comfy events: preview frames follow ComfyUI binary type 4 with metadata', () => {
  const frame = previewFrame('job', '7', 'image/png', new Uint8Array([1, 2, 3]));
  assert.equal(frame.readUInt32BE(0), 4);
  const len = frame.readUInt32BE(4);
  const meta = JSON.parse(frame.subarray(8, 8 + len).toString());
  assert.equal(meta.prompt_id, 'job');
  assert.equal(meta.node_id, '7');
  assert.deepEqual([...frame.subarray(8 + len)], [1, 2, 3]);
});

test('json-safe: output values are bounded, JSON-safe summaries', async () => {
  const { jsonSafe } = await import('../../server/json-safe.ts');
  class Tensor {
    shape = [1, 4, 8, 8];
  }
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  const out = jsonSafe({ n: 1, s: 'x', t: new Tensor(), f: new Float32Array(10), inf: Infinity, big: Array.from({ length: 100 }, (_, i) => i), cyclic }) as Record<string, unknown>;
  assert.equal(out.t, '[Tensor [1,4,8,8]]');
  assert.equal(out.f, '[Float32Array of 10]');
  assert.equal(out.inf, 'Infinity');
  assert.equal((out.big as unknown[]).length, 65);
  assert.doesNotThrow(() => JSON.stringify(out));
});
