// One training step of the default U-Net (3.17 M parameters, batch 8, 16×16 latents, a [8, 24, 64] condition,
// ε-MSE), side by side in one run: tfjs-wasm (autograd), ONNX Runtime (forward + backward as one traced graph) at
// 1 and 2 threads, and PyTorch on the same architecture and shapes (bench/training/torch_unet_step.py) where a
// Debian python3-torch is installed (skipped with the reason otherwise). Gradients only (the optimiser runs on the
// host for every backend and is timed on its own row). GFLOP from the traced ops (2 per multiply-add).
//   npx tsx bench/training/unet-step.ts [steps=8]
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { createTfjsOps, parameterGrads } from '../../models/backends/tfjs/index.ts';
import { OnnxTrainer, traceStep } from '../../models/backends/onnx/train-step.ts';
import { graphKey } from '../../models/backends/onnx/cache.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { DEFAULT_UNET } from '../../default-model/config.ts';
import { randn } from '../../models/ops/random.ts';
import { diffusionLoss } from '../../models/training/losses.ts';
import { GradOps } from '../../models/autodiff/index.ts';
import { AdamW } from '../../models/optim/adamw.ts';
import { clipGradNorm } from '../../models/training/gradients.ts';
import type { Ops } from '../../models/ops/ops.ts';
import { FlopCounter } from '../diffusion/flops.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const self = fileURLToPath(import.meta.url);
const isChild = process.argv[2] === '--child';
const steps = Number((isChild ? process.argv[4] : process.argv[2]) ?? 8);
const B = 8, L = 24, D = DEFAULT_UNET.crossAttentionDim;

function setup() {
  const unet = new UNet2DConditionModel(DEFAULT_UNET, 1);
  const x = randn(B * 4 * 16 * 16, 1), eps = randn(B * 4 * 16 * 16, 2), ctx = randn(B * L * D, 3);
  const t = Float32Array.from({ length: B }, (_, i) => i * 120);
  const loss = <T>(o: Ops<T>): T =>
    diffusionLoss(o, unet.forward(o, o.tensor(x, [B, 4, 16, 16]), o.tensor(t, [B]), o.tensor(ctx, [B, L, D])), o.tensor(eps, [B, 4, 16, 16]));
  return { params: unet.parameters(), loss };
}

async function timeIt(f: () => unknown, n: number): Promise<number> {
  await f();
  await f();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await f();
  return (performance.now() - t0) / n / 1000;
}

/** Child process: one backend at one thread count (ORT's thread pool is fixed per process); prints seconds/step. */
async function child(kind: string): Promise<void> {
  const { params, loss } = setup();
  let seconds: number;
  if (kind === 'tfjs') {
    const ops = await createTfjsOps('wasm');
    seconds = await timeIt(() => parameterGrads(ops, params, () => loss(ops)), Math.max(2, Math.floor(steps / 2)));
  } else {
    const cache = mkdtempSync(path.join(os.tmpdir(), 'kg-bench-step-'));
    const trainer = new OnnxTrainer(cache, 'cpu');
    seconds = await timeIt(() => trainer.gradients(params, loss), steps);
    await trainer.sessions.clear();
    rmSync(cache, { recursive: true, force: true });
  }
  console.log(JSON.stringify({ seconds }));
}

function runChild(kind: string, threads: number): number {
  const env = { ...process.env, KOSMOS_G_ORT_THREADS: String(threads) };
  const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--child', kind, String(steps)], { encoding: 'utf8', env });
  return (JSON.parse(out.trim().split('\n').pop()!) as { seconds: number }).seconds;
}

/** PyTorch's figures, or the reason there are none. */
function torch(): { threads: Record<string, { train_s: number }> } | string {
  for (const python of ['/usr/bin/python3', 'python3']) {
    try {
      const out = execFileSync(python, [path.join(here, 'torch_unet_step.py'), '--threads', '1,2', '--steps', String(steps)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return JSON.parse(out.trim().split('\n').pop()!) as { threads: Record<string, { train_s: number }> };
    } catch {
      // try the next interpreter
    }
  }
  return 'no PyTorch: install Debian python3-torch for the reference rows (apt-get install python3-torch)';
}

async function main(): Promise<void> {
  const { params, loss } = setup();
  const fc = new FlopCounter();
  const g = new GradOps(fc, new Set(params));
  g.backward(loss(g));
  const gflop = fc.flops / 1e9;
  // JavaScript overhead of an ONNX Runtime step: tracing (to collect the step's host tensors) and the cache key.
  let trace = 0, key = 0;
  for (let i = 0; i < steps + 2; i++) {
    const t0 = performance.now();
    const traced = traceStep(params, loss);
    const t1 = performance.now();
    graphKey('step', traced.ops.graph);
    if (i >= 2) [trace, key] = [trace + (t1 - t0) / 1000 / steps, key + (performance.now() - t1) / 1000 / steps];
  }
  // The host optimiser (AdamW + clipping), the same for every backend.
  const opt = new AdamW(params, { lr: 1e-3 });
  const grads = new Map(params.map((p) => [p, randn(p.size, 9)]));
  const adam = await timeIt(() => { clipGradNorm(grads, 1); opt.update(grads); }, steps);

  const rows: [string, number][] = [
    ['tfjs-wasm (1 core)', runChild('tfjs', 1)],
    ['ONNX Runtime, 1 thread', runChild('onnx', 1)],
    ['ONNX Runtime, 2 threads', runChild('onnx', 2)],
  ];
  const pt = torch();
  if (typeof pt !== 'string') for (const [t, r] of Object.entries(pt.threads)) rows.push([`PyTorch ${t} thread${t === '1' ? '' : 's'}`, r.train_s]);
  const base = rows[0]![1];
  console.log(`default U-Net step (batch ${B}, 16×16, condition [${B}, ${L}, ${D}]): ${gflop.toFixed(2)} GFLOP forward + backward; ${os.cpus()[0]?.model ?? 'cpu'} × ${os.availableParallelism()}`);
  console.log('backend                      s/step   GFLOP/s   vs tfjs');
  for (const [name, s] of rows) console.log(`${name.padEnd(28)} ${s.toFixed(3).padStart(6)}  ${(gflop / s).toFixed(1).padStart(8)}  ${(base / s).toFixed(2).padStart(7)}×`);
  if (typeof pt === 'string') console.log(`PyTorch rows skipped: ${pt}`);
  console.log(`per ONNX Runtime step, in JavaScript: trace ${(trace * 1000).toFixed(1)} ms, cache key ${(key * 1000).toFixed(1)} ms (included above); host AdamW + clipping ${(adam * 1000).toFixed(1)} ms (not included, same for every backend)`);
}

if (isChild) await child(process.argv[3]!);
else await main();
