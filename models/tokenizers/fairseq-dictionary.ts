// fairseq's `Dictionary` as KOSMOS-G builds it (spec §1.2): 0 <s>, 1 <pad>, 2 </s>, 3 <unk>, then one symbol per
// dict.txt line in file order, then the task's extra symbols. For KOSMOS-G that gives 64007 symbols with
// fairseq id = SentencePiece id + 1 for every normal piece, <image> = 64003 and </image> = 64004.

import { TokenizerError } from './tokenizer.ts';

export const FAIRSEQ_SPECIALS = ['<s>', '<pad>', '</s>', '<unk>'] as const;

/** The symbols KOSMOS-G's task appends after dict.txt, in order (ids 64001..64006 for the released dictionary). */
export const KOSMOS_G_EXTRA_SYMBOLS = ['<mask>', '</doc>', '<image>', '</image>', '</chunk>', '</line>'] as const;

export class FairseqDictionary {
  private readonly index = new Map<string, number>();

  constructor(readonly symbols: readonly string[]) {
    symbols.forEach((s, i) => {
      // fairseq keeps the first occurrence (a duplicate line only bumps the count).
      if (!this.index.has(s)) this.index.set(s, i);
    });
  }

  get size(): number {
    return this.symbols.length;
  }

  /** The id of a symbol, or undefined when it is not in the dictionary. */
  id(symbol: string): number | undefined {
    return this.index.get(symbol);
  }

  /** The id of a symbol, `<unk>` (3) when missing — what `text_transform` does. */
  idOrUnk(symbol: string): number {
    return this.index.get(symbol) ?? this.index.get('<unk>')!;
  }

  symbol(id: number): string | undefined {
    return this.symbols[id];
  }
}

/**
 * Parse a fairseq dict.txt ("symbol count" per line, an optional trailing `#fairseq:overwrite` flag).
 * `extraSymbols` are appended after the file's symbols (KOSMOS-G's by default).
 */
export function parseFairseqDictionary(
  text: string,
  extraSymbols: readonly string[] = KOSMOS_G_EXTRA_SYMBOLS,
  where = 'dict.txt',
): FairseqDictionary {
  const symbols: string[] = [...FAIRSEQ_SPECIALS];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim().length === 0) return;
    let body = line;
    if (body.endsWith(' #fairseq:overwrite')) body = body.slice(0, -' #fairseq:overwrite'.length);
    const space = body.lastIndexOf(' ');
    if (space <= 0 || !/^\d+$/.test(body.slice(space + 1))) {
      throw new TokenizerError(
        'TOKENIZER_INVALID',
        `${where}:${i + 1}: expected "<symbol> <count>", got ${JSON.stringify(line.slice(0, 60))}`,
      );
    }
    symbols.push(body.slice(0, space));
  });
  symbols.push(...extraSymbols);
  return new FairseqDictionary(symbols);
}
