// Does stage 1's captioner see what an edit's scene holds? Teacher-forced on "<image> caption" of two-entity scenes
// (as the held-out edits lay them out), of one-entity scenes and of subject pictures (as subject prompts show them):
// at each colour, shape
// and background word of the caption, whether the MLLM's next-word guess (its LM head, the projection tied to the
// token embeddings) is that word. The first word of a pair may name either entity (captions order a pair either
// way), so either colour counts there; after it, every word is determined. Chance: 1/colours, 1/shapes,
// 1/backgrounds. Where scene-path.ts asks what a linear read-out finds in the image path, this asks the MLLM itself.
// Score it on a KOSMOS-G file whose MLLM is stage 1's: stage 2 leaves it as it is (parts/kosmos-g-stage2.safetensors),
// stage 3 trains it for conditions, not words.
//   npx tsx bench/default-model/scene-captioner.ts [WEIGHTS_DIR [KOSMOS_G.safetensors ...]] [--scenes N]
import path from 'node:path';
import { readWeightFile, kosmosGFrom } from '../../models/kosmosg/weights.ts';
import { createTfjsOps } from '../../models/backends/tfjs/index.ts';
import { buildInterleavedPrompt } from '../../models/prompt/interleaved.ts';
import { encodeImages, mllmEncode, resample } from '../../models/kosmosg/encode.ts';
import type { KosmosG } from '../../models/kosmosg/kosmosg.ts';
import type { Runner } from '../../models/runtime/runner.ts';
import type { TextTokenizer } from '../../models/tokenizers/tokenizer.ts';
import { conditionBench, countOption, REPO_ROOT } from './conditions.ts';
import { rasterToImage } from '../../default-model/generate.ts';
import { pair } from '../../models/world/eval-set.ts';
import { caption, pick, render, RELATIONS, sampleScene, subjectImage, type Scene } from '../../models/world/scene.ts';
import { BACKGROUND_NAMES, COLOR_NAMES, SHAPES } from '../../models/world/palette.ts';
import type { Raster } from '../../models/world/raster.ts';
import { Rng } from '../../models/ops/random.ts';

const { count, rest } = countOption(process.argv.slice(2), 'scenes', 150);
const { kosmosFiles, runner, mllmTokenizer } = await conditionBench(rest);
const ops = await createTfjsOps();

interface Case {
  image: Raster;
  text: string;
  /** Per slot, the caption words it checks, in the order the caption says them, and the words that count as right. */
  words: { word: string; accept: string[] }[];
}

const rng = new Rng(99);
const scenes: Case[] = Array.from({ length: count }, () => {
  const a = { color: pick(rng, COLOR_NAMES), shape: pick(rng, SHAPES) };
  let b = { color: pick(rng, COLOR_NAMES), shape: pick(rng, SHAPES) };
  // Two colours, so that the colour word said first tells which entity the caption names first.
  while (b.color === a.color) b = { color: pick(rng, COLOR_NAMES), shape: pick(rng, SHAPES) };
  const scene: Scene = pair(a, b, pick(rng, RELATIONS), pick(rng, BACKGROUND_NAMES), 64);
  const [first, second] = scene.entities as [Scene['entities'][0], Scene['entities'][0]];
  return {
    image: render(scene),
    text: caption(scene),
    words: [
      { word: first.color, accept: [first.color, second.color] },
      { word: first.shape, accept: [first.shape] },
      { word: second.color, accept: [second.color] },
      { word: second.shape, accept: [second.shape] },
      { word: scene.background, accept: [scene.background] },
    ],
  };
});
// One entity, placed and sized as the world's one-entity scenes are (2–3× a pair's entity across).
const singles: Case[] = Array.from({ length: count }, () => {
  const scene = sampleScene(rng, { size: 64, pairProbability: 0 });
  const [e] = scene.entities as [Scene['entities'][0]];
  return { image: render(scene), text: caption(scene), words: [{ word: e.color, accept: [e.color] }, { word: e.shape, accept: [e.shape] }, { word: scene.background, accept: [scene.background] }] };
});
const subjects: Case[] = Array.from({ length: count }, () => {
  const t = { color: pick(rng, COLOR_NAMES), shape: pick(rng, SHAPES) };
  return { image: subjectImage(t.shape, t.color), text: `a ${t.color} ${t.shape}`, words: [{ word: t.color, accept: [t.color] }, { word: t.shape, accept: [t.shape] }] };
});

/** The last id a word encodes to (the world's words are one id each in the word-level tokenizer). */
const idOf = (tok: TextTokenizer, word: string) => tok.encode(word).at(-1)!;

/** Per slot of the cases' words, the share the MLLM guesses right, teacher-forced on the whole caption. */
async function accuracy(model: KosmosG, run: Runner, tok: TextTokenizer, cases: readonly Case[]): Promise<number[]> {
  const hits = new Array<number>(cases[0]!.words.length).fill(0);
  for (const c of cases) {
    const built = buildInterleavedPrompt(`<i>${c.text}`, 1, tok);
    const features = await resample(run, model.connector, await encodeImages(run, model.visual, rasterToImage(c.image)));
    const { states, tokens } = await mllmEncode(run, model.mllm, [{ tokens: built.tokens, imageMask: built.imageMask }], features);
    const logits = ops.toHost(ops.tidy(() => model.mllm.logits(ops, ops.tensor(states.data as Float32Array, states.shape)))).data as Float32Array;
    const v = model.mllm.config.vocabSize;
    const guess = (p: number) => {
      const row = logits.subarray(p * v, (p + 1) * v);
      return row.indexOf(Math.max(...row));
    };
    let from = 0;
    c.words.forEach((w, slot) => {
      const p = tokens.indexOf(idOf(tok, w.word), from);
      if (p < 1) throw new Error(`scene-captioner: "${w.word}" is not in the encoded caption "${c.text}"`);
      from = p + 1;
      if (w.accept.map((x) => idOf(tok, x)).includes(guess(p - 1))) hits[slot]!++;
    });
  }
  return hits.map((n) => n / cases.length);
}

const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
console.log(`${count} two-entity scenes, ${count} one-entity scenes and ${count} subject pictures, teacher-forced: the share of each word the captioner guesses right`);
console.log(`chance: colour ${pct(1 / COLOR_NAMES.length)} (first word ${pct(2 / COLOR_NAMES.length)}), shape ${pct(1 / SHAPES.length)}, background ${pct(1 / BACKGROUND_NAMES.length)}\n`);
console.log('| KOSMOS-G | pair: first colour | first shape | second colour | second shape | background | one entity: colour | shape | background | subject: colour | shape |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const file of kosmosFiles) {
  const model = kosmosGFrom(await readWeightFile(file), 'from-file');
  const rows = [];
  for (const cases of [scenes, singles, subjects]) rows.push(...(await accuracy(model, runner, mllmTokenizer, cases)));
  console.log(`| ${path.relative(REPO_ROOT, file)} | ${rows.map(pct).join(' | ')} |`);
}
