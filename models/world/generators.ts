// Reference generators that prove the metric: the oracle draws exactly the scene a prompt asks for (the ceiling,
// ~100 %), the blank one paints an empty white picture (the floor, ~0 %), and the copy one returns its first input
// image unchanged (an "edit" that does nothing must fail), and the seed-only one draws a scene chosen by the seed
// alone — a model that ignores its condition, which the condition-sensitivity check (sensitivity.ts) must catch.

import { BACKGROUNDS } from './palette.ts';
import { blankRaster, type Raster } from './raster.ts';
import { render, sampleScene } from './scene.ts';
import { Rng } from '../ops/random.ts';
import type { EvalItem } from './eval-set.ts';

export function oracleGenerator(item: EvalItem): Raster {
  return render(item.target);
}

export function blankGenerator(item: EvalItem): Raster {
  return blankRaster(item.target.size, item.target.size, BACKGROUNDS.white);
}

export function copyGenerator(item: EvalItem): Raster {
  return item.images[0] ?? blankGenerator(item);
}

export function seedOnlyGenerator(item: EvalItem): Raster {
  return render(sampleScene(new Rng(item.seed), { size: item.target.size }));
}
