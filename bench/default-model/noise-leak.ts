// Where does the U-Net get a picture's overall colour from: the caption, or what the noise schedule leaves of the
// latent? SD's scaled-linear schedule keeps √ᾱ = 0.068 of x₀ at t = 999; on a 16×16 latent of flat backgrounds the
// residual mean is readable. For each t the U-Net predicts x̂₀ from (a) the noised latent of a real scene and (b) pure
// noise (what generation starts from), each with the scene's caption and with another scene's; the table is the
// correlation of x̂₀'s per-channel means with the true latent's. A U-Net that reads the residual scores high in (a)
// whatever the caption and low in (b); one that follows the caption scores high with the right caption in both.
//   npx tsx bench/default-model/noise-leak.ts [WEIGHTS_DIR ...]   (default: models/default/weights)
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createTfjsOps } from '../../models/backends/tfjs/index.ts';
import { readWeightFile, clipTextFrom } from '../../models/kosmosg/weights.ts';
import { loadTokenizer } from '../../models/tokenizers/load.ts';
import { encodePadded } from '../../models/tokenizers/tokenizer.ts';
import { weightsLayout } from '../../models/default/layout.ts';
import { AutoencoderKL } from '../../models/vae/autoencoder.ts';
import { vaeConfigFromDiffusers } from '../../models/vae/config.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { unetConfigFromDiffusers } from '../../models/unet/config.ts';
import { loadSafetensors } from '../../models/io/safetensors.ts';
import { samplePosterior, scaleLatent } from '../../models/vae/posterior.ts';
import { alphasCumprod, resolveConfig } from '../../models/schedulers/schedule.ts';
import { caption, render, sampleScene } from '../../models/world/scene.ts';
import { Rng } from '../../models/ops/random.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dirs = process.argv.slice(2).length ? process.argv.slice(2) : [path.join(root, 'models/default/weights')];
const SCENES = 16;
const TIMESTEPS = [999, 961, 900, 800, 600];
const ops = await createTfjsOps();
const acp = alphasCumprod(resolveConfig());
const json = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
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
  const tokenizer = await loadTokenizer(path.dirname(w.clipTokenizer));
  const clip = clipTextFrom(await readWeightFile(w.textEncoder), 'from-file');
  const vae = new AutoencoderKL(vaeConfigFromDiffusers(json(path.join(w.vaeDir, 'config.json'))), 0);
  vae.loadStateDict(await loadSafetensors(w.vae), { where: w.vae });
  const unet = new UNet2DConditionModel(unetConfigFromDiffusers(json(path.join(w.unetDir, 'config.json'))), 0);
  unet.loadStateDict(await loadSafetensors(w.unet), { where: w.unet });
  const L = clip.config.maxPositions;
  const moments = ops.toHost(ops.tidy(() => vae.encodeMoments(ops, ops.tensor(pixels, [SCENES, 3, 64, 64]))));
  const latent = scaleLatent(samplePosterior(moments, 'mean', 0), vae.config.scalingFactor);
  const x0 = latent.data as Float32Array;
  const [, C, H, W] = latent.shape as [number, number, number, number];
  const channelMeans = (x: Float32Array) => Array.from({ length: SCENES * C }, (_, k) => mean(Array.from(x.subarray(k * H * W, (k + 1) * H * W))));
  const truth = channelMeans(x0);
  const noise = new Rng(7);
  const eps = Float32Array.from(x0, () => noise.normal());
  for (const t of TIMESTEPS) {
    const a = Math.sqrt(acp[t]!), s = Math.sqrt(1 - acp[t]!);
    const score = (leak: boolean, texts: string[]) => {
      const xt = Float32Array.from(x0, (x, i) => (leak ? a * x : 0) + s * eps[i]!);
      const pred = ops.toHost(ops.tidy(() => {
        const ids = ops.tensor(Int32Array.from(texts.flatMap((c) => encodePadded(tokenizer, c, { maxLength: L }))), [SCENES, L], 'int32');
        return unet.forward(ops, ops.tensor(xt, latent.shape), ops.tensor(new Float32Array(SCENES).fill(t), [SCENES]), clip.forward(ops, ids));
      })).data as Float32Array;
      return correlation(channelMeans(Float32Array.from(xt, (v, i) => (v - s * pred[i]!) / a)), truth).toFixed(2);
    };
    console.log(`| ${path.relative(root, w.dir) || w.dir} | ${t} | ${a.toFixed(3)} | ${score(true, captions)} | ${score(true, others)} | ${score(false, captions)} | ${score(false, others)} |`);
  }
}
