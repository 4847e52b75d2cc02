import test from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { readCaptions, readCompositional, readEditTriples, readImageCaptions } from '../../models/data/datasets.ts';
import { loadImage } from '../../models/data/images.ts';
import { batchIndices } from '../../models/data/batching.ts';
import { DataError } from '../../models/data/errors.ts';
import { solidPng, tempDir, writePng } from './fixtures.ts';

test('captions: JSONL and TSV, bad rows skipped and counted with their line numbers', () => {
  const dir = tempDir();
  const jsonl = path.join(dir, 'c.jsonl');
  writeFileSync(jsonl, ['{"caption":"a red cube"}', '{oops', '', '{"text":"a blue ball"}', '{"caption":""}', '[1]'].join('\n'));
  const d = readCaptions(jsonl);
  assert.deepEqual(d.rows.map((r) => [r.line, r.caption]), [[1, 'a red cube'], [4, 'a blue ball']]);
  assert.deepEqual(d.report.skipped.map((s) => s.line), [2, 5, 6]);
  assert.equal(d.report.kept, 2);
  const tsv = path.join(dir, 'c.tsv');
  writeFileSync(tsv, 'one cat\textra\n\tonly a second column\ntwo dogs\n');
  assert.deepEqual(readCaptions(tsv).rows.map((r) => r.caption), ['one cat', 'two dogs']);
  assert.deepEqual(readCaptions(tsv).report.skipped, [{ line: 2, reason: 'empty caption' }]);
});

test('missing, unknown and empty datasets are errors with codes', () => {
  const dir = tempDir();
  assert.throws(() => readCaptions(path.join(dir, 'nope.jsonl')), (e: DataError) => e.code === 'DATA_NOT_FOUND');
  writeFileSync(path.join(dir, 'x.csv'), 'a');
  assert.throws(() => readCaptions(path.join(dir, 'x.csv')), (e: DataError) => e.code === 'DATA_FORMAT');
  writeFileSync(path.join(dir, 'e.jsonl'), '{"nope":1}\n');
  assert.throws(() => readCaptions(path.join(dir, 'e.jsonl')), (e: DataError) => e.code === 'DATA_EMPTY' && /line 1/.test(e.message));
});

test('image captions from a folder and from JSONL; images resized and centre-cropped to NCHW [0,1]', async () => {
  const dir = tempDir();
  await writePng(dir, 'a.png', [255, 0, 0]);
  writeFileSync(path.join(dir, 'a.txt'), 'a red square\n');
  await writePng(dir, 'b.png', [0, 0, 255]); // no caption file → skipped
  const folder = readImageCaptions(dir);
  assert.equal(folder.rows.length, 1);
  assert.equal(folder.report.skipped.length, 1);
  const img = await loadImage(folder.rows[0]!.image, 4, 'test');
  assert.equal(img.length, 3 * 16);
  assert.ok(Math.abs(img[0]! - 1) < 0.01 && img[16]! < 0.01 && img[32]! < 0.01);
  const jsonl = path.join(dir, 'pairs.jsonl');
  writeFileSync(jsonl, '{"image":"a.png","caption":"red"}\n{"image":"missing.png","caption":"x"}\n');
  const d = readImageCaptions(jsonl);
  assert.equal(d.rows.length, 1);
  assert.equal(d.report.skipped[0]!.line, 2);
  assert.match(d.report.skipped[0]!.reason, /not found/);
});

test('loadImage keeps decoded pictures, and decodes a file replaced at the same path again', async () => {
  const dir = tempDir();
  const file = await writePng(dir, 'p.png', [255, 0, 0]);
  const first = await loadImage({ path: file }, 4, 'test');
  assert.deepEqual(await loadImage({ path: file }, 4, 'test'), first);
  assert.ok(Math.abs(first[0]! - 1) < 0.01 && first[16]! < 0.01);
  // Another size of the same file is its own entry.
  assert.equal((await loadImage({ path: file }, 2, 'test')).length, 3 * 4);
  // Rewritten in place (new content, new modification time / size): the new picture, not the kept one.
  writeFileSync(file, await solidPng(0, 0, 255, 10, 6));
  const second = await loadImage({ path: file }, 4, 'test');
  assert.ok(second[0]! < 0.01 && Math.abs(second[32]! - 1) < 0.01, `${second[0]} ${second[32]}`);
});

