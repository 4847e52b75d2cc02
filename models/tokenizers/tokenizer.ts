// The one interface every text tokenizer offers: the CLIP BPE (SD 1.5 text encoder), the KOSMOS-G SentencePiece
// with its fairseq dictionary (the MLLM), and the project's small word tokenizers. `encode` never adds special
// tokens; callers add them (the KOSMOS-G `text_transform` adds none either, spec §1.2), so the prompt builder and the
// CLIP padding helper below work the same with any of them.

export type TokenizerKind = 'clip-bpe' | 'sentencepiece' | 'word' | 'word-clip';

/** Special token ids. MLLM-style (fairseq layout) tokenizers also carry the image markers. */
export interface TokenizerSpecials {
  bos: number;
  eos: number;
  pad: number;
  unk: number;
  /** `<image>`: 64003 for KOSMOS-G. Present on tokenizers that can build interleaved prompts. */
  image?: number;
  /** `</image>`: 64004 for KOSMOS-G. */
  endImage?: number;
}

export interface TextTokenizer {
  readonly kind: TokenizerKind;
  /** Rows of the embedding table this tokenizer's ids index (specials included). */
  readonly vocabSize: number;
  readonly specials: TokenizerSpecials;
  /** CLIP-style tokenizers: the fixed sequence length (77) that `encodePadded` produces. */
  readonly maxLength?: number;
  /** Text → ids, without BOS/EOS/padding. */
  encode(text: string): number[];
  /** Ids → text (best effort; specials are dropped). */
  decode(ids: readonly number[]): string;
}

/** A tokenizer error a user can act on (bad file, bad prompt). */
export class TokenizerError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'TokenizerError';
  }
}

/** `[bos] + encode(text) + [eos]`. */
export function encodeWithSpecials(tokenizer: TextTokenizer, text: string): number[] {
  return [tokenizer.specials.bos, ...tokenizer.encode(text), tokenizer.specials.eos];
}

export interface PadOptions {
  /** Sequence length; defaults to the tokenizer's maxLength, else 77 (SD 1.5). */
  maxLength?: number;
  /** Padding id; defaults to the tokenizer's pad id (49407 for SD 1.5's CLIP; open_clip and SDXL's second use 0). */
  padId?: number;
}

/**
 * CLIP text-encoder input: BOS + text + EOS, truncated to keep BOS + (maxLength − 2) + EOS as HF's CLIPTokenizer
 * does with `truncation=True`, then right-padded to exactly maxLength (spec §3.2).
 */
export function encodePadded(tokenizer: TextTokenizer, text: string, options: PadOptions = {}): number[] {
  const maxLength = options.maxLength ?? tokenizer.maxLength ?? 77;
  if (!Number.isInteger(maxLength) || maxLength < 2) {
    throw new TokenizerError('TOKENIZER_BAD_LENGTH', `encodePadded: maxLength must be an integer ≥ 2, got ${maxLength}`);
  }
  const pad = options.padId ?? tokenizer.specials.pad;
  const body = tokenizer.encode(text).slice(0, maxLength - 2);
  const ids = [tokenizer.specials.bos, ...body, tokenizer.specials.eos];
  while (ids.length < maxLength) ids.push(pad);
  return ids;
}
