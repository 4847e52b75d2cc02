// `loadTokenizer(pathOrDir)`: find out which tokenizer a path holds and load it. Users bring their own files, so
// this never looks anywhere but the given path (and, for a `.model`, its folder for the fairseq dict.txt).
//
// Recognised (file, or a folder containing it):
// - `*.model` + a `dict.txt` (or `*dict.txt`) beside it      → KOSMOS-G SentencePiece + fairseq dictionary
// - `tokenizer.json` with "format": "kosmos-g/tokenizer"    → the project's word tokenizer
// - `tokenizer.json` of HF with a BPE model                 → CLIP BPE
// - `vocab.json` + `merges.txt`                             → CLIP BPE (HF layout, e.g. SD 1.5's tokenizer/ folder)
// - `bpe_simple_vocab_16e6.txt.gz` (any `*.txt.gz`)         → CLIP BPE (open_clip layout)

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { clipBpeFromHfTokenizerJson, clipBpeFromSimpleVocab, clipBpeFromVocabMerges } from './clip-bpe-load.ts';
import { loadSentencePieceTokenizer } from './sentencepiece.ts';
import { type TextTokenizer, TokenizerError } from './tokenizer.ts';
import { WORD_TOKENIZER_FORMAT, wordTokenizerFromJson } from './word-tokenizer.ts';

export interface LoadTokenizerOptions {
  /** fairseq dict.txt for a SentencePiece `.model` (default: found beside the model). */
  dictPath?: string;
  /** CLIP padding id (default 49407, SD 1.5); open_clip / SDXL's second tokenizer use 0. */
  padId?: number;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TokenizerError('TOKENIZER_INVALID', `${file}: not valid JSON (${(e as Error).message})`);
  }
}

function fromTokenizerJson(file: string, options: LoadTokenizerOptions): TextTokenizer {
  const json = readJson(file);
  if ((json as { format?: unknown } | null)?.format === WORD_TOKENIZER_FORMAT) return wordTokenizerFromJson(json, file);
  return clipBpeFromHfTokenizerJson(json, options.padId === undefined ? {} : { padId: options.padId }, file);
}

function findDict(dir: string): string | undefined {
  if (existsSync(path.join(dir, 'dict.txt'))) return path.join(dir, 'dict.txt');
  const candidates = readdirSync(dir).filter((f) => f.endsWith('dict.txt')).sort();
  return candidates.length > 0 ? path.join(dir, candidates[0]!) : undefined;
}

async function fromSentencePiece(model: string, options: LoadTokenizerOptions): Promise<TextTokenizer> {
  const dict = options.dictPath ?? findDict(path.dirname(model));
  if (!dict) {
    throw new TokenizerError(
      'TOKENIZER_NOT_FOUND',
      `${model}: a SentencePiece model needs the fairseq dict.txt beside it (or pass dictPath)`,
    );
  }
  return loadSentencePieceTokenizer(model, dict);
}

export async function loadTokenizer(pathOrDir: string, options: LoadTokenizerOptions = {}): Promise<TextTokenizer> {
  if (!existsSync(pathOrDir)) {
    throw new TokenizerError('TOKENIZER_NOT_FOUND', `${pathOrDir}: no such file or folder`);
  }
  const clipOptions = options.padId === undefined ? {} : { padId: options.padId };
  if (statSync(pathOrDir).isDirectory()) {
    const dir = pathOrDir;
    const has = (f: string) => existsSync(path.join(dir, f));
    const files = readdirSync(dir).sort();
    if (has('tokenizer.json')) return fromTokenizerJson(path.join(dir, 'tokenizer.json'), options);
    const model = files.find((f) => f.endsWith('.model'));
    if (model) return fromSentencePiece(path.join(dir, model), options);
    if (has('vocab.json') && has('merges.txt')) {
      return clipBpeFromVocabMerges(
        readFileSync(path.join(dir, 'vocab.json'), 'utf8'),
        readFileSync(path.join(dir, 'merges.txt'), 'utf8'),
        clipOptions,
        path.join(dir, 'vocab.json'),
      );
    }
    const gz = files.find((f) => f.endsWith('.txt.gz'));
    if (gz) return clipBpeFromSimpleVocab(readFileSync(path.join(dir, gz)), clipOptions, path.join(dir, gz));
    throw new TokenizerError(
      'TOKENIZER_NOT_FOUND',
      `${dir}: no tokenizer found (looked for tokenizer.json, *.model + dict.txt, vocab.json + merges.txt, *.txt.gz)`,
    );
  }
  const file = pathOrDir;
  if (file.endsWith('.model')) return fromSentencePiece(file, options);
  if (file.endsWith('.json')) {
    if (path.basename(file) === 'vocab.json') {
      const merges = path.join(path.dirname(file), 'merges.txt');
      if (!existsSync(merges)) throw new TokenizerError('TOKENIZER_NOT_FOUND', `${file}: merges.txt is missing beside it`);
      return clipBpeFromVocabMerges(readFileSync(file, 'utf8'), readFileSync(merges, 'utf8'), clipOptions, file);
    }
    return fromTokenizerJson(file, options);
  }
  if (file.endsWith('.gz') || file.endsWith('.txt')) return clipBpeFromSimpleVocab(readFileSync(file), clipOptions, file);
  throw new TokenizerError('TOKENIZER_UNKNOWN_FORMAT', `${file}: not a known tokenizer file (.model, .json, .txt.gz)`);
}
