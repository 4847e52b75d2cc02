import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { needsShared, sharedPath } from '../helpers/shared.ts';
import {
  ClipBpeTokenizer,
  clipBpeFromHfTokenizerJson,
  clipBpeFromSimpleVocab,
  clipBpeFromVocabMerges,
  cleanClipText,
  encodePadded,
  loadClipBpe,
  loadTokenizer,
  preTokenize,
} from '../../models/tokenizers/index.ts';
import { BYTE_CHARS_IN_ORDER, fromByteChars, toByteChars } from '../../models/tokenizers/byte-unicode.ts';

const made: string[] = [];
function tempDir(prefix: string): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(d);
  return d;
}
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

const VOCAB_GZ = 'reference/tokenizers/clip_bpe_simple_vocab_16e6.txt.gz';
const CLIP_VECTORS = 'clip_bpe_ids_unpadded (BOS..EOS; SD1.5 pads to 77 with 49407)';

let real: ClipBpeTokenizer | undefined;
function realTokenizer(): ClipBpeTokenizer {
  real ??= loadClipBpe(sharedPath(VOCAB_GZ));
  return real;
}

// A tiny merges file: bytes, then merges "h e", "he l", "hel l</w>"... built by hand so the test needs no shared/.
function tinyTokenizer(): ClipBpeTokenizer {
  const header = '"bpe_simple_vocab" test';
  const merges = ['l o</w>', 'h e', 'he l', 'hel lo</w>', 'c a', 'ca t</w>'];
  return clipBpeFromSimpleVocab(gzipSync(Buffer.from([header, ...merges].join('\n'))), { mergeCount: merges.length });
}

test('bytes_to_unicode: 256 distinct stand-ins, printable ASCII maps to itself, round trip', () => {
  assert.equal(new Set(BYTE_CHARS_IN_ORDER).size, 256);
  assert.equal(BYTE_CHARS_IN_ORDER[0], '!');
  assert.equal(BYTE_CHARS_IN_ORDER[255], 'Ń');
  assert.equal(toByteChars(' a'), 'Ġa');
  assert.equal(fromByteChars(toByteChars('café ✓ 😀')), 'café ✓ 😀');
});

test('cleaning: html entities twice, ftfy-style fixes, whitespace, lowercase', () => {
  assert.equal(cleanClipText('  A &amp;amp; B  '), 'a & b');
  assert.equal(cleanClipText('&#39;Hi&#x27;\n\tthere'), "'hi' there");
  assert.equal(cleanClipText('“Quoted” don’t'), '"quoted" don\'t');
  assert.equal(cleanClipText('ﬁsh ＡＢＣ'), 'fish abc');
  assert.equal(cleanClipText('cafe\u0301'), 'café'); // NFC
  assert.deepEqual(preTokenize("don't stop 42!?"), ['don', "'t", 'stop', '4', '2', '!?']);
  assert.deepEqual(preTokenize('<|startoftext|>hi'), ['<|startoftext|>', 'hi']);
});

test('BPE merges apply lowest rank first, </w> marks the word end', () => {
  const tok = tinyTokenizer();
  assert.equal(tok.vocabSize, 512 + 6 + 2);
  assert.deepEqual(tok.tokenize('hello cat'), ['hello</w>', 'cat</w>']);
  // "helo": "he l" then no "lo</w>"-compatible merge path to "hel lo</w>": l o</w> fires first (rank 0).
  assert.deepEqual(tok.tokenize('helo'), ['he', 'lo</w>']);
  assert.deepEqual(tok.tokenize('x'), ['x</w>']);
  const ids = tok.encodeWithSpecials('hello');
  assert.deepEqual(ids, [518, 512 + 3, 519]);
  assert.equal(tok.decode(tok.encode('Hello cat')), 'hello cat');
});

test('CLIP BPE reproduces every vector in vectors.json', { skip: needsShared('reference/vectors.json') ?? needsShared(VOCAB_GZ) }, () => {
  const vectors = JSON.parse(readFileSync(sharedPath('reference/vectors.json'), 'utf8'))[CLIP_VECTORS] as Record<string, number[]>;
  assert.ok(Object.keys(vectors).length >= 10);
  const tok = realTokenizer();
  assert.equal(tok.vocabSize, 49408);
  assert.deepEqual(tok.specials, { bos: 49406, eos: 49407, pad: 49407, unk: 49407 });
  for (const [text, ids] of Object.entries(vectors)) assert.deepEqual(tok.encodeWithSpecials(text), ids, text);
});

