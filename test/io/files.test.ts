import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic, writeFileAtomicSync } from '../../models/io/atomic.ts';
import { bfloatsToFloats, floatToHalf, floatsToHalves, halfToFloat, halvesToFloats } from '../../models/io/float16.ts';
import { buildWordTokenizer, saveWordTokenizer } from '../../models/tokenizers/word-tokenizer.ts';
import { saveTorchCheckpoint } from '../../models/io/pytorch/writer.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'kg-files-'));

test('atomic writes replace the target and leave no temp file', async () => {
  const file = path.join(dir, 'a.txt');
  writeFileAtomicSync(file, 'one');
  await writeFileAtomic(file, new TextEncoder().encode('two'));
  assert.equal(readFileSync(file, 'utf8'), 'two');
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('a.txt')), ['a.txt']);
});

test('a failed atomic write throws and removes its temp file (sync, async, and the writers built on it)', async () => {
  const sub = path.join(dir, 'fail');
  mkdirSync(sub);
  // A folder where the file should go: the rename fails after the temp file was written.
  const blocked = path.join(sub, 'blocked');
  mkdirSync(blocked);
  assert.throws(() => writeFileAtomicSync(blocked, 'x'));
  await assert.rejects(writeFileAtomic(blocked, 'x'));
  assert.throws(() => saveWordTokenizer(blocked, buildWordTokenizer(['a red cube'], { maxLength: 8 })));
  assert.throws(() => saveTorchCheckpoint(blocked, { w: { data: new Float32Array([1]), shape: [1], dtype: 'float32' } }));
  assert.deepEqual(readdirSync(sub), ['blocked']);
});

test('float16: exact for every half, rounds to nearest even, overflows to Infinity; bfloat16 is the top half', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const values = halvesToFloats(all);
  const back = floatsToHalves(values, 'float16');
  for (let h = 0; h < 65536; h++) {
    if (Number.isNaN(values[h])) assert.ok(Number.isNaN(halfToFloat(back[h]!)));
    else assert.equal(back[h], h);
  }
  assert.equal(halfToFloat(floatToHalf(1 + 2 ** -11)), 1); // a tie goes to the even mantissa
  assert.equal(halfToFloat(floatToHalf(1 + 3 * 2 ** -11)), 1 + 2 ** -9);
  assert.equal(halfToFloat(floatToHalf(65520)), Infinity);
  assert.equal(halfToFloat(floatToHalf(65519)), 65504);
  assert.deepEqual([...bfloatsToFloats(floatsToHalves([1.5, -2, 3.0078125], 'bfloat16'))], [1.5, -2, 3]);
});
