// The KOSMOS-G text tokenizer (spec §1.2): a SentencePiece UNIGRAM model (nmt_nfkc normaliser, dummy prefix,
// whitespace cleanup) whose pieces are mapped through the fairseq dictionary — piece → dictionary id, <unk> (3)
// when missing — exactly as `text_transform` does. No BOS/EOS is added here; the prompt builder adds <s>.
//
// Encoding runs the real SentencePiece C++ (compiled to WASM by @sctg/sentencepiece-js), so the normaliser's
// precompiled character map and the Viterbi search are the reference ones, not a re-implementation.

import { readFileSync } from 'node:fs';
import { SentencePieceProcessor } from '@sctg/sentencepiece-js';
import { FairseqDictionary, parseFairseqDictionary } from './fairseq-dictionary.ts';
import { type TextTokenizer, type TokenizerSpecials, TokenizerError } from './tokenizer.ts';

const WORD_BOUNDARY = '\u2581'; // ▁

function requireId(dict: FairseqDictionary, symbol: string, where: string): number {
  const id = dict.id(symbol);
  if (id === undefined) throw new TokenizerError('TOKENIZER_INVALID', `${where}: dictionary has no ${symbol}`);
  return id;
}

export class SentencePieceTokenizer implements TextTokenizer {
  readonly kind = 'sentencepiece' as const;
  readonly vocabSize: number;
  readonly specials: TokenizerSpecials;

  constructor(
    private readonly processor: SentencePieceProcessor,
    readonly dictionary: FairseqDictionary,
    where = 'dictionary',
  ) {
    this.vocabSize = dictionary.size;
    this.specials = {
      bos: requireId(dictionary, '<s>', where),
      pad: requireId(dictionary, '<pad>', where),
      eos: requireId(dictionary, '</s>', where),
      unk: requireId(dictionary, '<unk>', where),
      image: dictionary.id('<image>'),
      endImage: dictionary.id('</image>'),
    };
  }

  /** SentencePiece pieces of a text (`▁a`, `▁dog`, …). */
  pieces(text: string): string[] {
    return this.processor.encodePieces(text);
  }

  encode(text: string): number[] {
    return this.pieces(text).map((p) => this.dictionary.idOrUnk(p));
  }

  decode(ids: readonly number[]): string {
    const specials = new Set(Object.values(this.specials));
    let text = '';
    for (const id of ids) {
      if (specials.has(id)) continue;
      text += this.dictionary.symbol(id) ?? '';
    }
    return text.replaceAll(WORD_BOUNDARY, ' ').trim();
  }
}

/** Load a SentencePiece `.model` from its bytes; a file SentencePiece cannot read → TOKENIZER_INVALID. */
export async function loadSentencePieceModel(bytes: Uint8Array, where = 'sentencepiece model'): Promise<SentencePieceProcessor> {
  const processor = new SentencePieceProcessor();
  // The package's loader takes a base64 string (its path loader is the same code after a readFileSync).
  await processor.loadFromB64StringModel(Buffer.from(bytes).toString('base64'));
  const status = String(processor.processor.status().ToString());
  if (status !== 'OK') {
    throw new TokenizerError('TOKENIZER_INVALID', `${where}: not a SentencePiece model (${status})`);
  }
  return processor;
}

/** KOSMOS-G's tokenizer from `sentencepiece.bpe.model` and fairseq `dict.txt`. */
export async function loadSentencePieceTokenizer(modelPath: string, dictPath: string): Promise<SentencePieceTokenizer> {
  const processor = await loadSentencePieceModel(readFileSync(modelPath), modelPath);
  const dictionary = parseFairseqDictionary(readFileSync(dictPath, 'utf8'), undefined, dictPath);
  return new SentencePieceTokenizer(processor, dictionary, dictPath);
}
