// How much of the CLIP text condition survives in KOSMOS-G's aligned one (MLLM → AlignerNet-M) on text-only prompts:
// the relative L2 error between the two on world captions, and how far one word (colour, shape, background) moves
// each. Stage 2 aligns M to the CLIP text encoder; stage 3 then trains through the frozen U-Net, and where that U-Net
// follows its condition loosely the diffusion loss can wash the words out of M's output (docs/default-model.md).
//   npx tsx bench/default-model/aligned-condition.ts [WEIGHTS_DIR [KOSMOS_G.safetensors ...]]
//   (default: models/default/weights and its kosmos-g.safetensors; further files, e.g. the stage-2 model
//   data/train-default/parts/kosmos-g-stage2.safetensors, are compared with the same CLIP text encoder)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTfjsOps } from '../../models/backends/tfjs/index.ts';
import { getRunner } from '../../models/runtime/runners.ts';
import { loadTokenizer } from '../../models/tokenizers/load.ts';
import { encodePadded } from '../../models/tokenizers/tokenizer.ts';
import { readWeightFile, clipTextFrom, kosmosGFrom } from '../../models/kosmosg/weights.ts';
import { weightsLayout } from '../../models/default/layout.ts';
import { buildInterleavedPrompt } from '../../models/prompt/interleaved.ts';
import { encodeKosmosG } from '../../models/kosmosg/encode.ts';
import { BACKGROUND_NAMES, COLOR_NAMES, SHAPES } from '../../models/world/palette.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const [dirArg, ...files] = process.argv.slice(2);
const w = weightsLayout(path.resolve(dirArg ?? path.join(root, 'models/default/weights')));
const kosmosFiles = files.length ? files.map((f) => path.resolve(f)) : [w.kosmosG];
const ops = await createTfjsOps();
const runner = await getRunner('tfjs');

const clipTokenizer = await loadTokenizer(path.dirname(w.clipTokenizer));
const mllmTokenizer = await loadTokenizer(path.dirname(w.tokenizer));
const clip = clipTextFrom(await readWeightFile(w.textEncoder), 'from-file');
const L = clip.config.maxPositions;
const clipCondition = (text: string) =>
  ops.toHost(ops.tidy(() => clip.forward(ops, ops.tensor(Int32Array.from(encodePadded(clipTokenizer, text, { maxLength: L })), [1, L], 'int32')))).data as Float32Array;

const norm = (v: Float32Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));
const relDiff = (a: Float32Array, b: Float32Array) => norm(a.map((x, i) => x - b[i]!)) / norm(a);
const mean = (xs: number[]) => (xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(3);
const caption = (c: string, s: string, b: string) => `a ${c} ${s} on a ${b} background`;
const CASES = 6;

console.log('| KOSMOS-G | rel. L2 error vs CLIP text | colour word moves: CLIP text / aligned | shape word | background word |');
console.log('| --- | --- | --- | --- | --- |');
for (const file of kosmosFiles) {
  const model = kosmosGFrom(await readWeightFile(file), 'from-file');
  const aligned = async (text: string) => {
    const built = buildInterleavedPrompt(text, 0, mllmTokenizer);
    return (await encodeKosmosG(runner, model, [{ tokens: built.tokens, imageMask: built.imageMask }])).data as Float32Array;
  };
  const error: number[] = [];
  const moves = { colour: [[], []], shape: [[], []], background: [[], []] } as Record<string, [number[], number[]]>;
  for (let i = 0; i < CASES; i++) {
    const c = COLOR_NAMES[i % COLOR_NAMES.length]!, s = SHAPES[i % SHAPES.length]!, b = BACKGROUND_NAMES[(i + 2) % BACKGROUND_NAMES.length]!;
    const base = caption(c, s, b);
    const [clipBase, alignedBase] = [clipCondition(base), await aligned(base)];
    error.push(relDiff(clipBase, alignedBase));
    const others = {
      colour: caption(COLOR_NAMES[(i + 1) % COLOR_NAMES.length]!, s, b),
      shape: caption(c, SHAPES[(i + 1) % SHAPES.length]!, b),
      background: caption(c, s, BACKGROUND_NAMES[(i + 3) % BACKGROUND_NAMES.length]!),
    };
    for (const [kind, other] of Object.entries(others)) {
      moves[kind]![0].push(relDiff(clipBase, clipCondition(other)));
      moves[kind]![1].push(relDiff(alignedBase, await aligned(other)));
    }
  }
  const cell = (k: string) => `${mean(moves[k]![0])} / ${mean(moves[k]![1])}`;
  console.log(`| ${path.relative(root, file) || file} | ${mean(error)} | ${cell('colour')} | ${cell('shape')} | ${cell('background')} |`);
}
