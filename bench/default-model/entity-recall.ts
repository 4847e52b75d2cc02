// The U-Net alone, through its own CLIP text condition, scored per entity — finer than the harness's pass/fail, so
// two U-Nets (or two recipes) can be told apart on a few dozen captions (bench/default-model/recall.ts).
//   npx tsx bench/default-model/entity-recall.ts [WEIGHTS_DIR ...] [--per-split N]   (default: shipped weights, 24)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { entityRecall, recallCaptions, recallRow, RECALL_HEADER } from './recall.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
const at = argv.indexOf('--per-split');
const perSplit = at >= 0 ? Number(argv.splice(at, 2)[1]) : 24;
const dirs = argv.length ? argv : [path.join(root, 'default-model/weights')];
const items = recallCaptions(perSplit);

console.log(`U-Net through CLIP text, ${items.length} captions (${perSplit} seen + ${perSplit} held-out triples), 25 DPM-Solver++ steps, guidance 5:`);
console.log(`| weights ${RECALL_HEADER}`);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const dir of dirs) console.log(`| ${path.relative(root, dir) || dir} ${recallRow(await entityRecall(path.resolve(dir), items))}`);
