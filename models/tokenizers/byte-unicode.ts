// GPT-2's `bytes_to_unicode`: every byte gets a printable unicode character so BPE can work on strings without
// whitespace or control characters. Printable '!'..'~', '¡'..'¬', '®'..'ÿ' map to themselves; the remaining 68 bytes
// map to U+0100 + n in byte order (spec §3.2). The order of `BYTE_CHARS` is also the order of CLIP's ids 0–255.

function build(): { order: number[]; chars: string[] } {
  const order: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) order.push(b);
  for (let b = 0xa1; b <= 0xac; b++) order.push(b);
  for (let b = 0xae; b <= 0xff; b++) order.push(b);
  const chars: string[] = new Array(256);
  for (const b of order) chars[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (chars[b] === undefined) {
      chars[b] = String.fromCodePoint(256 + n);
      order.push(b);
      n++;
    }
  }
  return { order, chars };
}

const built = build();

/** `BYTE_TO_CHAR[b]` is the unicode stand-in of byte b. */
export const BYTE_TO_CHAR: readonly string[] = built.chars;

/** The 256 stand-in characters in bytes_to_unicode's order (CLIP vocab ids 0..255). */
export const BYTE_CHARS_IN_ORDER: readonly string[] = built.order.map((b) => built.chars[b]!);

const charToByte = new Map<string, number>(built.chars.map((c, b) => [c, b]));

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

/** A string's UTF-8 bytes, each replaced by its stand-in character. */
export function toByteChars(text: string): string {
  let out = '';
  for (const b of utf8.encode(text)) out += BYTE_TO_CHAR[b];
  return out;
}

/** Inverse of `toByteChars` (invalid UTF-8 becomes U+FFFD; unknown characters are skipped). */
export function fromByteChars(text: string): string {
  const bytes: number[] = [];
  for (const ch of text) {
    const b = charToByte.get(ch);
    if (b !== undefined) bytes.push(b);
  }
  return utf8Decoder.decode(new Uint8Array(bytes));
}
