// What the default-model benches that probe conditions share: the small CLIP text condition of a weights folder,
// the one-word caption pairs they compare, and the relative L2 difference they compare them by.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTfjsOps, type TfjsOps } from '../../models/backends/tfjs/index.ts';
import { getRunner } from '../../models/runtime/runners.ts';
import type { Runner } from '../../models/runtime/runner.ts';
import type { TextTokenizer } from '../../models/tokenizers/tokenizer.ts';
import type { HostTensor } from '../../models/ops/ops.ts';
import { readWeightFile, clipTextFrom } from '../../models/kosmosg/weights.ts';
import { loadTokenizer } from '../../models/tokenizers/load.ts';
import { encodePadded } from '../../models/tokenizers/tokenizer.ts';
import { weightsLayout, type WeightsLayout } from '../../default-model/layout.ts';
import { BACKGROUND_NAMES, COLOR_NAMES, SHAPES } from '../../models/world/palette.ts';
import type { KosmosG } from '../../models/kosmosg/kosmosg.ts';
import type { ImageValue } from '../../models/image.ts';
import { alignerEncode, encodeImages, mllmEncode, resample, type PromptSequence } from '../../models/kosmosg/encode.ts';

export type WordKind = 'colour' | 'shape' | 'background';
export const WORD_KINDS: readonly WordKind[] = ['colour', 'shape', 'background'];

/** The CLIP text encoder of a default-model weights folder, as a function from captions to conditions [n, L, D]. */
export async function clipTextCondition(ops: TfjsOps, w: WeightsLayout): Promise<(texts: string[]) => HostTensor> {
  const tokenizer = await loadTokenizer(path.dirname(w.clipTokenizer));
  const clip = clipTextFrom(await readWeightFile(w.textEncoder), 'from-file');
  const length = clip.config.maxPositions;
  return (texts) => {
    const ids = Int32Array.from(texts.flatMap((t) => encodePadded(tokenizer, t, { maxLength: length })));
    return ops.toHost(ops.tidy(() => clip.forward(ops, ops.tensor(ids, [texts.length, length], 'int32'))));
  };
}

const caption = (c: string, s: string, b: string) => `a ${c} ${s} on a ${b} background`;
const at = <T>(xs: readonly T[], i: number) => xs[i % xs.length]!;

/**
 * Case i: a single-entity caption and, per kind of word, the caption with only that word changed (the next colour,
 * shape or background). `background` is the base caption's background index (the benches differ in it).
 */
export function wordPairs(i: number, background = i): { base: string; others: Record<WordKind, string> } {
  const c = at(COLOR_NAMES, i), s = at(SHAPES, i), b = at(BACKGROUND_NAMES, background);
  return {
    base: caption(c, s, b),
    others: {
      colour: caption(at(COLOR_NAMES, i + 1), s, b),
      shape: caption(c, at(SHAPES, i + 1), b),
      background: caption(c, s, at(BACKGROUND_NAMES, background + 1)),
    },
  };
}

const norm = (v: Float32Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));
/** ‖a − b‖ / ‖a‖. */
export const relDiff = (a: Float32Array, b: Float32Array): number => norm(a.map((x, i) => x - b[i]!)) / norm(a);
export const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** A bench's `--NAME N` option (default `fallback`) and the arguments left once it is taken out. */
export function countOption(args: readonly string[], name: string, fallback: number): { count: number; rest: string[] } {
  const at = args.indexOf(`--${name}`);
  if (at < 0) return { count: fallback, rest: [...args] };
  return { count: Number(args[at + 1]), rest: args.filter((_, i) => i !== at && i !== at + 1) };
}

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * What the benches comparing KOSMOS-G's condition with CLIP text start from, given their arguments
 * `[WEIGHTS_DIR [KOSMOS_G.safetensors ...]]` (default: default-model/weights and its kosmos-g.safetensors).
 */
export async function conditionBench(args: readonly string[]): Promise<{
  weights: WeightsLayout;
  kosmosFiles: string[];
  runner: Runner;
  mllmTokenizer: TextTokenizer;
  clipCondition: (text: string) => Float32Array;
}> {
  const [dirArg, ...files] = args;
  const weights = weightsLayout(path.resolve(dirArg ?? path.join(REPO_ROOT, 'default-model/weights')));
  const clip = await clipTextCondition(await createTfjsOps(), weights);
  return {
    weights,
    kosmosFiles: files.length ? files.map((f) => path.resolve(f)) : [weights.kosmosG],
    runner: await getRunner('tfjs'),
    mllmTokenizer: await loadTokenizer(path.dirname(weights.tokenizer)),
    clipCondition: (text) => clip([text]).data as Float32Array,
  };
}

/**
 * Each picture's features at three points of KOSMOS-G's image path — the CLIP vision tokens, the resampler's
 * latents, and the aligned condition of a one-image prompt — flattened, one row per point, for read-out benches
 * (subject-path.ts, scene-path.ts).
 */
export async function imagePathFeatures(
  runner: Runner,
  model: KosmosG,
  prompt: PromptSequence,
  pictures: readonly ImageValue[],
): Promise<{ point: string; features: Float32Array[] }[]> {
  const vision: Float32Array[] = [], latents: Float32Array[] = [], conditions: Float32Array[] = [];
  for (const picture of pictures) {
    const tokens = await encodeImages(runner, model.visual, picture);
    const features = await resample(runner, model.connector, tokens);
    const { states, tokens: ids } = await mllmEncode(runner, model.mllm, [prompt], features);
    vision.push(tokens.data as Float32Array);
    latents.push(features.data as Float32Array);
    conditions.push((await alignerEncode(runner, model.aligner, states, ids, model.mllm.config.padIdx)).data as Float32Array);
  }
  return [
    { point: 'CLIP vision tokens', features: vision },
    { point: 'resampler latents', features: latents },
    { point: 'aligned condition', features: conditions },
  ];
}
