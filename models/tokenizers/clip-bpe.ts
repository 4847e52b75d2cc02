// CLIP's byte-level BPE (open_clip `simple_tokenizer`, HF CLIPTokenizer; spec §3.2): clean the text, split it with
// the pre-tokenizer, map each piece's UTF-8 bytes to their stand-in characters, mark the last symbol with `</w>`,
// then apply merges lowest rank first. Loaders for the three file layouts are in clip-bpe-load.ts.

import { BYTE_TO_CHAR, toByteChars, fromByteChars } from './byte-unicode.ts';
import { cleanClipText, preTokenize } from './clip-text.ts';
import { encodePadded, type TextTokenizer, type TokenizerSpecials, TokenizerError } from './tokenizer.ts';

export const CLIP_BOS_TOKEN = '<|startoftext|>';
export const CLIP_EOS_TOKEN = '<|endoftext|>';
const END_OF_WORD = '</w>';

export interface ClipBpeOptions {
  /** Padding id for `encodePadded`; default: the EOS id (49407), as SD 1.5's tokenizer pads. */
  padId?: number;
  /** Fixed sequence length; default 77. */
  maxLength?: number;
}

export class ClipBpeTokenizer implements TextTokenizer {
  readonly kind = 'clip-bpe' as const;
  readonly vocabSize: number;
  readonly specials: TokenizerSpecials;
  readonly maxLength: number;
  private readonly ranks = new Map<string, number>();
  private readonly decoder: string[] = [];
  // Pre-token → BPE tokens. Bounded so a long-running server does not grow without limit.
  private readonly cache = new Map<string, string[]>();

  /**
   * @param vocab token → id, including `<|startoftext|>` and `<|endoftext|>`
   * @param merges merge pairs in rank order (rank 0 first)
   */
  constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    merges: readonly (readonly [string, string])[],
    options: ClipBpeOptions = {},
  ) {
    merges.forEach(([a, b], rank) => {
      const key = `${a} ${b}`;
      if (!this.ranks.has(key)) this.ranks.set(key, rank);
    });
    let maxId = -1;
    for (const [token, id] of vocab) {
      this.decoder[id] = token;
      if (id > maxId) maxId = id;
    }
    this.vocabSize = maxId + 1;
    const bos = vocab.get(CLIP_BOS_TOKEN);
    const eos = vocab.get(CLIP_EOS_TOKEN);
    if (bos === undefined || eos === undefined) {
      throw new TokenizerError(
        'TOKENIZER_INVALID',
        `CLIP BPE vocabulary has no ${bos === undefined ? CLIP_BOS_TOKEN : CLIP_EOS_TOKEN} token`,
      );
    }
    this.maxLength = options.maxLength ?? 77;
    // HF's SD 1.5 tokenizer: unk and pad are both <|endoftext|>.
    this.specials = { bos, eos, pad: options.padId ?? eos, unk: eos };
  }

  /** The BPE tokens (strings) of a text, without BOS/EOS. */
  tokenize(text: string): string[] {
    const out: string[] = [];
    for (const piece of preTokenize(cleanClipText(text))) out.push(...this.bpe(toByteChars(piece)));
    return out;
  }

  encode(text: string): number[] {
    return this.tokenize(text).map((t) => this.vocab.get(t) ?? this.specials.unk);
  }

  /** `[BOS] + encode(text) + [EOS]`, unpadded (the `clip_bpe_ids_unpadded` vectors). */
  encodeWithSpecials(text: string): number[] {
    return [this.specials.bos, ...this.encode(text), this.specials.eos];
  }

  /** The SD 1.5 text-encoder input: BOS + up to 75 ids + EOS, padded with `padId` to `maxLength`. */
  encodePadded(text: string, maxLength = this.maxLength, padId = this.specials.pad): number[] {
    return encodePadded(this, text, { maxLength, padId });
  }

  /** The vocabulary entry of an id (`a</w>`, `<|endoftext|>`, …). */
  token(id: number): string | undefined {
    return this.decoder[id];
  }

  decode(ids: readonly number[]): string {
    let text = '';
    for (const id of ids) {
      if (id === this.specials.bos || id === this.specials.eos) continue;
      text += this.decoder[id] ?? '';
    }
    // `</w>` ends a word: it decodes to a space (open_clip's decode does the same).
    return fromByteChars(text.replaceAll(END_OF_WORD, BYTE_TO_CHAR[0x20]!)).trim();
  }

  private bpe(token: string): string[] {
    if (token === CLIP_BOS_TOKEN || token === CLIP_EOS_TOKEN) return [token];
    const cached = this.cache.get(token);
    if (cached) return cached;
    const symbols = Array.from(token);
    symbols[symbols.length - 1] += END_OF_WORD;
    let word = symbols;
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const first = word[best]!;
      const second = word[best + 1]!;
      // Merge every occurrence of the best pair, left to right.
      const next: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (i < word.length - 1 && word[i] === first && word[i + 1] === second) {
          next.push(first + second);
          i += 2;
        } else {
          next.push(word[i]!);
          i += 1;
        }
      }
      word = next;
    }
    if (this.cache.size > 50_000) this.cache.clear();
    this.cache.set(token, word);
    return word;
  }
}
