// The default model's held-out prompt set, for the four tasks of the issue: subject-driven generation of one
// entity ("a <i> on a mint background", the image a subject picture), two entities ("a <i> left of a <i> on …"),
// text-to-image (world captions) and editing ("<i> make the circle green", the image the scene to edit). Every item
// asks for at least one held-out colour × shape × background triple (heldout.ts), so no training caption matches.
// Each item carries the scene it intends, which is what an oracle generator draws.

import { Rng } from '../ops/random.ts';
import { COLOR_NAMES, SHAPES, type BackgroundName } from './palette.ts';
import type { Raster } from './raster.ts';
import { caption, pick, render, RELATIONS, sampleEdit, sampleScene, subjectImage, type Entity, type Relation, type Scene } from './scene.ts';
import { anyHeldOut, heldOutBackground, type Thing } from './heldout.ts';

export type EvalTask = 'single' | 'multi' | 'text' | 'edit';
export const EVAL_TASKS: readonly EvalTask[] = ['single', 'multi', 'text', 'edit'];

export interface EvalItem {
  id: string;
  task: EvalTask;
  /** Interleaved prompt; each `<i>` takes the next of `images`. */
  prompt: string;
  images: Raster[];
  /** Seed for the generator's noise. */
  seed: number;
  /** The scene the prompt asks for. */
  target: Scene;
  /** For edits: the entities that must be gone afterwards (the recoloured one's old look). */
  gone: Thing[];
}

export interface EvalSetOptions {
  seed?: number;
  /** Items per task. */
  perTask?: number;
  size?: number;
}

const PLACEHOLDER = '<i>';

function centred(thing: Thing, background: BackgroundName, size: number): Scene {
  return { size, background, entities: [{ ...thing, cx: size / 2, cy: size / 2, r: size * 0.25 }] };
}

/** Two entities laid out as the world lays out pairs (scene.ts), the first where `relation` says. */
export function pair(a: Thing, b: Thing, relation: Relation, background: BackgroundName, size: number): Scene {
  const r = size * 0.165;
  const along = [size * 0.27, size * 0.73];
  const firstAtStart = relation === 'left of' || relation === 'above';
  const [p1, p2] = firstAtStart ? along : [along[1], along[0]];
  const horizontal = relation === 'left of' || relation === 'right of';
  const place = (p: number) => (horizontal ? { cx: p, cy: size / 2 } : { cx: size / 2, cy: p });
  const entities: Entity[] = [
    { ...a, r, ...place(p1) },
    { ...b, r, ...place(p2) },
  ];
  return { size, background, relation, entities };
}

function allThings(): Thing[] {
  return COLOR_NAMES.flatMap((color) => SHAPES.map((shape) => ({ color, shape })));
}

function shuffled<T>(rng: Rng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export function buildEvalSet(options: EvalSetOptions = {}): EvalItem[] {
  const size = options.size ?? 64;
  const perTask = options.perTask ?? 24;
  const rng = new Rng(options.seed ?? 20231002);
  const items: EvalItem[] = [];
  const add = (task: EvalTask, i: number, prompt: string, images: Raster[], target: Scene, gone: Thing[] = []) => {
    const count = prompt.split(PLACEHOLDER).length - 1;
    if (count !== images.length) throw new Error(`buildEvalSet: ${task} item ${i} has ${count} <i> but ${images.length} images`);
    items.push({ id: `${task}-${String(i).padStart(3, '0')}`, task, prompt, images, seed: rng.int(2 ** 31), target, gone });
  };
  const subject = (t: Thing) => subjectImage(t.shape, t.color, size, 'white');

  // Single entity: every colour × shape in turn, on its held-out background.
  const things = shuffled(rng, allThings());
  for (let i = 0; i < perTask; i++) {
    const t = things[i % things.length];
    const background = heldOutBackground(t.color, t.shape);
    add('single', i, `a ${PLACEHOLDER} on a ${background} background`, [subject(t)], centred(t, background, size));
  }

  // Two entities: the first on its held-out background, the second of another colour.
  for (let i = 0; i < perTask; i++) {
    const a = things[(i * 5 + 3) % things.length];
    const background = heldOutBackground(a.color, a.shape);
    let b = pick(rng, things);
    while (b.color === a.color) b = pick(rng, things);
    const relation = pick(rng, RELATIONS);
    add('multi', i, `a ${PLACEHOLDER} ${relation} a ${PLACEHOLDER} on a ${background} background`, [subject(a), subject(b)], pair(a, b, relation, background, size));
  }

  // Text-to-image: world scenes that hold a held-out triple, so their captions were never trained on.
  for (let i = 0; i < perTask; ) {
    const scene = sampleScene(rng, { size });
    if (!anyHeldOut(scene.entities, scene.background)) continue;
    add('text', i++, caption(scene), [], scene);
  }

  // Editing: any scene, an edit whose result holds a held-out triple.
  for (let i = 0; i < perTask; ) {
    const scene = sampleScene(rng, { size });
    const edit = sampleEdit(rng, scene);
    if (!anyHeldOut(edit.after.entities, edit.after.background)) continue;
    const gone = edit.before.entities.filter((e, j) => e.color !== edit.after.entities[j].color).map(({ color, shape }) => ({ color, shape }));
    add('edit', i++, `${PLACEHOLDER} ${edit.instruction}`, [render(edit.before)], edit.after, gone);
  }
  return items;
}

