// Quick probe: one default U-Net training step (batch 8, 16×16 latents) on tfjs and on ONNX Runtime.
import { createTfjsOps, parameterGrads } from '../../models/backends/tfjs/index.ts';
import { OnnxTrainer } from '../../models/backends/onnx/train-step.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { DEFAULT_UNET } from '../../models/default/config.ts';
import { randn } from '../../models/ops/random.ts';
import { diffusionLoss } from '../../models/training/losses.ts';
import type { Ops } from '../../models/ops/ops.ts';

const B = 8, L = 16;
const unet = new UNet2DConditionModel(DEFAULT_UNET, 1);
const params = unet.parameters();
const x = randn(B * 4 * 16 * 16, 1), eps = randn(B * 4 * 16 * 16, 2), ctx = randn(B * L * 64, 3);
const t = Float32Array.from({ length: B }, (_, i) => i * 120);
const loss = <T>(o: Ops<T>): T => diffusionLoss(o, unet.forward(o, o.tensor(x, [B, 4, 16, 16]), o.tensor(t, [B]), o.tensor(ctx, [B, L, 64])), o.tensor(eps, [B, 4, 16, 16]));
const trainer = new OnnxTrainer('/tmp/kb/onnx', 'cpu');
const tfo = await createTfjsOps('wasm');
const time = async (f: () => unknown, n: number) => { await f(); const t0 = performance.now(); for (let i = 0; i < n; i++) await f(); return (performance.now() - t0) / n; };
const ort = await time(() => trainer.gradients(params, loss), 5);
const tj = await time(() => parameterGrads(tfo, params, () => loss(tfo) as never), 3);
console.log(`ORT ${ort.toFixed(0)} ms/step, tfjs ${tj.toFixed(0)} ms/step, ratio ${(tj / ort).toFixed(2)}`);
import { traceStep } from '../../models/backends/onnx/train-step.ts';
import { graphKey } from '../../models/backends/onnx/cache.ts';
{
  const t0 = performance.now(); let st; for (let i = 0; i < 5; i++) st = traceStep(params, loss); const t1 = performance.now();
  for (let i = 0; i < 5; i++) graphKey('x', st!.ops.graph); const t2 = performance.now();
  console.log(`trace ${((t1 - t0) / 5).toFixed(1)} ms, key ${((t2 - t1) / 5).toFixed(1)} ms, nodes ${st!.ops.graph.nodes.length}, inputs ${st!.ops.graph.inputs.length}`);
  const counts = new Map<string, number>(); for (const n of st!.ops.graph.nodes) counts.set(n.op, (counts.get(n.op) ?? 0) + 1);
  console.log([...counts].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}:${v}`).join(' '));
}
