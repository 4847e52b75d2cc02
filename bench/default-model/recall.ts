// The U-Net alone through its own CLIP text condition, scored per entity (shared by entity-recall.ts and curve.ts):
// the share of asked-for objects drawn with their colour and shape, with the colour anywhere, with the shape
// anywhere, the background, whole pictures passing, and how often swapping one caption word at the same seed
// changes what is read (models/world/sensitivity.ts). Half the captions hold a held-out colour × shape × background
// triple, half only triples training saw.
import { modelGenerator } from '../../default-model/generate.ts';
import { scoreImage } from '../../models/world/score.ts';
import { anyHeldOut } from '../../models/world/heldout.ts';
import type { EvalItem } from '../../models/world/eval-set.ts';
import { caption, sampleScene } from '../../models/world/scene.ts';
import { contains, readImage } from '../../models/world/evaluate.ts';
import { buildSwaps, conditionSensitivity } from '../../models/world/sensitivity.ts';
import { Rng } from '../../models/ops/random.ts';
import type { Raster } from '../../models/world/raster.ts';

export function recallCaptions(perSplit: number): EvalItem[] {
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
  return items;
}

export interface Recall {
  objects: number;
  colour: number;
  shape: number;
  background: number;
  passing: number;
  /** Share of one-word swaps (colour, shape, background of the first 12 captions) that change the reading. */
  sensitivity: number;
}

export const RECALL_HEADER = '| objects with colour + shape | colour present | shape present | background | pictures passing | word swaps that change the picture |';

export function recallRow(r: Recall): string {
  const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
  return `| ${pct(r.objects)} | ${pct(r.colour)} | ${pct(r.shape)} | ${pct(r.background)} | ${pct(r.passing)} | ${pct(r.sensitivity)} |`;
}

export async function entityRecall(weights: string, items: readonly EvalItem[]): Promise<Recall> {
  const generator = await modelGenerator({ weights, backend: 'onnx', steps: 25, guidance: 5, encoder: 'clip-text' });
  try {
    const cache = new Map<string, Raster>();
    const generate = async (item: EvalItem) => {
      let image = cache.get(item.id);
      if (!image) cache.set(item.id, (image = await generator.generate(item)));
      return image;
    };
    let pass = 0, entities = 0, both = 0, colour = 0, shape = 0, background = 0;
    for (const item of items) {
      const image = await generate(item);
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
    const swaps = await conditionSensitivity(generate, buildSwaps(items.slice(0, 12)));
    return { objects: both / entities, colour: colour / entities, shape: shape / entities, background: background / items.length, passing: pass / items.length, sensitivity: swaps.changed };
  } finally {
    await generator.close();
  }
}
