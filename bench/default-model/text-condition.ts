// How much each kind of word changes the small CLIP text encoder's condition (its whole [L, D] output): the relative
// L2 difference between captions that differ in one word — colour, shape, background — averaged over the world's
// words. A text encoder that barely moves for a word gives the U-Net nothing to follow for it (docs/default-model.md).
//   npx tsx bench/default-model/text-condition.ts [WEIGHTS_DIR ...]   (default: default-model/weights)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTfjsOps } from '../../models/backends/tfjs/index.ts';
import { weightsLayout } from '../../default-model/layout.ts';
import { clipTextCondition, mean, relDiff, WORD_KINDS, wordPairs, type WordKind } from './conditions.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dirs = process.argv.slice(2).length ? process.argv.slice(2) : [path.join(root, 'default-model/weights')];
const ops = await createTfjsOps();

console.log('| weights | colour word | shape word | background word |');
console.log('| --- | --- | --- | --- |');
for (const dir of dirs) {
  const clip = await clipTextCondition(ops, weightsLayout(path.resolve(dir)));
  const encode = (text: string) => clip([text]).data as Float32Array;
  const moves = (kind: WordKind) =>
    mean(Array.from({ length: 6 }, (_, i) => {
      const { base, others } = wordPairs(i);
      return relDiff(encode(base), encode(others[kind]));
    })).toFixed(3);
  console.log(`| ${path.relative(root, dir) || dir} | ${WORD_KINDS.map(moves).join(' | ')} |`);
}
