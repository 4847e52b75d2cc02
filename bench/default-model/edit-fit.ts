// Where an edit's condition misses the edited scene: on the held-out edits and on edit rows the model trained on,
// split into one-entity scenes and pairs. Each prompt is "<i> instruction" with the scene as a picture only (as the
// held-out edits ask), against the CLIP text condition of the edited scene's caption in reading order (stage 3's
// alignment target, default-model/edit-meanings.ts). Training rows missed as much as held-out ones say the model does
// not fit edits (steps, capacity); training rows met say it does not generalise (data).
//   npx tsx bench/default-model/edit-fit.ts [WEIGHTS_DIR [KOSMOS_G.safetensors ...]] --edits WORK/world/edits.jsonl [--rows N]
//   (WORK: train-default's --work folder, whose world data the model trained on; default 48 rows)
import path from 'node:path';
import { readWeightFile, kosmosGFrom } from '../../models/kosmosg/weights.ts';
import { buildInterleavedPrompt } from '../../models/prompt/interleaved.ts';
import { encodeKosmosG } from '../../models/kosmosg/encode.ts';
import { readEditTriples } from '../../models/data/datasets.ts';
import { loadImage } from '../../models/data/images.ts';
import type { ImageValue } from '../../models/image.ts';
import { conditionBench, countOption, mean, relDiff, REPO_ROOT } from './conditions.ts';
import { rasterToImage } from '../../default-model/generate.ts';
import { caption } from '../../models/world/scene.ts';
import { parseCaption, readingOrder } from '../../models/world/heldout.ts';
import { buildEvalSet } from '../../models/world/eval-set.ts';
import { DEFAULT_IMAGE_SIZE } from '../../default-model/config.ts';

const argv = process.argv.slice(2);
const at = argv.indexOf('--edits');
if (at < 0 || !argv[at + 1]) {
  console.error('edit-fit: --edits WORK/world/edits.jsonl is required (the edit rows the model trained on)');
  process.exit(2);
}
const editsFile = path.resolve(argv[at + 1]!);
const { count: rowCount, rest } = countOption([...argv.slice(0, at), ...argv.slice(at + 2)], 'rows', 48);
const { kosmosFiles, runner, mllmTokenizer, clipCondition } = await conditionBench(rest);

interface EditCase {
  prompt: string;
  picture: ImageValue;
  /** The edited scene's caption, reading order. */
  meaning: string;
}
const isPair = (caption: string) => (parseCaption(caption)?.things.length ?? 0) > 1;

const heldOut: EditCase[] = buildEvalSet({ perTask: 24 })
  .filter((i) => i.task === 'edit')
  .map((i) => ({ prompt: i.prompt, picture: rasterToImage(i.images[0]!), meaning: readingOrder(caption(i.target)) }));
const training: EditCase[] = [];
for (const row of readEditTriples(editsFile).rows.slice(0, rowCount)) {
  if (!row.meaning) {
    console.error(`edit-fit: ${editsFile}:${row.line}: no "meaning" (train-default writes it before stage 3)`);
    process.exit(2);
  }
  const size = DEFAULT_IMAGE_SIZE;
  const data = await loadImage(row.pairs[0]!.input, size, `${editsFile}:${row.line}`);
  training.push({ prompt: `<i> ${row.instruction}`, picture: { data, batch: 1, channels: 3, height: size, width: size }, meaning: row.meaning });
}

console.log(`Edit condition error vs the CLIP text of the edited scene (reading order); held-out: ${heldOut.length} edits, training rows: ${training.length} of ${editsFile}\n`);
console.log('| KOSMOS-G | held-out: one entity | pairs | all | training rows: one entity | pairs | all |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const file of kosmosFiles) {
  const model = kosmosGFrom(await readWeightFile(file), 'from-file');
  const errors = async (cases: EditCase[]) => {
    const one: number[] = [], pairs: number[] = [];
    for (const c of cases) {
      const built = buildInterleavedPrompt(c.prompt, 1, mllmTokenizer);
      const cond = (await encodeKosmosG(runner, model, [{ tokens: built.tokens, imageMask: built.imageMask }], [c.picture])).data as Float32Array;
      (isPair(c.meaning) ? pairs : one).push(relDiff(clipCondition(c.meaning), cond));
    }
    const cell = (xs: number[]) => (xs.length ? `${mean(xs).toFixed(3)} (${xs.length})` : '–');
    return [cell(one), cell(pairs), cell([...one, ...pairs])];
  };
  console.log(`| ${path.relative(REPO_ROOT, file) || file} | ${[...(await errors(heldOut)), ...(await errors(training))].join(' | ')} |`);
}
