// The U-Net alone, through its own CLIP text condition, scored per entity — finer than the harness's pass/fail, so
// two U-Nets (or two recipes) can be told apart on a few dozen captions: the share of asked-for objects drawn with
// their colour and shape, with the colour anywhere, with the shape anywhere, the background, and whole pictures
// passing. Half the captions hold a held-out colour × shape × background triple, half only triples training saw.
//   npx tsx bench/default-model/entity-recall.ts [WEIGHTS_DIR ...] [--per-split N]   (default: shipped weights, 24)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelGenerator } from '../../default-model/generate.ts';
import { scoreImage } from '../../models/world/score.ts';
import { anyHeldOut } from '../../models/world/heldout.ts';
import type { EvalItem } from '../../models/world/eval-set.ts';
import { caption, sampleScene } from '../../models/world/scene.ts';
import { contains, readImage } from '../../models/world/evaluate.ts';
import { Rng } from '../../models/ops/random.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
const at = argv.indexOf('--per-split');
const perSplit = at >= 0 ? Number(argv.splice(at, 2)[1]) : 24;
const dirs = argv.length ? argv : [path.join(root, 'default-model/weights')];

const rng = new Rng(4242);
const items: EvalItem[] = [];
let seen = 0, heldOut = 0;
while (seen < perSplit || heldOut < perSplit) {
  const scene = sampleScene(rng, { size: 64 });
  const held = anyHeldOut(scene.entities, scene.background);
  if (held ? heldOut >= perSplit : seen >= perSplit) continue;
  if (held) heldOut++;
  else seen++;
  items.push({ id: `recall-${items.length}`, task: 'text', prompt: caption(scene), images: [], seed: 500 + items.length, target: scene, gone: [] });
}

const pct = (a: number, b: number) => `${((100 * a) / b).toFixed(0)} %`;
console.log(`U-Net through CLIP text, ${items.length} captions (${perSplit} seen + ${perSplit} held-out triples), 25 DPM-Solver++ steps, guidance 5:`);
console.log('| weights | objects with colour + shape | colour present | shape present | background | pictures passing |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const dir of dirs) {
  const generator = await modelGenerator({ weights: path.resolve(dir), backend: 'onnx', steps: 25, guidance: 5, encoder: 'clip-text' });
  let pass = 0, entities = 0, both = 0, colour = 0, shape = 0, background = 0;
  for (const item of items) {
    const image = await generator.generate(item);
    if (scoreImage(item, image).pass) pass++;
    const read = readImage(image);
    if (read.background === item.target.background) background++;
    for (const e of item.target.entities) {
      entities++;
      if (contains(read, e.color, e.shape)) both++;
      if (read.objects.some((o) => o.color === e.color)) colour++;
      if (read.objects.some((o) => o.shape === e.shape)) shape++;
    }
  }
  await generator.close();
  console.log(`| ${path.relative(root, dir) || dir} | ${pct(both, entities)} | ${pct(colour, entities)} | ${pct(shape, entities)} | ${pct(background, items.length)} | ${pct(pass, items.length)} |`);
}
