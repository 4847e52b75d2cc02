import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { needsShared, sharedPath } from '../helpers/shared.ts';
import {
  KOSMOS_G_EXTRA_SYMBOLS,
  SentencePieceTokenizer,
  loadSentencePieceModel,
  loadSentencePieceTokenizer,
  loadTokenizer,
  parseFairseqDictionary,
} from '../../models/tokenizers/index.ts';

const MODEL = 'reference/tokenizers/kosmosg_sentencepiece.bpe.model';
const DICT = 'reference/tokenizers/kosmosg_dict.txt';
const skip = needsShared(MODEL) ?? needsShared(DICT);

let loaded: Promise<SentencePieceTokenizer> | undefined;
function kosmos(): Promise<SentencePieceTokenizer> {
  loaded ??= loadSentencePieceTokenizer(sharedPath(MODEL), sharedPath(DICT));
  return loaded;
}

test('fairseq dictionary layout: specials first, dict.txt lines, then the task symbols', () => {
  const d = parseFairseqDictionary('▁the 5\n▁a 3\n, 2 #fairseq:overwrite\n');
  assert.deepEqual(d.symbols, ['<s>', '<pad>', '</s>', '<unk>', '▁the', '▁a', ',', ...KOSMOS_G_EXTRA_SYMBOLS]);
  assert.equal(d.id('▁a'), 5);
  assert.equal(d.idOrUnk('▁missing'), 3);
  assert.equal(d.id('<image>'), 9);
  assert.throws(() => parseFairseqDictionary('ok 1\nbroken\n', [], 'dict.txt'), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'TOKENIZER_INVALID');
    assert.match(e.message, /dict\.txt:2/);
    return true;
  });
});

test('KOSMOS-G dictionary: 64007 symbols, <image> 64003, </image> 64004, fairseq id = SPM id + 1', { skip }, async () => {
  const tok = await kosmos();
  assert.equal(tok.vocabSize, 64007);
  assert.deepEqual(tok.specials, { bos: 0, pad: 1, eos: 2, unk: 3, image: 64003, endImage: 64004 });
  const d = tok.dictionary;
  assert.deepEqual(
    [64001, 64002, 64003, 64004, 64005, 64006].map((i) => d.symbol(i)),
    ['<mask>', '</doc>', '<image>', '</image>', '</chunk>', '</line>'],
  );
  // Spec §1.2: "a photo of a cat" has SPM ids 9, 1120, 8, 9, 2539.
  assert.deepEqual(tok.pieces('a photo of a cat'), ['▁a', '▁photo', '▁of', '▁a', '▁cat']);
  assert.deepEqual(tok.encode('a photo of a cat'), [9, 1120, 8, 9, 2539].map((i) => i + 1));
});

test('KOSMOS-G SentencePiece reproduces the text vectors; normaliser trims and adds the dummy prefix', { skip }, async () => {
  const tok = await kosmos();
  assert.deepEqual(tok.encode('hello world'), [13976, 210]);
  assert.deepEqual(tok.encode('A red car'), [95, 958, 373]);
  assert.deepEqual(tok.encode('a dog '), [10, 1133]);
  assert.deepEqual(tok.encode('  a   dog'), [10, 1133]);
  assert.deepEqual(tok.encode(''), []);
  assert.equal(tok.decode([0, 95, 958, 373]), 'A red car');
  const vectors = JSON.parse(readFileSync(sharedPath('reference/vectors.json'), 'utf8'));
  const key = Object.keys(vectors).find((k) => k.startsWith('kosmosg_src_tokens'))!;
  for (const [text, ids] of Object.entries(vectors[key] as Record<string, number[]>)) {
    if (text.includes('<i>')) continue; // interleaved ones: test/prompt
    assert.deepEqual([0, ...tok.encode(text)], ids, text);
  }
});

test('pieces missing from the dictionary map to <unk> = 3', { skip }, async () => {
  const processor = await loadSentencePieceModel(readFileSync(sharedPath(MODEL)));
  const small = parseFairseqDictionary('▁a 1\n▁dog 1\n');
  const tok = new SentencePieceTokenizer(processor, small);
  assert.deepEqual(tok.encode('a dog swimming'), [4, 5, 3]);
  assert.equal(tok.vocabSize, 4 + 2 + 6);
});

test('a file that is not a SentencePiece model → TOKENIZER_INVALID; loadTokenizer finds dict.txt beside the model', { skip }, async () => {
  await assert.rejects(loadSentencePieceModel(Buffer.from('not a model'), 'bad.model'), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'TOKENIZER_INVALID');
    assert.match(e.message, /bad\.model/);
    return true;
  });
  const tok = await loadTokenizer(sharedPath(MODEL));
  assert.equal(tok.kind, 'sentencepiece');
  assert.deepEqual(tok.encode('hello world'), [13976, 210]);
});
