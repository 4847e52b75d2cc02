// Multi-head attention on the ONNX tracer: where it traces ONNX Runtime's fused com.microsoft MultiHeadAttention
// (no mask, no causal order, FUSED_ATTENTION_MIN_KEYS keys or more, KOSMOS_G_ORT_ATTENTION not 'unfused'), the
// model it writes declares that operator set, and the fused graph computes what the unfused one and tfjs compute.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { FUSED_ATTENTION_MIN_KEYS, TraceOps, type AttentionTracing } from '../../models/backends/onnx/trace.ts';
import { encodeModel } from '../../models/backends/onnx/serialize.ts';
import { ModelProto } from '../../models/backends/onnx/onnx-schema.ts';
import { openSession } from '../../models/backends/onnx/session.ts';
import { graphFlops } from '../../models/backends/onnx/flops.ts';
import { createTfjsOps } from '../../models/backends/tfjs/index.ts';
import type { AttentionOptions } from '../../models/ops/ops.ts';
import { randn } from '../../models/ops/random.ts';
import { relativeError } from './relative-error.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'kosmos-onnx-attention-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Case {
  batch: number;
  tokens: number;
  keys: number;
  channels: number;
  heads: number;
  options?: AttentionOptions;
}

function trace(c: Case, mode: AttentionTracing, mask = false): TraceOps {
  const ops = new TraceOps(mode);
  const q = ops.input([c.batch, c.tokens, c.channels], 'float32');
  const k = ops.input([c.batch, c.keys, c.channels], 'float32');
  const v = ops.input([c.batch, c.keys, c.channels], 'float32');
  const pad = mask ? ops.input([c.batch, c.keys], 'float32') : undefined;
  ops.output([ops.multiHeadAttention(q, k, v, c.heads, { ...c.options, keyPaddingMask: pad })]);
  return ops;
}

const inputs = (c: Case) => [
  { data: randn(c.batch * c.tokens * c.channels, 1), shape: [c.batch, c.tokens, c.channels] },
  { data: randn(c.batch * c.keys * c.channels, 2), shape: [c.batch, c.keys, c.channels] },
  { data: randn(c.batch * c.keys * c.channels, 3), shape: [c.batch, c.keys, c.channels] },
];

async function runOrt(ops: TraceOps, name: string, c: Case): Promise<Float32Array> {
  const file = path.join(dir, `${name}.onnx`);
  writeFileSync(file, encodeModel(ops.graph));
  const session = await openSession(file, 'cpu');
  const feeds: Record<string, ort.Tensor> = {};
  inputs(c).forEach((h, i) => (feeds[`input_${i}`] = new ort.Tensor('float32', h.data, h.shape)));
  const out = (await session.run(feeds)).output_0!.data as Float32Array;
  await session.release();
  return out;
}

const fusedOps = (ops: TraceOps) => ops.graph.nodes.filter((n) => n.op === 'MultiHeadAttention');

const selfAttention: Case = { batch: 2, tokens: FUSED_ATTENTION_MIN_KEYS, keys: FUSED_ATTENTION_MIN_KEYS, channels: 12, heads: 3 };
const crossAttention: Case = { batch: 2, tokens: 300, keys: FUSED_ATTENTION_MIN_KEYS + 4, channels: 8, heads: 2, options: { scale: 0.3 } };

test('self-attention with enough keys traces one fused MultiHeadAttention from com.microsoft, declared in the model', () => {
  const ops = trace(selfAttention, 'auto');
  const fused = fusedOps(ops);
  assert.equal(fused.length, 1);
  assert.equal(fused[0]!.domain, 'com.microsoft');
  assert.deepEqual(fused[0]!.attrs.find((a) => a.name === 'num_heads'), { name: 'num_heads', kind: 'int', value: 3 });
  assert.equal(ops.graph.nodes.some((n) => n.op === 'Softmax' || n.op === 'Transpose'), false, 'no decomposition beside it');
  const model = ModelProto.toObject(ModelProto.decode(encodeModel(ops.graph)), { longs: Number }) as { opsetImport: { domain?: string; version: number }[] };
  assert.deepEqual(model.opsetImport.map((o) => [o.domain ?? '', o.version]), [['', 17], ['com.microsoft', 1]]);
  // The FLOP count sees the same two products as the decomposition's MatMuls.
  assert.equal(graphFlops(ops.graph), graphFlops(trace(selfAttention, 'unfused').graph));
});

test('fewer keys, a padding mask, a causal order or KOSMOS_G_ORT_ATTENTION=unfused trace the decomposition', () => {
  const few = { ...selfAttention, keys: FUSED_ATTENTION_MIN_KEYS - 1 };
  for (const ops of [trace(few, 'auto'), trace(selfAttention, 'auto', true), trace({ ...selfAttention, options: { causal: true } }, 'auto'), trace(selfAttention, 'unfused')]) {
    assert.equal(fusedOps(ops).length, 0);
    assert.ok(ops.graph.nodes.some((n) => n.op === 'Softmax'));
    const model = ModelProto.toObject(ModelProto.decode(encodeModel(ops.graph)), { longs: Number }) as { opsetImport: unknown[] };
    assert.equal(model.opsetImport.length, 1, 'no contrib operator set declared');
  }
  const saved = process.env.KOSMOS_G_ORT_ATTENTION;
  process.env.KOSMOS_G_ORT_ATTENTION = 'unfused';
  try {
    assert.equal(new TraceOps().attentionTracing, 'unfused');
    process.env.KOSMOS_G_ORT_ATTENTION = 'fast';
    assert.throws(() => new TraceOps(), /KOSMOS_G_ORT_ATTENTION='fast'/);
  } finally {
    if (saved === undefined) delete process.env.KOSMOS_G_ORT_ATTENTION;
    else process.env.KOSMOS_G_ORT_ATTENTION = saved;
  }
});

for (const [name, c] of [['self-attention', selfAttention], ['cross-attention with a scale', crossAttention]] as const) {
  test(`${name}: the fused graph, the unfused graph and tfjs agree to 1e-4`, async () => {
    const fused = trace(c, 'auto');
    assert.equal(fusedOps(fused).length, 1);
    const a = await runOrt(fused, `${name}-fused`, c);
    const b = await runOrt(trace(c, 'unfused'), `${name}-unfused`, c);
    const tfjs = await createTfjsOps('wasm');
    const out = tfjs.tidy(() => {
      const [q, k, v] = inputs(c).map((h) => tfjs.fromHost({ ...h, dtype: 'float32' }));
      return tfjs.multiHeadAttention(q!, k!, v!, c.heads, c.options);
    });
    const ref = tfjs.toHost(out).data as Float32Array;
    out.dispose();
    assert.equal(a.length, ref.length);
    assert.ok(relativeError(a, b) < 1e-4, `fused vs unfused: ${relativeError(a, b)}`);
    assert.ok(relativeError(a, ref) < 1e-4, `fused vs tfjs: ${relativeError(a, ref)}`);
    assert.ok(relativeError(b, ref) < 1e-4, `unfused vs tfjs: ${relativeError(b, ref)}`);
  });
}

test('a shape that does not split into the heads is a SHAPE_MISMATCH on the tracer', () => {
  const ops = new TraceOps('auto');
  const q = ops.input([1, 300, 10], 'float32');
  assert.throws(() => ops.multiHeadAttention(q, q, q, 3), (e: Error & { code?: string }) => e.code === 'SHAPE_MISMATCH' && /3 heads/.test(e.message));
});