test('encodePadded: 77 tokens, pad 49407 (or a chosen pad id), truncation keeps BOS + 75 + EOS', { skip: needsShared(VOCAB_GZ) }, () => {
  const tok = realTokenizer();
  const ids = tok.encodePadded('a photo of a cat');
  assert.equal(ids.length, 77);
  assert.deepEqual(ids.slice(0, 8), [49406, 320, 1125, 539, 320, 2368, 49407, 49407]);
  assert.ok(ids.slice(7).every((i) => i === 49407));
  assert.deepEqual(tok.encodePadded('a photo', 77, 0).slice(3, 6), [49407, 0, 0]);
  const long = tok.encodePadded(Array.from({ length: 100 }, (_, i) => `w${i % 10}`).join(' '));
  assert.equal(long.length, 77);
  assert.equal(long[0], 49406);
  assert.equal(long[76], 49407);
  assert.ok(long.slice(1, 76).every((i) => i !== 49407));
  assert.deepEqual(encodePadded(tok, 'a', { maxLength: 4 }), [49406, 320, 49407, 49407]);
  assert.throws(() => encodePadded(tok, 'a', { maxLength: 1 }), { code: 'TOKENIZER_BAD_LENGTH' });
});

test('vocab.json + merges.txt and HF tokenizer.json load to the same ids', { skip: needsShared(VOCAB_GZ) }, async () => {
  const tok = realTokenizer();
  const dir = tempDir('clip-bpe-');
  // Re-derive the HF files from the open_clip file: vocab in id order, merges in rank order.
  const lines = (await import('node:zlib')).gunzipSync(readFileSync(sharedPath(VOCAB_GZ))).toString('utf8').split('\n');
  const merges = lines.slice(1, 1 + 48894);
  const vocab: Record<string, number> = {};
  for (let id = 0; id < tok.vocabSize; id++) {
    vocab[tok.token(id)!] = id;
  }
  writeFileSync(path.join(dir, 'vocab.json'), JSON.stringify(vocab));
  writeFileSync(path.join(dir, 'merges.txt'), ['#version: 0.2', ...merges].join('\n') + '\n');
  const hf = clipBpeFromVocabMerges(JSON.stringify(vocab), readFileSync(path.join(dir, 'merges.txt'), 'utf8'));
  const fromDir = await loadTokenizer(dir);
  const tj = clipBpeFromHfTokenizerJson({ model: { type: 'BPE', vocab, merges: merges.map((m) => m.split(' ')) } });
  for (const text of ['an astronaut riding a horse on mars', 'Hello, world!', 'café über naïve', '']) {
    const want = tok.encodeWithSpecials(text);
    assert.deepEqual(hf.encodeWithSpecials(text), want);
    assert.deepEqual(encodePadded(fromDir, text).slice(0, want.length), want);
    assert.deepEqual(tj.encodeWithSpecials(text), want);
  }
  const fromGz = await loadTokenizer(sharedPath(VOCAB_GZ));
  assert.equal(fromGz.kind, 'clip-bpe');
});

test('bad CLIP files fail with TOKENIZER_INVALID and a location', () => {
  assert.throws(() => clipBpeFromSimpleVocab(Uint8Array.from([0x1f, 0x8b, 1, 2, 3]), {}, 'x.txt.gz'), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'TOKENIZER_INVALID');
    assert.match(e.message, /x\.txt\.gz/);
    return true;
  });
  assert.throws(() => clipBpeFromVocabMerges('{"a": 0}', 'a b\n', {}, 'v.json'), { code: 'TOKENIZER_INVALID' });
  assert.throws(() => clipBpeFromVocabMerges('not json', ''), { code: 'TOKENIZER_INVALID' });
  assert.throws(() => clipBpeFromHfTokenizerJson({ model: { type: 'Unigram' } }), { code: 'TOKENIZER_INVALID' });
  assert.throws(
    () => clipBpeFromHfTokenizerJson({ model: { type: 'BPE', vocab: { '<|startoftext|>': 0, '<|endoftext|>': 1 }, merges: [3] } }),
    { code: 'TOKENIZER_INVALID' },
  );
});
