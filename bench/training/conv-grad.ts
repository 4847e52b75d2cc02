// Where the default model's training time goes on tfjs-wasm, measured side by side in one process:
//  1. a 3×3 convolution's weight gradient per kernel tap against as one convolution, at the shapes of the default
//     U-Net and VAE (batch 8), next to the forward pass;
//  2. the kernel flip of the input gradient: tf.reverse against a product with the anti-identity;
//  3. a whole default U-Net training step (forward + backward) with 4 attention heads of width 8 against heads of
//     width 32 ([1, 2, 4]);
//  4. the frozen VAE's encoding of a batch of 64×64 targets against the per-image cache DiffusionLoss uses.
//   npx tsx bench/training/conv-grad.ts [reps=5]
import { createTfjsOps, parameterGrads, tf } from '../../models/backends/tfjs/index.ts';
import { TfjsRunner } from '../../models/runtime/tfjs-runner.ts';
import { flipKernel, weightGradAsConv, weightGradPerTap } from '../../models/backends/tfjs/conv2d.ts';
import { DEFAULT_UNET, DEFAULT_VAE } from '../../default-model/config.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { AutoencoderKL } from '../../models/vae/autoencoder.ts';
import { frozenVaeMoments } from '../../models/training/latent-cache.ts';
import { mse } from '../../models/training/losses.ts';
import { Rng } from '../../models/ops/random.ts';

const reps = Number(process.argv[2] ?? 5);
const ops = await createTfjsOps();

/** Mean ms of f over `reps` runs after one warm-up; f's result is read back so the work is finished. */
function ms(f: () => tf.Tensor | number | void): number {
  const once = () => tf.tidy(() => {
    const r = f();
    if (r instanceof tf.Tensor) r.dataSync();
  });
  once();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) once();
  return (performance.now() - t0) / reps;
}

/** The same for an asynchronous f. */
async function msAsync(f: () => Promise<unknown>): Promise<number> {
  await f();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await f();
  return (performance.now() - t0) / reps;
}

function table(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  console.log();
}

const f2 = (v: number) => v.toFixed(2);

console.log(`tfjs backend ${tf.getBackend()}, ${reps} repetitions each\n`);

// 1. Weight gradients.
const convRows: string[][] = [];
for (const [n, h, c, o, s] of [[8, 16, 32, 32, 1], [8, 8, 64, 64, 1], [8, 4, 128, 128, 1], [8, 32, 16, 16, 1], [8, 16, 32, 32, 2], [8, 32, 16, 16, 2]] as const) {
  const oh = s === 1 ? h : h / 2;
  const x = tf.randomNormal([n, s === 1 ? h + 2 : h + 1, s === 1 ? h + 2 : h + 1, c]) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, c, o]) as tf.Tensor4D;
  const dy = tf.randomNormal([n, oh, oh, o]) as tf.Tensor4D;
  const fwd = ms(() => tf.conv2d(x, w, s, 'valid'));
  const taps = ms(() => weightGradPerTap(x, dy, [3, 3], [s, s]));
  const conv = ms(() => weightGradAsConv(x, dy, [3, 3], [s, s]));
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(weightGradPerTap(x, dy, [3, 3], [s, s]), weightGradAsConv(x, dy, [3, 3], [s, s])))).dataSync()[0]!);
  convRows.push([`${n}×${oh}×${oh}, ${c}→${o}, stride ${s}`, f2(fwd), f2(taps), f2(conv), `${(taps / conv).toFixed(1)}×`, diff.toExponential(1)]);
  tf.dispose([x, w, dy]);
}
console.log('1. 3×3 convolution weight gradient (ms)');
table(['output, channels', 'forward', 'per tap', 'as conv', 'speed-up', 'max |diff|'], convRows);

// 2. Kernel flip.
const flipRows: string[][] = [];
for (const c of [32, 64, 128]) {
  const w = tf.randomNormal([3, 3, c, c]) as tf.Tensor4D;
  const rev = ms(() => tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]));
  const prod = ms(() => flipKernel(w));
  flipRows.push([`3×3×${c}×${c}`, f2(rev), f2(prod), `${(rev / prod).toFixed(1)}×`]);
  w.dispose();
}
console.log('2. kernel flip for the input gradient (ms)');
table(['kernel', 'tf.reverse', 'anti-identity product', 'speed-up'], flipRows);

// 3. A default U-Net training step.
const B = 8;
const S = DEFAULT_UNET.sampleSize;
const rng = new Rng(1);
const noise = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
const sample = noise(B * 4 * S * S), target = noise(B * 4 * S * S), context = noise(B * 24 * DEFAULT_UNET.crossAttentionDim);
const t = Float32Array.from({ length: B }, (_, i) => 100 * i);
const unetRows: string[][] = [];
const stepMs: number[] = [];
for (const heads of [4, [1, 2, 4]] as const) {
  const unet = new UNet2DConditionModel({ ...DEFAULT_UNET, attentionHeads: heads as number | number[] }, 0);
  const params = unet.parameters();
  const step = () => {
    parameterGrads(ops, params, () => mse(ops, unet.forward(ops, ops.tensor(sample, [B, 4, S, S]), ops.tensor(t, [B]), ops.tensor(context, [B, 24, DEFAULT_UNET.crossAttentionDim])), ops.tensor(target, [B, 4, S, S])) as tf.Tensor);
  };
  const m = ms(step);
  stepMs.push(m);
  unetRows.push([JSON.stringify(heads), f2(m), `${(stepMs[0]! / m).toFixed(2)}×`]);
  ops.release(params);
}
console.log(`3. default U-Net training step, batch ${B}, ${S}×${S} latents (ms)`);
table(['attention heads', 'forward + backward', 'speed-up'], unetRows);

// 4. Frozen VAE targets.
const vae = new AutoencoderKL(DEFAULT_VAE, 0);
vae.setTrainable(false);
const images = noise(B * 3 * 64 * 64).map((v) => Math.tanh(v));
const encode = ms(() => ops.tidy(() => vae.encodeMoments(ops, ops.tensor(images, [B, 3, 64, 64]))) as tf.Tensor);
const runner = new TfjsRunner(ops);
await frozenVaeMoments(runner, vae, images, B, 64);
const cached = await msAsync(() => frozenVaeMoments(runner, vae, images, B, 64));
console.log(`4. frozen VAE targets, batch ${B} of 64×64 (ms)`);
table(['encode every step', 'cached', 'speed-up'], [[f2(encode), f2(cached), `${(encode / cached).toFixed(0)}×`]]);
