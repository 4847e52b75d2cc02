// The project's own small tokenizer, for the small models it trains itself: whole words (lower-cased letter/digit
// runs) and single punctuation marks, with every special id stored in the file so nothing depends on a layout.
// Two variants share the format:
// - "word": the fairseq layout KOSMOS-G uses (0 <s>, 1 <pad>, 2 </s>, 3 <unk>, words, then <image>, </image>), so
//   the interleaved-prompt builder works with it unchanged;
// - "word-clip": CLIP style (0 <unk>, words, then <|startoftext|>, <|endoftext|>; pad = <|endoftext|>; 77 tokens),
//   for small CLIP text encoders.
//
// File: tokenizer.json {"format":"kosmos-g/tokenizer","version":1,"kind":…,"lowercase":true,"vocab":[…],
//                       "specials":{"bos","eos","pad","unk","image"?,"endImage"?},"maxLength"?}

import { readFileSync } from 'node:fs';
import { writeFileAtomicSync } from '../io/atomic.ts';
import { type TextTokenizer, type TokenizerSpecials, TokenizerError } from './tokenizer.ts';

export const WORD_TOKENIZER_FORMAT = 'kosmos-g/tokenizer';

const WORD = /[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu;

export interface WordTokenizerFile {
  format: typeof WORD_TOKENIZER_FORMAT;
  version: 1;
  kind: 'word' | 'word-clip';
  lowercase: boolean;
  vocab: string[];
  specials: TokenizerSpecials;
  maxLength?: number;
}

export class WordTokenizer implements TextTokenizer {
  readonly kind: 'word' | 'word-clip';
  readonly vocabSize: number;
  readonly specials: TokenizerSpecials;
  readonly maxLength?: number;
  private readonly index = new Map<string, number>();

  constructor(readonly file: WordTokenizerFile) {
    this.kind = file.kind;
    this.vocabSize = file.vocab.length;
    this.specials = { ...file.specials };
    if (file.maxLength !== undefined) this.maxLength = file.maxLength;
    file.vocab.forEach((w, i) => {
      if (!this.index.has(w)) this.index.set(w, i);
    });
  }

  /** The words and punctuation marks of a text, as this tokenizer splits it. */
  words(text: string): string[] {
    const t = this.file.lowercase ? text.normalize('NFC').toLowerCase() : text.normalize('NFC');
    return t.match(WORD) ?? [];
  }

  encode(text: string): number[] {
    return this.words(text).map((w) => this.index.get(w) ?? this.specials.unk);
  }

  decode(ids: readonly number[]): string {
    const specials = new Set(Object.values(this.specials));
    const words = ids.filter((id) => !specials.has(id)).map((id) => this.file.vocab[id] ?? '');
    // Punctuation attaches to the previous word.
    return words.reduce((acc, w) => (acc === '' ? w : /^[\p{L}\p{N}]/u.test(w) ? `${acc} ${w}` : acc + w), '');
  }

  toJSON(): WordTokenizerFile {
    return this.file;
  }
}

export interface BuildWordTokenizerOptions {
  /** "word" (fairseq layout, for MLLMs; default) or "word-clip" (CLIP layout, for text encoders). */
  kind?: 'word' | 'word-clip';
  /** Words seen fewer times are left out (→ unk). Default 1. */
  minCount?: number;
  /** At most this many words (most frequent first). */
  maxWords?: number;
  /** "word-clip": the fixed sequence length, default 77. */
  maxLength?: number;
  lowercase?: boolean;
}

/** Build a word tokenizer from a corpus; the vocabulary order is deterministic (count desc, then code-point order). */
export function buildWordTokenizer(corpus: readonly string[], options: BuildWordTokenizerOptions = {}): WordTokenizer {
  const kind = options.kind ?? 'word';
  const lowercase = options.lowercase ?? true;
  const splitter = new WordTokenizer({
    format: WORD_TOKENIZER_FORMAT, version: 1, kind, lowercase, vocab: [], specials: { bos: 0, eos: 0, pad: 0, unk: 0 },
  });
  const counts = new Map<string, number>();
  for (const line of corpus) for (const w of splitter.words(line)) counts.set(w, (counts.get(w) ?? 0) + 1);
  let words = [...counts.entries()]
    .filter(([, c]) => c >= (options.minCount ?? 1))
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([w]) => w);
  if (options.maxWords !== undefined) words = words.slice(0, options.maxWords);

  if (kind === 'word') {
    const vocab = ['<s>', '<pad>', '</s>', '<unk>', ...words, '<image>', '</image>'];
    const n = vocab.length;
    return new WordTokenizer({
      format: WORD_TOKENIZER_FORMAT, version: 1, kind, lowercase, vocab,
      specials: { bos: 0, pad: 1, eos: 2, unk: 3, image: n - 2, endImage: n - 1 },
    });
  }
  const vocab = ['<unk>', ...words, '<|startoftext|>', '<|endoftext|>'];
  const n = vocab.length;
  return new WordTokenizer({
    format: WORD_TOKENIZER_FORMAT, version: 1, kind, lowercase, vocab,
    specials: { bos: n - 2, eos: n - 1, pad: n - 1, unk: 0 },
    maxLength: options.maxLength ?? 77,
  });
}

function fail(where: string, what: string): never {
  throw new TokenizerError('TOKENIZER_INVALID', `${where}: ${what}`);
}

/** Validate a parsed tokenizer.json of this project's format. */
export function wordTokenizerFromJson(json: unknown, where = 'tokenizer.json'): WordTokenizer {
  const f = json as Partial<WordTokenizerFile> | null;
  if (!f || typeof f !== 'object' || f.format !== WORD_TOKENIZER_FORMAT) fail(where, `format must be "${WORD_TOKENIZER_FORMAT}"`);
  if (f.version !== 1) fail(where, `unsupported version ${String(f.version)}`);
  if (f.kind !== 'word' && f.kind !== 'word-clip') fail(where, `kind must be "word" or "word-clip"`);
  if (!Array.isArray(f.vocab) || !f.vocab.every((w) => typeof w === 'string')) fail(where, 'vocab must be an array of strings');
  const s = f.specials as unknown as Record<string, unknown> | undefined;
  if (!s || typeof s !== 'object') fail(where, 'specials missing');
  for (const k of ['bos', 'eos', 'pad', 'unk', 'image', 'endImage']) {
    const v = s[k];
    if (v === undefined && (k === 'image' || k === 'endImage')) continue;
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) >= f.vocab.length) {
      fail(where, `specials.${k} must be an id in [0, ${f.vocab.length})`);
    }
  }
  if (f.maxLength !== undefined && (!Number.isInteger(f.maxLength) || f.maxLength < 2)) fail(where, 'maxLength must be an integer ≥ 2');
  return new WordTokenizer({ ...(f as WordTokenizerFile), lowercase: f.lowercase ?? true });
}

/** Write tokenizer.json atomically (temp file, then rename). */
export function saveWordTokenizer(path: string, tokenizer: WordTokenizer): void {
  writeFileAtomicSync(path, JSON.stringify(tokenizer.toJSON()));
}

export function loadWordTokenizer(path: string): WordTokenizer {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    fail(path, `not valid JSON (${(e as Error).message})`);
  }
  return wordTokenizerFromJson(json, path);
}
