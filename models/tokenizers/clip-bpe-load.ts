// The three file layouts a CLIP BPE comes in:
// - open_clip / OpenAI `bpe_simple_vocab_16e6.txt.gz`: a header line, then merges; the vocabulary is derived
//   (256 byte chars, the same + `</w>`, one token per merge, then the two specials — spec §3.2);
// - HF `vocab.json` + `merges.txt` (`#version` header, one "a b" pair per line);
// - HF `tokenizer.json` (`model.vocab`, `model.merges` as "a b" strings or [a, b] pairs, `added_tokens`).

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { BYTE_CHARS_IN_ORDER } from './byte-unicode.ts';
import { CLIP_BOS_TOKEN, CLIP_EOS_TOKEN, ClipBpeTokenizer, type ClipBpeOptions } from './clip-bpe.ts';
import { TokenizerError } from './tokenizer.ts';

/** open_clip reads exactly this many merges: vocab 49408 = 512 + merges + 2 specials. */
export const CLIP_SIMPLE_VOCAB_MERGES = 49152 - 256 - 2;

export interface SimpleVocabOptions extends ClipBpeOptions {
  /** How many merge lines to use (default 48,894, as open_clip; the file holds more). */
  mergeCount?: number;
}

function splitMerge(line: string, where: string, lineNo: number): [string, string] {
  const parts = line.split(' ');
  if (parts.length !== 2 || !parts[0] || !parts[1]) {
    throw new TokenizerError('TOKENIZER_INVALID', `${where}:${lineNo}: a merge must be two tokens separated by one space`);
  }
  return [parts[0], parts[1]];
}

/** From the bytes of `bpe_simple_vocab_16e6.txt.gz` (gzip or already decompressed). */
export function clipBpeFromSimpleVocab(
  bytes: Uint8Array,
  options: SimpleVocabOptions = {},
  where = 'bpe_simple_vocab',
): ClipBpeTokenizer {
  let text: string;
  try {
    const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch (e) {
    throw new TokenizerError('TOKENIZER_INVALID', `${where}: not a gzip'd UTF-8 merges file (${(e as Error).message})`);
  }
  const lines = text.split('\n');
  const count = options.mergeCount ?? CLIP_SIMPLE_VOCAB_MERGES;
  const mergeLines = lines.slice(1, 1 + count).filter((l) => l.length > 0);
  if (mergeLines.length < count && options.mergeCount !== undefined) {
    throw new TokenizerError('TOKENIZER_INVALID', `${where}: has ${mergeLines.length} merges, ${count} requested`);
  }
  const merges = mergeLines.map((l, i) => splitMerge(l, where, i + 2));
  const vocab = new Map<string, number>();
  for (const c of BYTE_CHARS_IN_ORDER) vocab.set(c, vocab.size);
  for (const c of BYTE_CHARS_IN_ORDER) vocab.set(c + '</w>', vocab.size);
  for (const [a, b] of merges) vocab.set(a + b, vocab.size);
  vocab.set(CLIP_BOS_TOKEN, vocab.size);
  vocab.set(CLIP_EOS_TOKEN, vocab.size);
  return new ClipBpeTokenizer(vocab, merges, options);
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TokenizerError('TOKENIZER_INVALID', `${where}: not valid JSON (${(e as Error).message})`);
  }
}

function vocabFromObject(obj: unknown, where: string): Map<string, number> {
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new TokenizerError('TOKENIZER_INVALID', `${where}: vocabulary must be an object of token → id`);
  }
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(obj as Record<string, unknown>)) {
    if (!Number.isInteger(id) || (id as number) < 0) {
      throw new TokenizerError('TOKENIZER_INVALID', `${where}: id of ${JSON.stringify(token)} is not an integer ≥ 0`);
    }
    vocab.set(token, id as number);
  }
  return vocab;
}

/** From HF `vocab.json` and `merges.txt` contents. */
export function clipBpeFromVocabMerges(
  vocabJson: string,
  mergesTxt: string,
  options: ClipBpeOptions = {},
  where = 'vocab.json',
): ClipBpeTokenizer {
  const vocab = vocabFromObject(parseJson(vocabJson, where), where);
  const merges: [string, string][] = [];
  mergesTxt.split('\n').forEach((line, i) => {
    const l = line.replace(/\r$/, '');
    if (l.length === 0 || (i === 0 && l.startsWith('#version'))) return;
    merges.push(splitMerge(l, 'merges.txt', i + 1));
  });
  return new ClipBpeTokenizer(vocab, merges, options);
}

/** From a parsed HF `tokenizer.json` whose model is BPE. */
export function clipBpeFromHfTokenizerJson(
  json: unknown,
  options: ClipBpeOptions = {},
  where = 'tokenizer.json',
): ClipBpeTokenizer {
  const model = (json as { model?: { type?: string; vocab?: unknown; merges?: unknown } } | null)?.model;
  if (!model || (model.type !== undefined && model.type !== 'BPE')) {
    throw new TokenizerError('TOKENIZER_INVALID', `${where}: model.type must be "BPE"`);
  }
  const vocab = vocabFromObject(model.vocab, `${where} model.vocab`);
  for (const t of (json as { added_tokens?: { content?: unknown; id?: unknown }[] }).added_tokens ?? []) {
    if (typeof t.content === 'string' && Number.isInteger(t.id)) vocab.set(t.content, t.id as number);
  }
  if (!Array.isArray(model.merges)) {
    throw new TokenizerError('TOKENIZER_INVALID', `${where}: model.merges must be an array`);
  }
  const merges = model.merges.map((m: unknown, i: number): [string, string] => {
    if (typeof m === 'string') return splitMerge(m, `${where} model.merges`, i);
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return [m[0], m[1]];
    throw new TokenizerError('TOKENIZER_INVALID', `${where}: model.merges[${i}] is neither "a b" nor [a, b]`);
  });
  return new ClipBpeTokenizer(vocab, merges, options);
}

/** Load from a path: a `.txt.gz`/`.txt` merges file, a `tokenizer.json`, or a folder with either or vocab+merges. */
export function loadClipBpe(path: string, options: SimpleVocabOptions = {}): ClipBpeTokenizer {
  if (path.endsWith('.json')) {
    return clipBpeFromHfTokenizerJson(parseJson(readFileSync(path, 'utf8'), path), options, path);
  }
  return clipBpeFromSimpleVocab(readFileSync(path), options, path);
}
