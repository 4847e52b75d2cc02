// CLIP's text cleaning and pre-tokenizer (open_clip `simple_tokenizer`, spec §3.2).
//
// The reference runs `ftfy.fix_text` first. ftfy is a Python library; only the fixes that change ordinary prompts
// are reproduced here: curly quotes → straight, Latin ligatures (ﬁ → fi) and full-width forms (Ａ → A) expanded,
// control characters removed, NFC normalisation. Its mojibake repair (text decoded with the wrong codec) is not:
// such text tokenizes as written.

import { htmlUnescape } from './html-unescape.ts';

const SINGLE_QUOTES = /[\u02bc\u2018-\u201b]/g;
const DOUBLE_QUOTES = /[\u201c-\u201f]/g;
const LIGATURES = /[\u0132\u0133\u013f\u0140\u0149\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06]/g;
const WIDE_FORMS = /[\u3000\uff01-\uffef]/g;
// ftfy keeps \t \n \f \r; they become spaces below anyway.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000e-\u001f\u007f-\u009f\ufeff\ufff9-\ufffc]/g;

/** The subset of `ftfy.fix_text` described above. */
export function fixText(text: string): string {
  return text
    .replace(CONTROL, '')
    .replace(SINGLE_QUOTES, "'")
    .replace(DOUBLE_QUOTES, '"')
    .replace(LIGATURES, (c) => c.normalize('NFKC'))
    .replace(WIDE_FORMS, (c) => c.normalize('NFKC'))
    .normalize('NFC');
}

/** basic_clean + whitespace_clean + lower, in the reference's order. */
export function cleanClipText(text: string): string {
  const basic = htmlUnescape(htmlUnescape(fixText(text))).trim();
  return basic.replace(/\s+/gu, ' ').trim().toLowerCase();
}

/** The pre-tokenizer: specials, English contractions, letter runs, single digits, other non-space runs. */
const PRE_TOKEN =
  /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;

export function preTokenize(cleaned: string): string[] {
  return cleaned.match(PRE_TOKEN) ?? [];
}
