// GPU check for training and inference on ONNX Runtime's GPU execution providers: `npm run check:gpu`.
// For each provider (cuda, webgpu) it says whether it can run here and, where one can: the gradient parity of a
// default U-Net training step (batch 8, 16×16 latents) between the CPU and the GPU, the step times of both, and the
// real-size SD 1.5 U-Net's frozen input-gradient step at 32×32 latents (as KOSMOS-G's stage 3 uses it).
// Exit code: 0 when every available provider passed (or none is available: that is said, not an error), 1 when a
// provider ran and disagreed with the CPU.
//   npm run check:gpu [-- --no-real]
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { OnnxTrainer } from '../models/backends/onnx/train-step.ts';
import { checkProvider, OnnxError, type ExecutionProvider } from '../models/backends/onnx/session.ts';
import { onnxCacheDir } from '../models/backends/onnx/runner.ts';
import { UNet2DConditionModel } from '../models/unet/unet.ts';
import { SD15_UNET_CONFIG } from '../models/unet/config.ts';
import { DEFAULT_UNET } from '../default-model/config.ts';
import { Parameter } from '../models/nn/module.ts';
import { randn } from '../models/ops/random.ts';
import { diffusionLoss, mse } from '../models/training/losses.ts';
import type { Ops } from '../models/ops/ops.ts';
import type { LossFn } from '../models/autodiff/index.ts';

const TOLERANCE = 1e-3; // GPU kernels (TF32, fused attention) may round differently from the CPU's fp32 ones.

function defaultStep(): { params: Parameter[]; loss: LossFn } {
  const B = 8, L = 24;
  const unet = new UNet2DConditionModel(DEFAULT_UNET, 1);
  const x = randn(B * 4 * 16 * 16, 1), eps = randn(B * 4 * 16 * 16, 2), ctx = randn(B * L * 64, 3);
  const t = Float32Array.from({ length: B }, (_, i) => i * 120);
  const loss = <T>(o: Ops<T>): T =>
    diffusionLoss(o, unet.forward(o, o.tensor(x, [B, 4, 16, 16]), o.tensor(t, [B]), o.tensor(ctx, [B, L, 64])), o.tensor(eps, [B, 4, 16, 16]));
  return { params: unet.parameters(), loss };
}

function realStep(): { params: Parameter[]; loss: LossFn } {
  const unet = new UNet2DConditionModel(SD15_UNET_CONFIG, 0);
  unet.setTrainable(false);
  const condition = new Parameter([1, 77, 768], randn(77 * 768, 3));
  const x = randn(4 * 32 * 32, 1), target = randn(4 * 32 * 32, 2);
  const loss = <T>(o: Ops<T>): T => mse(o, unet.forward(o, o.tensor(x, [1, 4, 32, 32]), o.tensor(Float32Array.of(500), [1]), o.param(condition)), o.tensor(target, [1, 4, 32, 32]));
  return { params: [condition], loss };
}

async function timed(trainer: OnnxTrainer, step: { params: Parameter[]; loss: LossFn }, reps: number) {
  const first = await trainer.gradients(step.params, step.loss);
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await trainer.gradients(step.params, step.loss);
  return { result: first, seconds: (performance.now() - t0) / 1000 / reps };
}

function worstRelative(a: Map<Parameter, Float32Array>, b: Map<Parameter, Float32Array>): number {
  let worst = 0;
  for (const [p, want] of a) {
    const got = b.get(p)!;
    let scale = 0, err = 0;
    want.forEach((v, i) => {
      scale = Math.max(scale, Math.abs(v));
      err = Math.max(err, Math.abs(v - got[i]!));
    });
    if (scale > 0) worst = Math.max(worst, err / scale);
  }
  return worst;
}

async function main(): Promise<number> {
  const real = !process.argv.includes('--no-real');
  console.log(`onnxruntime-node ${ort.env.versions.common}; built-in providers: ${ort.listSupportedBackends().map((b) => b.name).join(', ')}`);
  const cpu = new OnnxTrainer(onnxCacheDir(), 'cpu');
  let failed = false, ran = 0;
  let cpuDefault: Awaited<ReturnType<typeof timed>> | undefined;
  for (const ep of ['cuda', 'webgpu'] as ExecutionProvider[]) {
    try {
      checkProvider(ep);
    } catch (err) {
      console.log(`${ep}: not available — ${err instanceof OnnxError ? `${err.code}: ${err.message}` : String(err)}`);
      continue;
    }
    const gpu = new OnnxTrainer(onnxCacheDir(), ep);
    try {
      cpuDefault ??= await timed(cpu, defaultStep(), 3);
      const step = defaultStep();
      const g = await timed(gpu, step, 10);
      const rel = worstRelative(cpuDefault.result.grads, g.result.grads);
      const ok = rel <= TOLERANCE && Math.abs(g.result.loss - cpuDefault.result.loss) <= TOLERANCE * Math.abs(cpuDefault.result.loss);
      failed ||= !ok;
      ran++;
      console.log(`${ep}: default U-Net step (batch 8): loss ${g.result.loss.toFixed(6)} vs CPU ${cpuDefault.result.loss.toFixed(6)}, ` +
        `worst gradient difference ${rel.toExponential(2)} of its scale (${ok ? 'ok' : `FAILED, tolerance ${TOLERANCE}`}); ` +
        `${(g.seconds * 1000).toFixed(1)} ms/step vs CPU ${(cpuDefault.seconds * 1000).toFixed(1)} ms (${os.availableParallelism()} threads)`);
      if (real) {
        const r = await timed(gpu, realStep(), 3);
        console.log(`${ep}: SD 1.5 U-Net frozen input-gradient step at 32×32: ${r.seconds.toFixed(3)} s/step`);
      }
    } catch (err) {
      // A provider built in but with no device behind it (WebGPU without a Vulkan adapter) is unavailable, not broken.
      if (err instanceof OnnxError && err.code === 'EP_UNAVAILABLE') {
        console.log(`${ep}: not available — ${err.code}: ${err.message}`);
        continue;
      }
      failed = true;
      console.log(`${ep}: FAILED to run — ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    } finally {
      await gpu.sessions.clear();
    }
  }
  await cpu.sessions.clear();
  if (!ran && !failed) console.log('no GPU provider can run here: nothing to check (CPU training is covered by npm test)');
  return failed ? 1 : 0;
}

process.exitCode = await main();
