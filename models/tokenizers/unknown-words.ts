// Which words of a text a tokenizer cannot represent: the ones it turns (wholly or partly) into its unknown id.
// A small vocabulary (the default model's word tokenizers) silently reads an unseen word as <unk>; the tokenizer
// nodes name those words so the user can rephrase.
import type { TextTokenizer } from './tokenizer.ts';

/** The distinct whitespace-separated words of `text` whose encoding contains the unknown id, in order. */
export function unknownWords(tokenizer: TextTokenizer, text: string, ignore: readonly string[] = []): string[] {
  const unk = tokenizer.specials.unk;
  const found: string[] = [];
  let plain = text;
  for (const token of ignore) plain = plain.split(token).join(' ');
  for (const word of new Set(plain.split(/\s+/).filter((w) => w !== ''))) {
    if (tokenizer.encode(word).includes(unk)) found.push(word);
  }
  return found;
}

/** The warning a tokenizer node gives, or undefined when every word is known. */
export function unknownWordsWarning(tokenizer: TextTokenizer, text: string, where: string, ignore: readonly string[] = []): string | undefined {
  const words = unknownWords(tokenizer, text, ignore);
  if (words.length === 0) return undefined;
  const list = words.slice(0, 12).map((w) => `"${w}"`).join(', ') + (words.length > 12 ? ` and ${words.length - 12} more` : '');
  return `${where}: ${words.length === 1 ? 'a word' : `${words.length} words`} the tokenizer does not know, read as <unk>: ${list}`;
}
