// The real-size SD 1.5 U-Net (859.5 M parameters, random weights) as KOSMOS-G's stage 3 uses it: frozen, with only
// the gradient w.r.t. its condition (the AlignerNet's output) computed. Latents 32×32 (256² images), batch 1,
// condition [1, 77, 768]. Side by side in one run: the forward pass and the input-gradient step on ONNX Runtime,
// and the same step on tfjs-wasm; GFLOP/s from the traced op counts; peak resident memory of each in its own
// process (the goal: the step's peak ≤ 2× the forward's).
//   npx tsx bench/training/real-unet.ts [--no-tfjs]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { SD15_UNET_CONFIG } from '../../models/unet/config.ts';
import { Parameter } from '../../models/nn/module.ts';
import { randn } from '../../models/ops/random.ts';
import { hostTensor, type Ops } from '../../models/ops/ops.ts';
import { GradOps } from '../../models/autodiff/index.ts';
import { mse } from '../../models/training/losses.ts';
import { FlopCounter } from '../diffusion/flops.ts';

const self = fileURLToPath(import.meta.url);
const S = 32, L = 77, D = 768;

function setup() {
  const unet = new UNet2DConditionModel(SD15_UNET_CONFIG, 0);
  unet.setTrainable(false);
  // The condition as a parameter: its gradient is the input gradient stage 3 sends back into AlignerNet.
  const condition = new Parameter([1, L, D], randn(L * D, 3));
  const x = randn(4 * S * S, 1), target = randn(4 * S * S, 2);
  const t = Float32Array.of(500);
  const loss = <T>(o: Ops<T>): T => mse(o, unet.forward(o, o.tensor(x, [1, 4, S, S]), o.tensor(t, [1]), o.param(condition)), o.tensor(target, [1, 4, S, S]));
  return { unet, condition, x, t, loss };
}

/** Forward and forward + input-gradient FLOPs, counted on shapes alone. */
function flops(): { forward: number; step: number } {
  const { condition, loss } = setup();
  const fwd = new FlopCounter();
  loss(fwd);
  const grad = new FlopCounter();
  const g = new GradOps(grad, new Set([condition]));
  g.backward(loss(g));
  return { forward: fwd.flops, step: grad.flops };
}

const peakMb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) / 1024;

async function child(kind: string, cache: string): Promise<void> {
  process.env.KOSMOS_G_CACHE = cache;
  const { unet, condition, x, t, loss } = setup();
  for (const p of unet.parameters()) void p.data; // materialise the random weights before timing
  const reps = kind === 'tfjs' ? 1 : 3;
  let first = 0;
  const t0 = performance.now();
  let once: () => Promise<unknown>;
  if (kind === 'forward') {
    const { OnnxRunner, onnxCacheDir } = await import('../../models/backends/onnx/runner.ts');
    const runner = new OnnxRunner(onnxCacheDir(), 'cpu');
    const inputs = [hostTensor(x, [1, 4, S, S]), hostTensor(t, [1]), hostTensor(condition.data, [1, L, D])];
    once = () => runner.run(unet, 'unet', (o, [a, b, c]) => [unet.forward(o, a!, b!, c!)], inputs);
  } else if (kind === 'step') {
    const { OnnxTrainer } = await import('../../models/backends/onnx/train-step.ts');
    const { onnxCacheDir } = await import('../../models/backends/onnx/runner.ts');
    const trainer = new OnnxTrainer(onnxCacheDir(), 'cpu');
    once = () => trainer.gradients([condition], loss);
  } else {
    const { createTfjsOps, parameterGrads } = await import('../../models/backends/tfjs/index.ts');
    const ops = await createTfjsOps('wasm');
    once = async () => parameterGrads(ops, [condition], () => loss(ops));
  }
  await once();
  first = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  for (let i = 0; i < reps; i++) await once();
  console.log(JSON.stringify({ seconds: (performance.now() - t1) / 1000 / reps, first, peakMb: peakMb() }));
}

async function main(withTfjs: boolean): Promise<void> {
  const cache = mkdtempSync(path.join(os.tmpdir(), 'kg-bench-real-unet-'));
  try {
    const f = flops();
    const run = (kind: string) => {
      const out = execFileSync(process.execPath, ['--max-old-space-size=16384', '--import', 'tsx', self, '--child', kind, cache], {
        encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'pipe'],
      });
      return JSON.parse(out.trim().split('\n').pop()!) as { seconds: number; first: number; peakMb: number };
    };
    const rows: [string, number, ReturnType<typeof run>][] = [
      ['ORT forward', f.forward, run('forward')],
      ['ORT input-gradient step', f.step, run('step')],
    ];
    let tfjsFailure = '';
    if (withTfjs) {
      try {
        rows.push(['tfjs-wasm input-gradient step', f.step, run('tfjs')]);
      } catch (err) {
        // wasm32 addresses 4 GiB, and the fp32 weights alone take 3.3 GiB: tfjs-wasm cannot hold this model's step.
        const stderr = String((err as { stderr?: unknown }).stderr ?? err);
        tfjsFailure = stderr.split('\n').find((l) => /Error|abort|memory/i.test(l))?.trim() ?? 'failed';
      }
    }
    const weightsMb = (4 * new UNet2DConditionModel(SD15_UNET_CONFIG, 0).parameterCount()) / 2 ** 20;
    console.log(`SD 1.5 U-Net (random weights, fp32 ${weightsMb.toFixed(0)} MiB), latents ${S}×${S}, batch 1, condition [1, ${L}, ${D}]; ${os.availableParallelism()} cores`);
    console.log('what                           GFLOP   s/run    GFLOP/s  first run s  peak RSS MiB');
    for (const [what, fl, r] of rows) {
      console.log(`${what.padEnd(30)} ${(fl / 1e9).toFixed(1).padStart(6)}  ${r.seconds.toFixed(2).padStart(6)}  ${(fl / 1e9 / r.seconds).toFixed(1).padStart(8)}  ${r.first.toFixed(1).padStart(11)}  ${r.peakMb.toFixed(0).padStart(12)}`);
    }
    const [fwd, step] = [rows[0]![2], rows[1]![2]];
    console.log(`step peak / forward peak: ${(step.peakMb / fwd.peakMb).toFixed(2)} (goal ≤ 2)` + (rows[2] ? `; ORT step speed-up over tfjs: ${(rows[2][2].seconds / step.seconds).toFixed(1)}×` : ''));
    if (tfjsFailure) console.log(`tfjs-wasm could not run the step (wasm's 4 GiB address space; the fp32 weights alone are ${weightsMb.toFixed(0)} MiB): ${tfjsFailure}`);
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') await child(argv[1]!, argv[2]!);
else await main(!argv.includes('--no-tfjs'));
