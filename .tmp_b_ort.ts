import * as ort from 'onnxruntime-node';
import { mkdtempSync } from 'node:fs'; import os from 'node:os'; import path from 'node:path';
import { traceForward } from './models/backends/onnx/runner.ts';
import { writeModel } from './models/backends/onnx/serialize.ts';
import { UNetLikeBlock } from './bench/backends/stack.ts';
import { Rng, randn } from './models/ops/random.ts';
const m = new UNetLikeBlock(320, 768, new Rng(1));
const ops = traceForward(m, (o, [x, c]) => [m.forward(o, x!, c!)], [{ shape: [1, 320, 32, 32], dtype: 'float32' }, { shape: [1, 77, 768], dtype: 'float32' }]);
const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'b-')), 'm.onnx'); writeModel(ops.graph, file);
const feeds = { input_0: new ort.Tensor('float32', randn(320 * 1024, 1), [1, 320, 32, 32]), input_1: new ort.Tensor('float32', randn(77 * 768, 2), [1, 77, 768]) };
for (const [name, extra] of [['spin', {}], ['nospin', { extra: { session: { intra_op: { allow_spinning: '0' } } } }], ['spin', {}], ['nospin', { extra: { session: { intra_op: { allow_spinning: '0' } } } }]] as const) {
  const s = await ort.InferenceSession.create(file, { intraOpNumThreads: 2, graphOptimizationLevel: 'all', ...extra });
  await s.run(feeds); const t: number[] = [];
  for (let i = 0; i < 4; i++) { const t0 = performance.now(); await s.run(feeds); t.push(performance.now() - t0); }
  t.sort((a, b) => a - b); console.log(name, t.map((v) => v.toFixed(0)).join(' '));
  await s.release();
}
