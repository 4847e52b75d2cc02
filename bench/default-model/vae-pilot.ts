// A VAE recipe pilot without the workflow machinery: trains the default VAE on freshly rendered training scenes
// (held-out triples excluded, as the pipeline's data is) with the same AdamW and loss as the VAE stage, optionally
// on random square crops (the VAE is convolutional, so a 32×32 crop costs ~¼ of a 64×64 image), then scores the
// ceiling (the held-out scenes encoded and decoded whole, at 64×64) and reports the latent std.
//   npx tsx bench/default-model/vae-pilot.ts --steps 600 --batch 8 --crop 32 --lr 2e-3 --warmup 50 \
//     [--decay polynomial|cosine|constant] [--loss mse|l1] [--kl 1e-6] [--scenes 1000] [--per-task 24] [--save DIR]
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createTfjsOps, parameterGrads, tf } from '../../models/backends/tfjs/index.ts';
import { buildEvalSet } from '../../models/world/eval-set.ts';
import { oracleGenerator } from '../../models/world/generators.ts';
import { evaluate, formatTable } from '../../models/world/score.ts';
import { DEFAULT_VAE } from '../../default-model/config.ts';
import { anyHeldOut } from '../../models/world/heldout.ts';
import { AutoencoderKL } from '../../models/vae/autoencoder.ts';
import { Rng } from '../../models/ops/random.ts';
import { render, sampleScene } from '../../models/world/scene.ts';
import { train } from '../../models/training/loop.ts';
import { vaeLoss } from '../../models/training/losses.ts';
import { mixSeed } from '../../models/data/batching.ts';
import type { DecayKind } from '../../models/training/schedule.ts';
import type { Raster } from '../../models/world/raster.ts';
import { saveSafetensors } from '../../models/io/safetensors.ts';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
};
const steps = Number(opt('steps', '300'));
const batch = Number(opt('batch', '8'));
const crop = Number(opt('crop', '64'));
const lr = Number(opt('lr', '1e-3'));
const warmup = Number(opt('warmup', '20'));
const decay = opt('decay', 'polynomial') as DecayKind;
const loss = opt('loss', 'mse') as 'mse' | 'l1';
const kl = Number(opt('kl', '1e-6'));
const sceneCount = Number(opt('scenes', '1000'));
const S = 64;

// GroupNorm groups: with 8 groups a 16-channel level normalises pairs of channels over space, and on the world's
// flat colour fields that keeps little more than which channel of a pair is larger.
const groups = Number(opt('groups', String(DEFAULT_VAE.normNumGroups)));
const config = { ...DEFAULT_VAE, normNumGroups: groups };
const ops = await createTfjsOps();
const vae = new AutoencoderKL(config, 0);
// Start the posterior's log-variance low (the logvar half of quant_conv's bias): from logvar 0 the reparameterised
// sample is mostly noise, and with a tiny KL weight Adam walks the bias down only ~lr per step.
const logvarInit = Number(opt('logvar-init', '0'));
vae.quant_conv.bias!.data.fill(logvarInit, DEFAULT_VAE.latentChannels);

function toSigned(img: Raster, out: Float32Array, at: number): void {
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[at + c * n + i] = (img.data[i * 3 + c]! / 255) * 2 - 1;
}

// Training scenes: the world's sampler with the held-out triples dropped.
const rng = new Rng(2023);
const pool: Float32Array[] = [];
while (pool.length < sceneCount) {
  const scene = sampleScene(rng, { size: S });
  if (anyHeldOut(scene.entities, scene.background)) continue;
  const x = new Float32Array(3 * S * S);
  toSigned(render(scene), x, 0);
  pool.push(x);
}

function batchAt(seed: number): Float32Array {
  const r = new Rng(mixSeed(seed, 0xc20));
  const out = new Float32Array(batch * 3 * crop * crop);
  for (let b = 0; b < batch; b++) {
    const src = pool[r.int(pool.length)]!;
    const ox = r.int(S - crop + 1), oy = r.int(S - crop + 1);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < crop; y++) {
        const from = c * S * S + (oy + y) * S + ox;
        out.set(src.subarray(from, from + crop), ((b * 3 + c) * crop + y) * crop);
      }
    }
  }
  return out;
}

