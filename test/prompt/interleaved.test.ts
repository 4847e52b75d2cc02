import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { needsShared, sharedPath } from '../helpers/shared.ts';
import { buildWordTokenizer, loadSentencePieceTokenizer, loadClipBpe } from '../../models/tokenizers/index.ts';
import {
  IMAGE_FEATURE_TOKENS,
  batchPrompts,
  buildInterleavedPrompt,
  countImagePlaceholders,
  nullConditionTokens,
} from '../../models/prompt/interleaved.ts';

const MODEL = 'reference/tokenizers/kosmosg_sentencepiece.bpe.model';
const DICT = 'reference/tokenizers/kosmosg_dict.txt';
const skip = needsShared(MODEL) ?? needsShared(DICT) ?? needsShared('reference/vectors.json');

/** The mask the spec describes, derived from the token ids: 1 on the last 64 of each run of 65 <image>. */
function expectedMask(ids: readonly number[], image: number): number[] {
  const mask = ids.map(() => 0);
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] === image && ids[i - 1] !== image) for (let k = 1; k <= 64; k++) mask[i + k] = 1;
  }
  return mask;
}

test('every kosmosg_src_tokens vector: tokens, mask (64 ones per image), no </s>', { skip }, async () => {
  const tok = await loadSentencePieceTokenizer(sharedPath(MODEL), sharedPath(DICT));
  const all = JSON.parse(readFileSync(sharedPath('reference/vectors.json'), 'utf8'));
  const vectors = all[Object.keys(all).find((k) => k.startsWith('kosmosg_src_tokens'))!] as Record<string, number[]>;
  assert.ok(Object.keys(vectors).length >= 7);
  for (const [text, ids] of Object.entries(vectors)) {
    const n = countImagePlaceholders(text);
    const p = buildInterleavedPrompt(text, n, tok);
    assert.deepEqual(Array.from(p.tokens), ids, text);
    assert.deepEqual(Array.from(p.imageMask), expectedMask(ids, 64003), text);
    assert.equal(p.imageMask.reduce((a, b) => a + b, 0), 64 * n);
    assert.equal(p.imageCount, n);
    assert.notEqual(p.tokens[p.tokens.length - 1], 2);
  }
  assert.equal(buildInterleavedPrompt('<i> in the jungle', 1, tok).tokens.length, 70);
  assert.equal(buildInterleavedPrompt('<i> wearing <i>', 2, tok).tokens.length, 134);
  assert.equal(buildInterleavedPrompt('<i>', 1, tok).tokens.length, 67);
  // §1.6: the null condition is [<s>], or [<s>] + spm(negative).
  assert.deepEqual(Array.from(nullConditionTokens(tok).tokens), [0]);
  assert.deepEqual(Array.from(nullConditionTokens(tok, '').tokens), [0]);
  assert.deepEqual(Array.from(nullConditionTokens(tok, 'hello world').tokens), [0, 13976, 210]);
});

test('layout with the small word tokenizer; fewer feature slots for small models', () => {
  const tok = buildWordTokenizer(['a dog swimming underwater in the jungle']);
  const { image, endImage } = tok.specials as { image: number; endImage: number };
  const p = buildInterleavedPrompt('a dog <i> swimming', 1, tok, { imageTokens: 4 });
  const dog = tok.encode('a dog');
  assert.deepEqual(Array.from(p.tokens), [0, ...dog, image, image, image, image, image, endImage, ...tok.encode('swimming')]);
  assert.deepEqual(Array.from(p.imageMask), [0, 0, 0, 0, 1, 1, 1, 1, 0, 0]);
  const full = buildInterleavedPrompt('<i><i>', 2, tok);
  assert.equal(full.tokens.length, 1 + 2 * (IMAGE_FEATURE_TOKENS + 2));
});

test('a count of <i> different from the number of images → PROMPT_IMAGE_COUNT', () => {
  const tok = buildWordTokenizer(['a cat']);
  for (const [text, n] of [['<i> and <i>', 1], ['a cat', 1], ['<i>', 0]] as const) {
    assert.throws(() => buildInterleavedPrompt(text, n, tok), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'PROMPT_IMAGE_COUNT');
      assert.match(e.message, new RegExp(`${countImagePlaceholders(text)} <i> placeholder.*${n} image`));
      return true;
    });
  }
});

test('a tokenizer without image ids cannot build interleaved prompts', { skip: needsShared('reference/tokenizers/clip_bpe_simple_vocab_16e6.txt.gz') }, () => {
  const clip = loadClipBpe(sharedPath('reference/tokenizers/clip_bpe_simple_vocab_16e6.txt.gz'));
  assert.throws(() => buildInterleavedPrompt('<i> cat', 1, clip), { code: 'PROMPT_TOKENIZER' });
  assert.deepEqual(Array.from(buildInterleavedPrompt('a cat', 0, clip).tokens), [49406, 320, 2368]);
});

test('batchPrompts right-pads tokens with <pad>=1 and masks with 0', () => {
  const tok = buildWordTokenizer(['a red cat']);
  const a = buildInterleavedPrompt('a red cat', 0, tok);
  const b = buildInterleavedPrompt('<i> cat', 1, tok, { imageTokens: 2 });
  const batch = batchPrompts([a, b]);
  assert.deepEqual(batch.shape, [2, 6]);
  assert.deepEqual(batch.lengths, [4, 6]);
  assert.deepEqual(Array.from(batch.tokens.subarray(0, 6)), [...a.tokens, 1, 1]);
  assert.deepEqual(Array.from(batch.tokens.subarray(6)), Array.from(b.tokens));
  assert.deepEqual(Array.from(batch.imageMask), [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0]);
  assert.deepEqual(Array.from(batch.attentionMask), [1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual(batch.imageCounts, [0, 1]);
  assert.throws(() => batchPrompts([]), { code: 'PROMPT_EMPTY_BATCH' });
});
