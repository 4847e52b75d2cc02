// How much of a whole scene (the picture an edit starts from) KOSMOS-G's image path carries: two-entity scenes laid
// out as the held-out edits lay them out (one left of the other), and, at the CLIP vision tokens, the resampler's
// latents and the aligned condition of "<i>", whether each entity's colour and shape and the background can be read
// back linearly (ridge regression fitted on half the scenes, the other half tested). Chance: 1/colours, 1/shapes,
// 1/backgrounds. The edit needs all five to describe the edited scene; subject-path.ts asks the same of one subject.
//   npx tsx bench/default-model/scene-path.ts [WEIGHTS_DIR [KOSMOS_G.safetensors ...]] [--scenes N]
import path from 'node:path';
import { readWeightFile, kosmosGFrom } from '../../models/kosmosg/weights.ts';
import { buildInterleavedPrompt } from '../../models/prompt/interleaved.ts';
import { conditionBench, countOption, imagePathFeatures, REPO_ROOT } from './conditions.ts';
import { rasterToImage } from '../../default-model/generate.ts';
import { pair } from '../../models/world/eval-set.ts';
import { render, pick } from '../../models/world/scene.ts';
import { BACKGROUND_NAMES, COLOR_NAMES, SHAPES } from '../../models/world/palette.ts';
import { Rng } from '../../models/ops/random.ts';

const { count, rest } = countOption(process.argv.slice(2), 'scenes', 600);
const { kosmosFiles, runner, mllmTokenizer } = await conditionBench(rest);

const ATTRIBUTES = ['left colour', 'left shape', 'right colour', 'right shape', 'background'] as const;
const rng = new Rng(2024);
const scenes = Array.from({ length: count }, () => {
  const a = { color: pick(rng, COLOR_NAMES), shape: pick(rng, SHAPES) };
  let b = { color: pick(rng, COLOR_NAMES), shape: pick(rng, SHAPES) };
  while (b.color === a.color && b.shape === a.shape) b = { color: pick(rng, COLOR_NAMES), shape: pick(rng, SHAPES) };
  const background = pick(rng, BACKGROUND_NAMES);
  // One relation, so that "first" is a place (left) and a linear read-out can find it; which relation does not matter
  // to what the path keeps.
  const scene = pair(a, b, 'left of', background, 64);
  return {
    image: rasterToImage(render(scene)),
    labels: [COLOR_NAMES.indexOf(a.color), SHAPES.indexOf(a.shape), COLOR_NAMES.indexOf(b.color), SHAPES.indexOf(b.shape), BACKGROUND_NAMES.indexOf(background)],
  };
});
const classes = [COLOR_NAMES.length, SHAPES.length, COLOR_NAMES.length, SHAPES.length, BACKGROUND_NAMES.length];

/**
 * Per attribute: the share of the test half whose label a linear read-out of the features gets right — ridge
 * regression onto the one-hot labels, fitted on the training half (in its dual form: n × n, whatever the width).
 */
function readBack(feats: Float32Array[]): number[] {
  const half = Math.floor(feats.length / 2);
  const dim = feats[0]!.length;
  const centre = new Float64Array(dim);
  for (let i = 0; i < half; i++) feats[i]!.forEach((x, j) => (centre[j]! += x / half));
  const xs = feats.map((f) => Float64Array.from(f, (x, j) => x - centre[j]!));
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((acc, x, j) => acc + x * b[j]!, 0);
  const gram = Array.from({ length: half }, (_, i) => Array.from({ length: half }, (_, j) => dot(xs[i]!, xs[j]!)));
  const trace = gram.reduce((acc, r, i) => acc + r[i]!, 0);
  const solve = solver(gram, (1e-2 * trace) / half);
  const cross = xs.slice(half).map((x) => xs.slice(0, half).map((t) => dot(x, t)));
  return ATTRIBUTES.map((_, k) => {
    const alpha = Array.from({ length: classes[k]! }, (_, c) => solve(scenes.slice(0, half).map((s) => (s.labels[k] === c ? 1 : 0))));
    let hits = 0;
    cross.forEach((row, i) => {
      const scores = alpha.map((a) => row.reduce((acc, x, j) => acc + x * a[j]!, 0));
      if (scores.indexOf(Math.max(...scores)) === scenes[half + i]!.labels[k]) hits++;
    });
    return hits / cross.length;
  });
}

/** Solves (K + λI) a = y for many y, by one Cholesky factorisation. */
function solver(k: number[][], lambda: number): (y: number[]) => number[] {
  const n = k.length;
  const l = Array.from({ length: n }, () => new Float64Array(n));
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let sum = k[i]![j]! + (i === j ? lambda : 0);
      for (let p = 0; p < j; p++) sum -= l[i]![p]! * l[j]![p]!;
      l[i]![j] = i === j ? Math.sqrt(sum) : sum / l[j]![j]!;
    }
  return (y) => {
    const z = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let sum = y[i]!;
      for (let p = 0; p < i; p++) sum -= l[i]![p]! * z[p]!;
      z[i] = sum / l[i]![i]!;
    }
    const a = new Array<number>(n).fill(0);
    for (let i = n - 1; i >= 0; i--) {
      let sum = z[i]!;
      for (let p = i + 1; p < n; p++) sum -= l[p]![i]! * a[p]!;
      a[i] = sum / l[i]![i]!;
    }
    return a;
  };
}

const row = (name: string, feats: Float32Array[]) => `| ${name} | ${readBack(feats).map((r) => `${(100 * r).toFixed(0)} %`).join(' | ')} |`;
console.log(`${count} two-entity scenes (ridge read-out fitted on half, tested on the other half); chance ${classes.map((c) => `${(100 / c).toFixed(0)} %`).join(' / ')}\n`);
console.log(`| point of the path | ${ATTRIBUTES.join(' | ')} |`);
console.log(`| --- | ${ATTRIBUTES.map(() => '---').join(' | ')} |`);
console.log(row('the picture (64 px RGB)', scenes.map((s) => s.image.data as Float32Array)));
const built = buildInterleavedPrompt('<i>', 1, mllmTokenizer);
for (const file of kosmosFiles) {
  const model = kosmosGFrom(await readWeightFile(file), 'from-file');
  const name = path.relative(REPO_ROOT, file) || file;
  const pictures = scenes.map((s) => s.image);
  for (const { point, features } of await imagePathFeatures(runner, model, { tokens: built.tokens, imageMask: built.imageMask }, pictures)) {
    console.log(row(`${name}: ${point}${point === 'aligned condition' ? ' of "<i>"' : ''}`, features));
  }
}
