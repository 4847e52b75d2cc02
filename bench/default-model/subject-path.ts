// Where the subject picture's shape gets lost on its way to the condition. For every colour × shape subject picture
// (the single-entity task's input), the features at three points of KOSMOS-G's image path — the CLIP vision tokens,
// the resampler's latents, and the aligned condition of "a <i> on a mint background" — and, at each point:
// how far swapping the subject's colour / shape moves them (relative L2; the CLIP text condition's word moves beside
// them, the size a condition needs), and whether the shape and colour can be read back from them by the nearest
// class mean of the other pictures (shape read leaving one colour out; colour leaving one shape out).
//   npx tsx bench/default-model/subject-path.ts [WEIGHTS_DIR [KOSMOS_G.safetensors ...]]
import path from 'node:path';
import { readWeightFile, kosmosGFrom } from '../../models/kosmosg/weights.ts';
import { buildInterleavedPrompt } from '../../models/prompt/interleaved.ts';
import { conditionBench, imagePathFeatures, mean, relDiff, REPO_ROOT } from './conditions.ts';
import { rasterToImage } from '../../default-model/generate.ts';
import { subjectImage } from '../../models/world/scene.ts';
import { COLOR_NAMES, SHAPES } from '../../models/world/palette.ts';

const { kosmosFiles, runner, mllmTokenizer, clipCondition } = await conditionBench(process.argv.slice(2));
const PROMPT = 'a <i> on a mint background';

const C = COLOR_NAMES.length, S = SHAPES.length;
const index = (c: number, s: number) => c * S + s;

/** Mean relative move of swapping one attribute (colour: c → c+1; shape: s → s+1) over every picture. */
function moves(feats: Float32Array[]): { colour: number; shape: number } {
  const colour: number[] = [], shape: number[] = [];
  for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) {
    colour.push(relDiff(feats[index(c, s)]!, feats[index((c + 1) % C, s)]!));
    shape.push(relDiff(feats[index(c, s)]!, feats[index(c, (s + 1) % S)]!));
  }
  return { colour: mean(colour), shape: mean(shape) };
}

const sqDist = (a: Float32Array, b: Float32Array) => a.reduce((acc, x, i) => acc + (x - b[i]!) ** 2, 0);
function centroid(xs: Float32Array[]): Float32Array {
  const out = new Float32Array(xs[0]!.length);
  for (const x of xs) for (let i = 0; i < x.length; i++) out[i]! += x[i]! / xs.length;
  return out;
}
/** Share of pictures whose shape (colour) is the nearest class mean built from the other colours (shapes). */
function readBack(feats: Float32Array[]): { shape: number; colour: number } {
  let shapeHits = 0, colourHits = 0;
  for (let c = 0; c < C; c++) for (let s = 0; s < S; s++) {
    const x = feats[index(c, s)]!;
    const shapeMeans = SHAPES.map((_, t) => centroid(COLOR_NAMES.flatMap((_, d) => (d === c ? [] : [feats[index(d, t)]!]))));
    const colourMeans = COLOR_NAMES.map((_, d) => centroid(SHAPES.flatMap((_, t) => (t === s ? [] : [feats[index(d, t)]!]))));
    const nearest = (ms: Float32Array[]) => ms.map((m) => sqDist(x, m)).reduce((best, d, i, ds) => (d < ds[best]! ? i : best), 0);
    if (nearest(shapeMeans) === s) shapeHits++;
    if (nearest(colourMeans) === c) colourHits++;
  }
  return { shape: shapeHits / (C * S), colour: colourHits / (C * S) };
}

const pictures = COLOR_NAMES.flatMap((color) => SHAPES.map((shape) => rasterToImage(subjectImage(shape, color, 64, 'white'))));
const clipText = COLOR_NAMES.flatMap((color) => SHAPES.map((shape) => clipCondition(`a ${color} ${shape} on a mint background`)));
const row = (name: string, feats: Float32Array[]) => {
  const m = moves(feats), r = readBack(feats);
  return `| ${name} | ${m.colour.toFixed(3)} | ${m.shape.toFixed(3)} | ${(m.shape / m.colour).toFixed(2)} | ${(100 * r.colour).toFixed(0)} % | ${(100 * r.shape).toFixed(0)} % |`;
};

console.log(`${C * S} subject pictures (${C} colours × ${S} shapes, on white); prompt "${PROMPT}"\n`);
console.log('| point of the path | colour swap moves it | shape swap moves it | shape / colour | colour read back | shape read back |');
console.log('| --- | --- | --- | --- | --- | --- |');
console.log(row('CLIP text of what the prompt means (the target)', clipText));
for (const file of kosmosFiles) {
  const model = kosmosGFrom(await readWeightFile(file), 'from-file');
  const built = buildInterleavedPrompt(PROMPT, 1, mllmTokenizer);
  const name = path.relative(REPO_ROOT, file) || file;
  for (const { point, features } of await imagePathFeatures(runner, model, { tokens: built.tokens, imageMask: built.imageMask }, pictures)) {
    console.log(row(`${name}: ${point}`, features));
  }
}
