// Where does the U-Net get a picture's overall colour from: the caption, or what the noise schedule leaves of the
// latent? SD's scaled-linear schedule keeps √ᾱ = 0.068 of x₀ at t = 999; on a 16×16 latent of flat backgrounds the
// residual mean is readable. For each t the U-Net predicts x̂₀ from (a) the noised latent of a real scene and (b) pure
// noise (what generation starts from), each with the scene's caption and with another scene's; the table is the
// correlation of x̂₀'s per-channel means with the true latent's. A U-Net that reads the residual scores high in (a)
// whatever the caption and low in (b); one that follows the caption scores high with the right caption in both.
//   npx tsx bench/default-model/noise-leak.ts [WEIGHTS_DIR ...]   (default: default-model/weights)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTfjsOps } from '../../models/backends/tfjs/index.ts';
import { weightsLayout } from '../../default-model/layout.ts';
import { buildUNet, buildVAE } from '../../nodes/diffusion/build.ts';
import { samplePosterior, scaleLatent } from '../../models/vae/posterior.ts';
import { alphasCumprod, resolveConfig } from '../../models/schedulers/schedule.ts';
import { caption, render, sampleScene } from '../../models/world/scene.ts';
import { Rng } from '../../models/ops/random.ts';
import { clipTextCondition, mean } from './conditions.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dirs = process.argv.slice(2).length ? process.argv.slice(2) : [path.join(root, 'default-model/weights')];
const SCENES = 16;
const TIMESTEPS = [999, 961, 900, 800, 600];
const ops = await createTfjsOps();
const acp = alphasCumprod(resolveConfig());

function correlation(a: number[], b: number[]): number {
  const ma = mean(a), mb = mean(b);
  let ab = 0, aa = 0, bb = 0;
  a.forEach((v, i) => { ab += (v - ma) * (b[i]! - mb); aa += (v - ma) ** 2; bb += (b[i]! - mb) ** 2; });
  return ab / Math.sqrt(aa * bb);
}

const rng = new Rng(31);
const scenes = Array.from({ length: SCENES }, () => sampleScene(rng, { size: 64 }));
const pixels = new Float32Array(SCENES * 3 * 64 * 64);
scenes.forEach((s, k) => {
  const img = render(s);
  for (let p = 0; p < 64 * 64; p++) for (let c = 0; c < 3; c++) pixels[k * 3 * 4096 + c * 4096 + p] = (img.data[p * 3 + c]! / 255) * 2 - 1;
});
const captions = scenes.map(caption);
const others = captions.map((_, i) => captions[(i + 5) % SCENES]!);

console.log('corr(per-channel mean of x̂₀, true mean) over', SCENES, 'scenes:');
console.log('| weights | t | √ᾱ | noised latent, right caption | noised latent, other caption | pure noise, right caption | pure noise, other caption |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const dir of dirs) {
  const w = weightsLayout(path.resolve(dir));
  const encode = await clipTextCondition(ops, w);
  const vae = (await buildVAE(w.vaeDir, 'from-file', 0)).model;
  const unet = (await buildUNet(w.unetDir, 'from-file', 0)).model;
  const moments = ops.toHost(ops.tidy(() => vae.encodeMoments(ops, ops.tensor(pixels, [SCENES, 3, 64, 64]))));
  const latent = scaleLatent(samplePosterior(moments, 'mean', 0), vae.config.scalingFactor);
  const x0 = latent.data as Float32Array;
  const [, C, H, W] = latent.shape as [number, number, number, number];
  const channelMeans = (x: Float32Array) => Array.from({ length: SCENES * C }, (_, k) => mean(Array.from(x.subarray(k * H * W, (k + 1) * H * W))));
  const truth = channelMeans(x0);
  const noise = new Rng(7);
  const eps = Float32Array.from(x0, () => noise.normal());
  // The two conditions (right and other captions) do not depend on t: encoded once, reused at every timestep.
  const conditions = new Map([captions, others].map((texts) => {
    const c = encode(texts);
    return [texts, ops.tensor(c.data, c.shape)] as const;
  }));
  for (const t of TIMESTEPS) {
    const a = Math.sqrt(acp[t]!), s = Math.sqrt(1 - acp[t]!);
    const score = (leak: boolean, texts: string[]) => {
      const xt = Float32Array.from(x0, (x, i) => (leak ? a * x : 0) + s * eps[i]!);
      const condition = conditions.get(texts)!;
      const pred = ops.toHost(ops.tidy(() => unet.forward(ops, ops.tensor(xt, latent.shape), ops.tensor(new Float32Array(SCENES).fill(t), [SCENES]), condition))).data as Float32Array;
      return correlation(channelMeans(Float32Array.from(xt, (v, i) => (v - s * pred[i]!) / a)), truth).toFixed(2);
    };
    console.log(`| ${path.relative(root, w.dir) || w.dir} | ${t} | ${a.toFixed(3)} | ${score(true, captions)} | ${score(true, others)} | ${score(false, captions)} | ${score(false, others)} |`);
  }
  for (const c of conditions.values()) c.dispose();
}
