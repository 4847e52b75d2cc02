// How much of the CLIP text condition survives in KOSMOS-G's aligned one (MLLM → AlignerNet-M) on text-only prompts:
// the relative L2 error between the two on world captions, and how far one word (colour, shape, background) moves
// each. Stage 2 aligns M to the CLIP text encoder; stage 3 then trains through the frozen U-Net, and where that U-Net
// follows its condition loosely the diffusion loss can wash the words out of M's output (docs/default-model.md).
// A second table: per task of the held-out set, how far the condition of its prompts (images included) is from the
// CLIP text condition of the scene each asks for.
//   npx tsx bench/default-model/aligned-condition.ts [WEIGHTS_DIR [KOSMOS_G.safetensors ...]]
//   (default: default-model/weights and its kosmos-g.safetensors; further files, e.g. the stage-2 model
//   data/train-default/parts/kosmos-g-stage2.safetensors, are compared with the same CLIP text encoder)
import path from 'node:path';
import { readWeightFile, kosmosGFrom } from '../../models/kosmosg/weights.ts';
import { buildInterleavedPrompt } from '../../models/prompt/interleaved.ts';
import { encodeKosmosG } from '../../models/kosmosg/encode.ts';
import { conditionBench, mean, relDiff, REPO_ROOT, WORD_KINDS, wordPairs, type WordKind } from './conditions.ts';
import { rasterToImage } from '../../default-model/generate.ts';
import { caption, subjectImage } from '../../models/world/scene.ts';
import { COLOR_NAMES, SHAPES, BACKGROUND_NAMES } from '../../models/world/palette.ts';
import { buildEvalSet } from '../../models/world/eval-set.ts';

const { kosmosFiles, runner, mllmTokenizer, clipCondition } = await conditionBench(process.argv.slice(2));
const root = REPO_ROOT;
const CASES = 6;

const taskErrors: string[] = [];
console.log('| KOSMOS-G | rel. L2 error vs CLIP text | colour word moves: CLIP text / aligned | shape word | background word | subject prompt: error vs CLIP text of what it means | subject swap moves it (CLIP text / aligned) | null condition ("", guidance\'s other side): error vs CLIP text |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const file of kosmosFiles) {
  const model = kosmosGFrom(await readWeightFile(file), 'from-file');
  const aligned = async (text: string) => {
    const built = buildInterleavedPrompt(text, 0, mllmTokenizer);
    return (await encodeKosmosG(runner, model, [{ tokens: built.tokens, imageMask: built.imageMask }])).data as Float32Array;
  };
  const error: number[] = [];
  const moves = new Map<WordKind, [number[], number[]]>(WORD_KINDS.map((k) => [k, [[], []]]));
  for (let i = 0; i < CASES; i++) {
    const { base, others } = wordPairs(i, i + 2);
    const [clipBase, alignedBase] = [clipCondition(base), await aligned(base)];
    error.push(relDiff(clipBase, alignedBase));
    for (const kind of WORD_KINDS) {
      moves.get(kind)![0].push(relDiff(clipBase, clipCondition(others[kind])));
      moves.get(kind)![1].push(relDiff(alignedBase, await aligned(others[kind])));
    }
  }
  // Subject-driven prompts: "a <i> on a mint background" with a subject's picture, against the CLIP text condition of
  // what it means ("a red circle on a mint background"); and how far swapping the subject moves each.
  const subjectError: number[] = [];
  const subjectMoves: [number[], number[]] = [[], []];
  const subject = async (c: number, sh: number, bg: number) => {
    const color = COLOR_NAMES[c % COLOR_NAMES.length]!, shape = SHAPES[sh % SHAPES.length]!, background = BACKGROUND_NAMES[bg % BACKGROUND_NAMES.length]!;
    const built = buildInterleavedPrompt(`a <i> on a ${background} background`, 1, mllmTokenizer);
    const cond = (await encodeKosmosG(runner, model, [{ tokens: built.tokens, imageMask: built.imageMask }], [rasterToImage(subjectImage(shape, color, 64, 'white'))])).data as Float32Array;
    return { cond, clip: clipCondition(`a ${color} ${shape} on a ${background} background`) };
  };
  for (let i = 0; i < CASES; i++) {
    const a = await subject(i, i, i + 1);
    const b = await subject(i + 1, i + 2, i + 1);
    subjectError.push(relDiff(a.clip, a.cond));
    subjectMoves[0].push(relDiff(a.clip, b.clip));
    subjectMoves[1].push(relDiff(a.cond, b.cond));
  }
  // Classifier-free guidance steers away from the null condition: KOSMOS-G's null should be the U-Net's CLIP("").
  const nullError = relDiff(clipCondition(''), await aligned(''));
  const cell = (k: WordKind) => moves.get(k)!.map((xs) => mean(xs).toFixed(3)).join(' / ');
  console.log(
    `| ${path.relative(root, file) || file} | ${mean(error).toFixed(3)} | ${WORD_KINDS.map(cell).join(' | ')} | ${mean(subjectError).toFixed(3)} | ${subjectMoves.map((xs) => mean(xs).toFixed(3)).join(' / ')} | ${nullError.toFixed(3)} |`,
  );
  // The held-out prompts of each task (96 items): the condition against the CLIP text of the scene the item asks for.
  const errors: string[] = [];
  const evalItems = buildEvalSet({ perTask: 24 });
  for (const task of ['single', 'multi', 'text', 'edit'] as const) {
    const e: number[] = [];
    for (const item of evalItems.filter((i) => i.task === task)) {
      const built = buildInterleavedPrompt(item.prompt, item.images.length, mllmTokenizer);
      const cond = (await encodeKosmosG(runner, model, [{ tokens: built.tokens, imageMask: built.imageMask }], item.images.map(rasterToImage))).data as Float32Array;
      e.push(relDiff(clipCondition(caption(item.target)), cond));
    }
    errors.push(mean(e).toFixed(3));
  }
  taskErrors.push(`| ${path.relative(root, file) || file} | ${errors.join(' | ')} |`);
}
console.log('\nHeld-out prompts (24 per task): rel. L2 error of the condition vs the CLIP text condition of the scene each asks for\n');
console.log('| KOSMOS-G | single entity | multi entity | text-to-image | editing |');
console.log('| --- | --- | --- | --- | --- |');
for (const row of taskErrors) console.log(row);
