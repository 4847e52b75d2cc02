// How much each kind of word changes the small CLIP text encoder's condition (its whole [L, D] output): the relative
// L2 difference between captions that differ in one word — colour, shape, background — averaged over the world's
// words. A text encoder that barely moves for a word gives the U-Net nothing to follow for it (docs/default-model.md).
//   npx tsx bench/default-model/text-condition.ts [WEIGHTS_DIR ...]   (default: models/default/weights)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTfjsOps } from '../../models/backends/tfjs/index.ts';
import { readWeightFile, clipTextFrom } from '../../models/kosmosg/weights.ts';
import { loadTokenizer } from '../../models/tokenizers/load.ts';
import { encodePadded } from '../../models/tokenizers/tokenizer.ts';
import { weightsLayout } from '../../models/default/layout.ts';
import { BACKGROUND_NAMES, COLOR_NAMES, SHAPES } from '../../models/world/palette.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dirs = process.argv.slice(2).length ? process.argv.slice(2) : [path.join(root, 'models/default/weights')];
const ops = await createTfjsOps();

const norm = (v: Float32Array) => Math.sqrt(v.reduce((a, x) => a + x * x, 0));
const relDiff = (a: Float32Array, b: Float32Array) => norm(a.map((x, i) => x - b[i]!)) / norm(a);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

console.log('| weights | colour word | shape word | background word |');
console.log('| --- | --- | --- | --- |');
for (const dir of dirs) {
  const w = weightsLayout(path.resolve(dir));
  const tokenizer = await loadTokenizer(path.dirname(w.clipTokenizer));
  const clip = clipTextFrom(await readWeightFile(w.textEncoder), 'from-file');
  const length = clip.config.maxPositions;
  const encode = (text: string) =>
    ops.toHost(ops.tidy(() => clip.forward(ops, ops.tensor(Int32Array.from(encodePadded(tokenizer, text, { maxLength: length })), [1, length], 'int32')))).data as Float32Array;
  const caption = (c: string, s: string, b: string) => `a ${c} ${s} on a ${b} background`;
  const pairs = (vary: 'colour' | 'shape' | 'background') => {
    const out: number[] = [];
    for (let i = 0; i < 6; i++) {
      const c = COLOR_NAMES[i % COLOR_NAMES.length]!, s = SHAPES[i % SHAPES.length]!, b = BACKGROUND_NAMES[i % BACKGROUND_NAMES.length]!;
      const base = encode(caption(c, s, b));
      const other =
        vary === 'colour' ? caption(COLOR_NAMES[(i + 1) % COLOR_NAMES.length]!, s, b)
        : vary === 'shape' ? caption(c, SHAPES[(i + 1) % SHAPES.length]!, b)
        : caption(c, s, BACKGROUND_NAMES[(i + 1) % BACKGROUND_NAMES.length]!);
      out.push(relDiff(base, encode(other)));
    }
    return mean(out).toFixed(3);
  };
  console.log(`| ${path.relative(root, dir) || dir} | ${pairs('colour')} | ${pairs('shape')} | ${pairs('background')} |`);
}
