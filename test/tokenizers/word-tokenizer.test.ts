import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  buildWordTokenizer,
  encodePadded,
  encodeWithSpecials,
  loadTokenizer,
  loadWordTokenizer,
  saveWordTokenizer,
  wordTokenizerFromJson,
} from '../../models/tokenizers/index.ts';

const made: string[] = [];
function tempDir(prefix: string): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(d);
  return d;
}
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

const corpus = ['A red circle on a blue background.', 'a green square', 'A red square, a red circle'];

test('buildWordTokenizer: fairseq layout, words by frequency, specials stored', () => {
  const tok = buildWordTokenizer(corpus);
  assert.equal(tok.kind, 'word');
  assert.deepEqual(tok.file.vocab.slice(0, 7), ['<s>', '<pad>', '</s>', '<unk>', 'a', 'red', 'circle']);
  assert.deepEqual(tok.specials, { bos: 0, pad: 1, eos: 2, unk: 3, image: tok.vocabSize - 2, endImage: tok.vocabSize - 1 });
  assert.equal(tok.file.vocab[tok.specials.image!], '<image>');
  assert.deepEqual(tok.words('A red, Square!'), ['a', 'red', ',', 'square', '!']);
  const ids = tok.encode('a purple circle');
  assert.equal(ids[1], 3, 'unknown word → unk');
  assert.equal(tok.decode(tok.encode('a red circle, a square.')), 'a red circle, a square.');
  assert.deepEqual(encodeWithSpecials(tok, 'red'), [0, 5, 2]);
});

test('word-clip variant: CLIP layout, 77 padded with eos', () => {
  const tok = buildWordTokenizer(corpus, { kind: 'word-clip', maxLength: 8 });
  assert.equal(tok.kind, 'word-clip');
  assert.equal(tok.file.vocab[0], '<unk>');
  assert.equal(tok.specials.bos, tok.vocabSize - 2);
  assert.equal(tok.specials.eos, tok.vocabSize - 1);
  assert.equal(tok.specials.pad, tok.specials.eos);
  const ids = encodePadded(tok, 'a red circle');
  assert.equal(ids.length, 8);
  assert.deepEqual(ids.slice(0, 5), [tok.specials.bos, ...tok.encode('a red circle'), tok.specials.eos]);
  assert.ok(ids.slice(5).every((i) => i === tok.specials.pad));
  assert.equal(encodePadded(buildWordTokenizer(corpus, { kind: 'word-clip' }), 'x').length, 77);
});

test('minCount and maxWords limit the vocabulary deterministically', () => {
  const a = buildWordTokenizer(corpus, { minCount: 2 });
  assert.deepEqual(a.file.vocab.slice(4, -2), ['a', 'red', 'circle', 'square']);
  const b = buildWordTokenizer(corpus, { maxWords: 2 });
  assert.deepEqual(b.file.vocab.slice(4, -2), ['a', 'red']);
  assert.deepEqual(buildWordTokenizer([...corpus].reverse()).file.vocab, buildWordTokenizer(corpus).file.vocab);
});

test('save → load round trip (atomic write), loadTokenizer detects the format', async () => {
  const dir = tempDir('word-tok-');
  const tok = buildWordTokenizer(corpus);
  const file = path.join(dir, 'tokenizer.json');
  saveWordTokenizer(file, tok);
  assert.deepEqual(readdirSync(dir), ['tokenizer.json']);
  const back = loadWordTokenizer(file);
  assert.deepEqual(back.file, tok.file);
  assert.deepEqual(back.encode('a red square'), tok.encode('a red square'));
  const viaDir = await loadTokenizer(dir);
  assert.equal(viaDir.kind, 'word');
  assert.deepEqual(viaDir.encode('green circle'), tok.encode('green circle'));
  const viaFile = await loadTokenizer(file);
  assert.deepEqual(viaFile.specials, tok.specials);
});

test('invalid tokenizer files and paths give stable codes', async () => {
  const good = buildWordTokenizer(corpus).toJSON();
  assert.throws(() => wordTokenizerFromJson({ ...good, format: 'other' }), { code: 'TOKENIZER_INVALID' });
  assert.throws(() => wordTokenizerFromJson({ ...good, version: 2 }), { code: 'TOKENIZER_INVALID' });
  assert.throws(() => wordTokenizerFromJson({ ...good, specials: { ...good.specials, bos: 999 } }), /specials\.bos/);
  assert.throws(() => wordTokenizerFromJson({ ...good, vocab: [1, 2] }), { code: 'TOKENIZER_INVALID' });
  const dir = tempDir('word-tok-bad-');
  writeFileSync(path.join(dir, 'tokenizer.json'), '{oops');
  await assert.rejects(loadTokenizer(dir), { code: 'TOKENIZER_INVALID' });
  await assert.rejects(loadTokenizer(path.join(dir, 'nope')), { code: 'TOKENIZER_NOT_FOUND' });
  const empty = path.join(dir, 'empty');
  mkdirSync(empty);
  await assert.rejects(loadTokenizer(empty), { code: 'TOKENIZER_NOT_FOUND' });
  writeFileSync(path.join(dir, 'weights.bin'), 'x');
  await assert.rejects(loadTokenizer(path.join(dir, 'weights.bin')), { code: 'TOKENIZER_UNKNOWN_FORMAT' });
  const lonely = path.join(dir, 'lonely');
  mkdirSync(lonely);
  writeFileSync(path.join(lonely, 'spm.model'), 'x');
  await assert.rejects(loadTokenizer(path.join(lonely, 'spm.model')), { code: 'TOKENIZER_NOT_FOUND' });
  assert.ok(existsSync(path.join(dir, 'tokenizer.json')));
});