test('compositional TSV with base64 PNG columns (§1.10) and JSONL with paths', async () => {
  const dir = tempDir();
  const b64 = async (r: number, g: number, b: number) => (await solidPng(r, g, b, 80, 80)).toString('base64');
  const full = await b64(10, 20, 30), crop = await b64(200, 0, 0), masked = await b64(255, 255, 255);
  const tsv = path.join(dir, 'comp.tsv');
  writeFileSync(tsv, [`a dog on a sofa\tdog\t${full}\t${crop}\t${masked}`, `a cat\tcat\t${full}\t${crop}`, `bad\tx\tnot-an-image!!\t${crop}\t${masked}`].join('\n'));
  const d = readCompositional(tsv);
  assert.equal(d.rows.length, 1);
  assert.deepEqual(d.report.skipped.map((s) => s.line), [2, 3]);
  assert.equal(d.rows[0]!.entities[0]!.tag, 'dog');
  const px = await loadImage(d.rows[0]!.entities[0]!.masked, 2, 'test');
  assert.ok(px.every((v) => v > 0.99));
  await writePng(dir, 'f.png', [1, 2, 3]);
  const jsonl = path.join(dir, 'comp.jsonl');
  writeFileSync(jsonl, '{"caption":"a dog","image":"f.png","entities":[{"tag":"dog","crop":"f.png","masked":"f.png"}]}\n{"caption":"x","image":"f.png","entities":[{"tag":"x"}]}\n');
  const j = readCompositional(jsonl);
  assert.equal(j.rows.length, 1);
  assert.equal(j.report.skipped[0]!.line, 2);
});

test('edit triples: JSONL and TSV with several seed pairs', async () => {
  const dir = tempDir();
  await writePng(dir, 'in.png', [0, 0, 0]);
  await writePng(dir, 'out.png', [9, 9, 9]);
  const jsonl = path.join(dir, 'edit.jsonl');
  writeFileSync(
    jsonl,
    '{"input_caption":"a cat","instruction":"make it a dog","input_image":"in.png","edited_image":"out.png","meaning":"a dog"}\n{"input_caption":"a cat"}\n' +
      '{"input_caption":"a cat","instruction":"make it red","input_image":"in.png","edited_image":"out.png"}\n',
  );
  const d = readEditTriples(jsonl);
  assert.equal(d.rows[0]!.instruction, 'make it a dog');
  assert.deepEqual(d.rows.map((r) => r.meaning), ['a dog', undefined], 'the edited picture\'s caption where the row has one');
  assert.equal(d.report.skipped[0]!.line, 2);
  const tsv = path.join(dir, 'edit.tsv');
  writeFileSync(tsv, 'a cat\tmake it blue\tin.png\tout.png\tout.png\tin.png\n');
  assert.equal(readEditTriples(tsv).rows[0]!.pairs.length, 2);
});

test('seeded batching: deterministic, a permutation per epoch, different per seed', () => {
  const n = 7;
  const firstEpoch = Array.from({ length: 7 }, (_, s) => batchIndices(n, 1, s, 42).indices[0]!);
  assert.deepEqual([...firstEpoch].sort(), [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(batchIndices(n, 3, 5, 42), batchIndices(n, 3, 5, 42));
  const a = Array.from({ length: 7 }, (_, s) => batchIndices(n, 1, s, 1).indices[0]);
  const b = Array.from({ length: 7 }, (_, s) => batchIndices(n, 1, s, 2).indices[0]);
  assert.notDeepEqual(a, b);
  // A batch crossing an epoch boundary takes the end of one permutation and the start of the next.
  const cross = batchIndices(n, 3, 2, 42); // positions 6, 7, 8
  assert.equal(cross.indices[0], firstEpoch[6]);
  assert.deepEqual(batchIndices(4, 2, 1, 0, false).indices, [2, 3]);
});