const L = DEFAULT_VAE.latentChannels;
const t0 = Date.now();
const result = await train({
  models: [{ name: 'vae', module: vae, prefix: '' }],
  config: {
    steps, accumulate: 1, clip: 2, seed: 0, checkpointEvery: 0,
    optimizer: { betas: [0.9, 0.98], eps: 1e-6, weightDecay: 0.01 },
    schedule: { lr, warmup, decay, power: 1 },
  },
  loss: ({ seed }) => {
    const x = batchAt(seed);
    const r = new Rng(mixSeed(seed, 0x7ae));
    const latentShape = [batch, L, crop / 4, crop / 4];
    const eps = Float32Array.from({ length: batch * L * (crop / 4) ** 2 }, () => r.normal());
    return () => {
      const input = ops.tensor(x, [batch, 3, crop, crop]);
      const [mean, logvar] = ops.split(vae.encodeMoments(ops, input), [L, L], 1);
      const z = ops.add(mean!, ops.mul(ops.exp(ops.mul(ops.clamp(logvar!, -30, 20), 0.5)), ops.tensor(eps, latentShape)));
      return vaeLoss(ops, vae.decode(ops, z), input, mean!, logvar!, { reconstruction: loss, klWeight: kl });
    };
  },
  gradients: (params, fn) => parameterGrads(ops, params, () => fn() as tf.Tensor),
  onStep: (m) => {
    if (m.step % 50 === 0 || m.step === steps) console.log(`step ${m.step}/${steps} loss ${m.loss.toFixed(4)} lr ${m.lr.toExponential(2)} ${((Date.now() - t0) / m.step / 1000).toFixed(2)} s/step`);
  },
});
const seconds = (Date.now() - t0) / 1000;

function roundTrip(img: Raster): Raster {
  const n = S * S;
  const x = new Float32Array(3 * n);
  toSigned(img, x, 0);
  const out = tf.tidy(() => {
    const mean = ops.slice(vae.encodeMoments(ops, ops.tensor(x, [1, 3, S, S])), [0, 0, 0, 0], [1, L, -1, -1]);
    return vae.decode(ops, mean).dataSync() as Float32Array;
  });
  const data = new Uint8ClampedArray(n * 3);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) data[i * 3 + c] = Math.round(((out[c * n + i]! + 1) / 2) * 255);
  return { width: S, height: S, data };
}

// Latent std (scaled by the config's factor, as the U-Net sees it) over 64 training scenes, whole.
const stats = tf.tidy(() => {
  const xs = new Float32Array(64 * 3 * S * S);
  for (let i = 0; i < 64; i++) xs.set(pool[i]!, i * 3 * S * S);
  const mean = ops.slice(vae.encodeMoments(ops, ops.tensor(xs, [64, 3, S, S])), [0, 0, 0, 0], [64, L, -1, -1]);
  const moments = vae.encodeMoments(ops, ops.tensor(xs, [64, 3, S, S])) as tf.Tensor;
  const logvar = moments.slice([0, L, 0, 0], [64, L, -1, -1]).mean().dataSync()[0]!;
  const v = (mean as tf.Tensor).mul(DEFAULT_VAE.scalingFactor).dataSync() as Float32Array;
  let s = 0, s2 = 0;
  for (const a of v) { s += a; s2 += a * a; }
  const m = s / v.length;
  return { mean: m, std: Math.sqrt(s2 / v.length - m * m), logvar };
});

const report = await evaluate((item) => roundTrip(oracleGenerator(item)), buildEvalSet({ perTask: Number(opt('per-task', '24')) }));
const first = result.losses.slice(0, 10).reduce((a, b) => a + b, 0) / Math.min(10, result.losses.length);
const last = result.losses.slice(-20).reduce((a, b) => a + b, 0) / Math.min(20, result.losses.length);
console.log(`recipe: steps ${steps} batch ${batch} crop ${crop} lr ${lr} warmup ${warmup} decay ${decay} logvar-init ${logvarInit} groups ${groups} loss ${loss} kl ${kl} scenes ${sceneCount}`);
console.log(`trained ${seconds.toFixed(0)} s (${(seconds / steps).toFixed(2)} s/step); loss ${first.toFixed(4)} → ${last.toFixed(4)}; scaled latent mean ${stats.mean.toFixed(3)} std ${stats.std.toFixed(3)}, mean logvar ${stats.logvar.toFixed(2)}`);
console.log(formatTable([{ name: 'VAE ceiling', report }]));
const save = opt('save', '');
if (save) {
  mkdirSync(save, { recursive: true });
  await saveSafetensors(path.join(save, 'diffusion_pytorch_model.safetensors'), vae.stateDict());
  console.log(`saved to ${save}`);
}
