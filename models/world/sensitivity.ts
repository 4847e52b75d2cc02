// Condition sensitivity: does the prompt decide the picture, or the seed? At a fixed seed, one thing of the prompt
// is swapped — the subject image's colour or shape, a caption's colour, shape or background word — and both
// pictures are read back (evaluate.ts). A swap counts as *changed* when the reading of what was swapped differs
// between the two pictures, and as *followed* when the second picture shows the new value. A model that ignores its
// condition changes nothing (the seed draws the same picture); the held-out fidelity scores cannot tell that apart
// from a model that listens but draws badly.

import { describeReading, readImage, type Reading } from './evaluate.ts';
import { BACKGROUND_NAMES, COLOR_NAMES, SHAPES, type BackgroundName, type ColorName, type ShapeName } from './palette.ts';
import type { Raster } from './raster.ts';
import { caption, subjectImage, type Scene } from './scene.ts';
import type { EvalItem } from './eval-set.ts';
import type { Generator } from './score.ts';

export type SwapKind = 'colour' | 'shape' | 'background';
export const SWAP_KINDS: readonly SwapKind[] = ['colour', 'shape', 'background'];

export interface Swap {
  kind: SwapKind;
  /** 'image' when the subject picture was swapped, 'word' when the caption was. */
  via: 'image' | 'word';
  base: EvalItem;
  variant: EvalItem;
  /** The new value the variant asks for. */
  to: ColorName | ShapeName | BackgroundName;
  from: ColorName | ShapeName | BackgroundName;
}

export interface SwapResult {
  kind: SwapKind;
  via: 'image' | 'word';
  id: string;
  changed: boolean;
  followed: boolean;
  /** What was read in each picture, for reports. */
  base: string;
  variant: string;
}

export interface SensitivityReport {
  swaps: SwapResult[];
  /** Share of swaps whose swapped attribute reads differently, overall and per kind (0..1). */
  changed: number;
  followed: number;
  byKind: { kind: SwapKind; via: 'image' | 'word'; swaps: number; changed: number; followed: number }[];
}

/** The first value of a list after `v` that is neither `v` nor taken (a deterministic replacement that is new). */
function fresh<T>(list: readonly T[], v: T, taken: readonly T[] = [], step = 1): T {
  for (let k = step; k < list.length + step; k++) {
    const c = list[(list.indexOf(v) + k) % list.length]!;
    if (c !== v && !taken.includes(c)) return c;
  }
  throw new Error(`sensitivity: no replacement for ${String(v)}`);
}

function withScene(item: EvalItem, scene: Scene, id: string, prompt = caption(scene)): EvalItem {
  return { ...item, id, prompt, target: scene };
}

/**
 * Swaps for single-entity items (the subject picture's colour, its shape, the background word) and for text-to-image
 * items (the first entity's colour word, its shape word, the background word). Other tasks are left out: their
 * readings mix two subjects or an input scene, so a change would not say which part of the condition moved it.
 */
export function buildSwaps(items: readonly EvalItem[]): Swap[] {
  const out: Swap[] = [];
  for (const item of items) {
    const scene = item.target;
    const e = scene.entities[0]!;
    const others = scene.entities.slice(1);
    const colour = fresh(COLOR_NAMES, e.color, others.map((x) => x.color));
    const shape = fresh(SHAPES, e.shape, others.map((x) => x.shape));
    const background = fresh(BACKGROUND_NAMES, scene.background, [], 3);
    const recoloured: Scene = { ...scene, entities: scene.entities.map((x, i) => (i === 0 ? { ...x, color: colour } : x)) };
    const reshaped: Scene = { ...scene, entities: scene.entities.map((x, i) => (i === 0 ? { ...x, shape } : x)) };
    const reground: Scene = { ...scene, background };
    if (item.task === 'single') {
      const size = item.images[0]!.width;
      const prompt = item.prompt.replace(`a ${scene.background} background`, `a ${background} background`);
      out.push(
        { kind: 'colour', via: 'image', base: item, from: e.color, to: colour, variant: { ...withScene(item, recoloured, `${item.id}~colour`, item.prompt), images: [subjectImage(e.shape, colour, size, 'white')] } },
        { kind: 'shape', via: 'image', base: item, from: e.shape, to: shape, variant: { ...withScene(item, reshaped, `${item.id}~shape`, item.prompt), images: [subjectImage(shape, e.color, size, 'white')] } },
        { kind: 'background', via: 'word', base: item, from: scene.background, to: background, variant: withScene(item, reground, `${item.id}~background`, prompt) },
      );
    } else if (item.task === 'text') {
      out.push(
        { kind: 'colour', via: 'word', base: item, from: e.color, to: colour, variant: withScene(item, recoloured, `${item.id}~colour`) },
        { kind: 'shape', via: 'word', base: item, from: e.shape, to: shape, variant: withScene(item, reshaped, `${item.id}~shape`) },
        { kind: 'background', via: 'word', base: item, from: scene.background, to: background, variant: withScene(item, reground, `${item.id}~background`) },
      );
    }
  }
  return out;
}

/** What a reading says about one kind of attribute, as a comparable key. */
function attribute(r: Reading, kind: SwapKind): string {
  if (kind === 'background') return r.background ?? '?';
  const values = r.objects.map((o) => (kind === 'colour' ? o.color : o.shape));
  return [...new Set(values)].sort().join(',');
}

function shows(r: Reading, swap: Swap): boolean {
  if (swap.kind === 'background') return r.background === swap.to;
  return r.objects.some((o) => (swap.kind === 'colour' ? o.color : o.shape) === swap.to);
}

/** Generates every swap's two pictures (the base once per item) and reads them. */
export async function conditionSensitivity(generate: Generator, swaps: readonly Swap[]): Promise<SensitivityReport> {
  const bases = new Map<string, Reading>();
  const results: SwapResult[] = [];
  for (const swap of swaps) {
    let base = bases.get(swap.base.id);
    if (!base) {
      base = readImage((await generate(swap.base)) as Raster);
      bases.set(swap.base.id, base);
    }
    const variant = readImage(await generate(swap.variant));
    results.push({
      kind: swap.kind,
      via: swap.via,
      id: swap.variant.id,
      changed: attribute(base, swap.kind) !== attribute(variant, swap.kind),
      followed: shows(variant, swap) && !shows(base, swap),
      base: describeReading(base),
      variant: describeReading(variant),
    });
  }
  const share = (xs: SwapResult[], f: (r: SwapResult) => boolean) => (xs.length ? xs.filter(f).length / xs.length : 0);
  const groups = new Map<string, SwapResult[]>();
  for (const r of results) groups.set(`${r.kind}/${r.via}`, [...(groups.get(`${r.kind}/${r.via}`) ?? []), r]);
  return {
    swaps: results,
    changed: share(results, (r) => r.changed),
    followed: share(results, (r) => r.followed),
    byKind: [...groups.values()].map((g) => ({ kind: g[0]!.kind, via: g[0]!.via, swaps: g.length, changed: share(g, (r) => r.changed), followed: share(g, (r) => r.followed) })),
  };
}

/** A markdown table of a report. */
export function formatSensitivity(report: SensitivityReport): string {
  const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
  const rows = report.byKind.map((k) => `| ${k.kind} (${k.via}) | ${k.swaps} | ${pct(k.changed)} | ${pct(k.followed)} |`);
  return [
    '| swap | swaps | reading changed | shows the new value |',
    '| --- | --- | --- | --- |',
    ...rows,
    `| **all** | ${report.swaps.length} | **${pct(report.changed)}** | ${pct(report.followed)} |`,
  ].join('\n');
}
