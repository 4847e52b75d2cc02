// Scenes of the synthetic world: one or two coloured shapes on a pale background, with the caption, the entity
// tags, per-entity crops and masked crops that KOSMOS-G's compositional data has (spec §1.10), and edit pairs in
// the InstructPix2Pix form. Everything is drawn from one seed, so a data set is reproducible byte for byte.

import { Rng } from '../ops/random.ts';
import {
  BACKGROUNDS,
  BACKGROUND_NAMES,
  COLORS,
  COLOR_NAMES,
  SHAPES,
  type BackgroundName,
  type ColorName,
  type ShapeName,
} from './palette.ts';
import { blankRaster, cropResize, drawShape, type Raster, type ShapeInstance } from './raster.ts';

export type Relation = 'left of' | 'right of' | 'above' | 'below';
export const RELATIONS: readonly Relation[] = ['left of', 'right of', 'above', 'below'];

export interface Entity extends ShapeInstance {
  color: ColorName;
}

export interface Scene {
  size: number;
  background: BackgroundName;
  entities: Entity[];
  /** For two entities: where the first stands relative to the second. */
  relation?: Relation;
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[rng.int(items.length)];
}

export function entityPhrase(e: { color: ColorName; shape: ShapeName }): string {
  return `${e.color} ${e.shape}`;
}

export function caption(scene: Scene): string {
  const [a, b] = scene.entities;
  const ground = `on a ${scene.background} background`;
  if (!b) return `a ${entityPhrase(a)} ${ground}`;
  return `a ${entityPhrase(a)} ${scene.relation} a ${entityPhrase(b)} ${ground}`;
}

export interface SceneOptions {
  size?: number;
  /** Probability of a two-entity scene. */
  pairProbability?: number;
}

export function sampleScene(rng: Rng, options: SceneOptions = {}): Scene {
  const size = options.size ?? 64;
  const background = pick(rng, BACKGROUND_NAMES);
  const pair = rng.uniform() <= (options.pairProbability ?? 0.5);
  if (!pair) {
    const r = size * (0.2 + rng.uniform() * 0.1);
    const cx = r + 2 + rng.uniform() * (size - 2 * r - 4);
    const cy = r + 2 + rng.uniform() * (size - 2 * r - 4);
    return { size, background, entities: [{ shape: pick(rng, SHAPES), color: pick(rng, COLOR_NAMES), cx, cy, r }] };
  }
  const relation = pick(rng, RELATIONS);
  const r = size * (0.14 + rng.uniform() * 0.05);
  const along = [size * 0.27, size * 0.73];
  const across = size / 2 + (rng.uniform() - 0.5) * size * 0.2;
  // The first entity is the one the relation describes: "A left of B" puts A at the smaller x.
  const firstAtStart = relation === 'left of' || relation === 'above';
  const [p1, p2] = firstAtStart ? along : [along[1], along[0]];
  const horizontal = relation === 'left of' || relation === 'right of';
  const place = (p: number) => (horizontal ? { cx: p, cy: across } : { cx: across, cy: p });
  const colorA = pick(rng, COLOR_NAMES);
  let colorB = pick(rng, COLOR_NAMES);
  while (colorB === colorA) colorB = pick(rng, COLOR_NAMES);
  return {
    size,
    background,
    relation,
    entities: [
      { shape: pick(rng, SHAPES), color: colorA, r, ...place(p1) },
      { shape: pick(rng, SHAPES), color: colorB, r, ...place(p2) },
    ],
  };
}

export function render(scene: Scene): Raster {
  const img = blankRaster(scene.size, scene.size, BACKGROUNDS[scene.background]);
  for (const e of scene.entities) drawShape(img, e, COLORS[e.color]);
  return img;
}

/** A square crop around the entity (as in the scene) and the masked crop (the entity alone on white). */
export function entityCrops(scene: Scene, index: number, out = scene.size): { crop: Raster; masked: Raster } {
  const e = scene.entities[index];
  const side = Math.min(scene.size, e.r * 2.6);
  const x = Math.max(0, Math.min(scene.size - side, e.cx - side / 2));
  const y = Math.max(0, Math.min(scene.size - side, e.cy - side / 2));
  const white = [255, 255, 255] as const;
  const full = render(scene);
  const alone = blankRaster(scene.size, scene.size, white);
  drawShape(alone, e, COLORS[e.color]);
  return {
    crop: cropResize(full, x, y, side, out, BACKGROUNDS[scene.background]),
    masked: cropResize(alone, x, y, side, out, white),
  };
}

/** An entity by itself, centred and large, on a background: the "subject image" of a prompt. */
export function subjectImage(shape: ShapeName, color: ColorName, size = 64, background: BackgroundName | 'white' = 'white'): Raster {
  const fill = background === 'white' ? ([255, 255, 255] as const) : BACKGROUNDS[background];
  const img = blankRaster(size, size, fill);
  drawShape(img, { shape, cx: size / 2, cy: size / 2, r: size * 0.36 }, COLORS[color]);
  return img;
}

export interface Edit {
  instruction: string;
  before: Scene;
  after: Scene;
}

/** Recolour one entity or change the background: "make the circle green", "make the background mint". */
export function sampleEdit(rng: Rng, scene: Scene): Edit {
  if (rng.uniform() < 0.7) {
    const i = rng.int(scene.entities.length);
    const e = scene.entities[i];
    const taken = new Set(scene.entities.map((x) => x.color));
    const choices = COLOR_NAMES.filter((c) => !taken.has(c));
    const color = pick(rng, choices);
    const entities = scene.entities.map((x, j) => (j === i ? { ...x, color } : x));
    // Name the entity by shape, or by colour and shape when both entities share a shape.
    const sameShape = scene.entities.filter((x) => x.shape === e.shape).length > 1;
    const target = sameShape ? `${e.color} ${e.shape}` : e.shape;
    return { instruction: `make the ${target} ${color}`, before: scene, after: { ...scene, entities } };
  }
  const background = pick(
    rng,
    BACKGROUND_NAMES.filter((b) => b !== scene.background),
  );
  return { instruction: `make the background ${background}`, before: scene, after: { ...scene, background } };
}
