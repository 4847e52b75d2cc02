// The ceiling the VAE sets: every held-out item's intended scene is encoded and decoded (posterior mean) by the
// trained VAE and scored like a generated picture. No generator that goes through this VAE can beat these numbers,
// so a low generation score with a high ceiling points at the U-Net / conditioning, a low ceiling at the VAE.
//   npx tsx bench/default-model/vae-ceiling.ts [--weights DIR] [--per-task N] [--failures] (list what was read wrong)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTfjsOps, tf } from '../../models/backends/tfjs/index.ts';
import { buildEvalSet } from '../../models/world/eval-set.ts';
import { oracleGenerator } from '../../models/world/generators.ts';
import { evaluate, formatTable } from '../../models/world/score.ts';
import { weightsLayout } from '../../default-model/layout.ts';
import { AutoencoderKL } from '../../models/vae/autoencoder.ts';
import { vaeConfigFromDiffusers } from '../../models/vae/config.ts';
import { loadSafetensors } from '../../models/io/safetensors.ts';
import type { Raster } from '../../models/world/raster.ts';
import { readFileSync } from 'node:fs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
};
const w = weightsLayout(path.resolve(root, opt('weights', 'default-model/weights')));
const config = vaeConfigFromDiffusers(JSON.parse(readFileSync(path.join(w.vaeDir, 'config.json'), 'utf8')) as Record<string, unknown>);
const vae = new AutoencoderKL(config, 0);
vae.loadStateDict(await loadSafetensors(w.vae), { where: w.vae });
const ops = await createTfjsOps();

// Moments of the posterior means over every scene: SD's scaling factor is 1 / their std (unit-variance latents).
let latentSum = 0;
let latentSquares = 0;
let latentCount = 0;

function roundTrip(img: Raster): Raster {
  const { width: W, height: H } = img;
  const chw = new Float32Array(3 * W * H);
  for (let i = 0; i < W * H; i++) for (let c = 0; c < 3; c++) chw[c * W * H + i] = (img.data[i * 3 + c] / 255) * 2 - 1;
  const out = tf.tidy(() => {
    const moments = vae.encodeMoments(ops, ops.tensor(chw, [1, 3, H, W]));
    const mean = ops.slice(moments, [0, 0, 0, 0], [1, config.latentChannels, -1, -1]);
    for (const v of mean.dataSync() as Float32Array) {
      latentSum += v;
      latentSquares += v * v;
      latentCount++;
    }
    return vae.decode(ops, mean).dataSync() as Float32Array;
  });
  const data = new Uint8ClampedArray(W * H * 3);
  for (let i = 0; i < W * H; i++) for (let c = 0; c < 3; c++) data[i * 3 + c] = Math.round(((out[c * W * H + i] + 1) / 2) * 255);
  return { width: W, height: H, data };
}

const items = buildEvalSet({ perTask: Number(opt('per-task', '24')) });
const report = await evaluate((item) => roundTrip(oracleGenerator(item)), items);
console.log(`VAE round trip of the intended scenes (${w.vae}):`);
console.log(formatTable([{ name: 'VAE ceiling', report }]));
const latentMean = latentSum / latentCount;
const latentStd = Math.sqrt(latentSquares / latentCount - latentMean ** 2);
console.log(`latents (unscaled): mean ${latentMean.toFixed(3)}, std ${latentStd.toFixed(3)} → unit-variance scaling factor ${(1 / latentStd).toFixed(3)} (config: ${config.scalingFactor})`);
if (argv.includes('--failures')) {
  const want = new Map(items.map((i) => [i.id, i]));
  for (const r of report.items.filter((i) => !i.pass || !i.background)) {
    const t = want.get(r.id)!.target;
    console.log(`${r.id}${r.pass ? ' (background only)' : ''}: wanted ${t.entities.map((e) => `${e.color} ${e.shape}`).join(', ')} / ${t.background}; read ${r.read}`);
  }
}
