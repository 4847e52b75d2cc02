// Makes the small PNGs the generation workflows use until the project's trained default model exists:
// coloured shapes on plain backgrounds (subjects for KOSMOS-G prompts) and a line drawing for ControlNet.
// Also a tiny kohya-format LoRA (rank 4, seeded) for the small U-Net's attention projections, for lora.json.
// And two small word tokenizers over the prompts the workflows use (KOSMOS-G layout and CLIP layout), so the
// small random KOSMOS-G and CLIP text encoder have a vocabulary.
// Run: npx tsx scripts/make-assets.ts   (writes workflows/assets/*.png; re-running gives identical files)

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { writeFileAtomic } from '../models/io/atomic.ts';
import { saveSafetensors } from '../models/io/safetensors.ts';
import { hostTensor, type HostTensor } from '../models/ops/ops.ts';
import { randn } from '../models/ops/random.ts';
import { UNet2DConditionModel } from '../models/unet/unet.ts';
import { SMALL_UNET_CONFIG } from '../models/unet/config.ts';
import { buildWordTokenizer, saveWordTokenizer } from '../models/tokenizers/word-tokenizer.ts';
import { render, subjectImage } from '../models/world/scene.ts';
import { pair } from '../models/world/eval-set.ts';
import { rasterToPng } from '../models/world/write.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '..', 'workflows', 'assets');

const svg = (size: number, background: string, body: string): Buffer =>
  Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><rect width="100%" height="100%" fill="${background}"/>${body}</svg>`);

const ASSETS: Record<string, Buffer> = {
  'red-circle.png': svg(64, '#f2efe6', '<circle cx="32" cy="32" r="20" fill="#d62828"/>'),
  'blue-square.png': svg(64, '#e8f1f2', '<rect x="14" y="14" width="36" height="36" fill="#1d4e89"/>'),
  'green-triangle.png': svg(64, '#f6f4ee', '<polygon points="32,10 54,52 10,52" fill="#2a9d43"/>'),
  'yellow-star.png': svg(
    64,
    '#2b2d42',
    '<polygon points="32,8 38,25 56,25 41,36 47,54 32,43 17,54 23,36 8,25 26,25" fill="#ffd166"/>',
  ),
  // ControlNet hint: white edges on black, as canny/scribble ControlNets expect.
  'control-edges.png': svg(
    64,
    '#000000',
    '<circle cx="24" cy="30" r="14" fill="none" stroke="#ffffff" stroke-width="2"/><rect x="34" y="20" width="22" height="30" fill="none" stroke="#ffffff" stroke-width="2"/>',
  ),
};

mkdirSync(out, { recursive: true });
for (const [name, data] of Object.entries(ASSETS)) {
  const file = path.join(out, name);
  await writeFileAtomic(file, await sharp(data).png({ compressionLevel: 9 }).toBuffer());
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}

// Pictures drawn the way the default model's world draws them (models/world), for the workflows wired to the
// shipped default model: subjects centred on white, and a two-shape scene to edit.
const WORLD_ASSETS = {
  'red-circle.png': subjectImage('circle', 'red'),
  'blue-square.png': subjectImage('square', 'blue'),
  'yellow-star.png': subjectImage('star', 'yellow'),
  'scene-circle-square.png': render(pair({ shape: 'circle', color: 'red' }, { shape: 'square', color: 'blue' }, 'left of', 'cream', 64)),
};
mkdirSync(path.join(out, 'world'), { recursive: true });
for (const [name, raster] of Object.entries(WORLD_ASSETS)) {
  const file = path.join(out, 'world', name);
  await writeFileAtomic(file, await rasterToPng(raster));
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}

/** kohya names: lora_unet_<module path with '.' → '_'>.{lora_down.weight, lora_up.weight, alpha}. */
function tinyLora(): Map<string, HostTensor> {
  const rank = 4;
  const tensors = new Map<string, HostTensor>();
  let seed = 100;
  for (const [key, p] of new UNet2DConditionModel(SMALL_UNET_CONFIG).namedParameters()) {
    if (!/attn[12]\.to_[qkv]\.weight$/.test(key)) continue;
    const name = `lora_unet_${key.slice(0, -'.weight'.length).replace(/\./g, '_')}`;
    const [out, inp] = p.shape;
    const scaled = (n: number) => Float32Array.from(randn(n, seed++), (v) => v * 0.2);
    tensors.set(`${name}.lora_down.weight`, hostTensor(scaled(rank * inp), [rank, inp]));
    tensors.set(`${name}.lora_up.weight`, hostTensor(scaled(out * rank), [out, rank]));
    tensors.set(`${name}.alpha`, hostTensor(new Float32Array([rank / 2]), []));
  }
  return tensors;
}

const loraFile = path.join(out, 'tiny-lora.safetensors');
await saveSafetensors(loraFile, tinyLora(), { format: 'kohya', about: 'random rank-4 LoRA for the small U-Net (tests and lora.json)' });
console.log(`wrote ${path.relative(process.cwd(), loraFile)}`);

const CORPUS = [
  'a red circle in the jungle',
  'a blue square and a green triangle on the beach',
  'a yellow star on a dark night sky',
  'turn the square into a red circle',
  'make it green',
  'add a yellow star next to it',
  'in the jungle',
  'on the beach',
  'and',
  'a photo of a shape on a plain background',
];
for (const [dir, kind] of [['tokenizer', 'word'], ['clip-tokenizer', 'word-clip']] as const) {
  mkdirSync(path.join(out, dir), { recursive: true });
  const file = path.join(out, dir, 'tokenizer.json');
  saveWordTokenizer(file, buildWordTokenizer(CORPUS, { kind }));
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
