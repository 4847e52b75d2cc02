// Tiny datasets written into a temp folder for the training tests: solid-colour PNGs and index files.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

export function tempDir(prefix = 'kg-train-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export async function solidPng(r: number, g: number, b: number, w = 8, h = 6): Promise<Buffer> {
  return sharp({ create: { width: w, height: h, channels: 3, background: { r, g, b } } }).png().toBuffer();
}

export async function writePng(dir: string, name: string, rgb: [number, number, number]): Promise<string> {
  const file = path.join(dir, name);
  writeFileSync(file, await solidPng(...rgb));
  return file;
}

/** A toy tokenizer: one id per lower-cased word (ids from 10), fairseq specials 0/1/2 and image ids 90/91. */
export function wordTokenizer() {
  const vocab = new Map<string, number>();
  return {
    bos: 0,
    pad: 1,
    eos: 2,
    image: 90,
    imageEnd: 91,
    vocab,
    encode(text: string): number[] {
      return text
        .toLowerCase()
        .split(/\s+/)
        .filter(Boolean)
        .map((w) => {
          if (!vocab.has(w)) vocab.set(w, 10 + vocab.size);
          return vocab.get(w)!;
        });
    },
  };
}
