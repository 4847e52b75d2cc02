// Image references in datasets (a file path or base64-encoded PNG/JPEG bytes, as in the KOSMOS-G TSVs of §1.10)
// and their loading: decode with sharp, resize the shorter side to `size` and centre-crop (the reference
// preprocessing, bicubic), and return RGB as NCHW float32 in [0, 1].
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { DataError } from './errors.ts';

export type ImageRef = { path: string } | { base64: string };

const MAGIC: readonly number[][] = [
  [0x89, 0x50, 0x4e, 0x47], // PNG
  [0xff, 0xd8, 0xff], // JPEG
  [0x52, 0x49, 0x46, 0x46], // RIFF (WebP)
];

/**
 * Interpret a dataset cell as an image: base64 when it decodes to image bytes, else a path relative to `baseDir`.
 * Returns a reason string when it is neither (missing file, bad base64).
 */
export function imageRef(cell: string, baseDir: string): ImageRef | string {
  const value = cell.trim();
  if (value === '') return 'empty image cell';
  if (value.length > 64 && /^[A-Za-z0-9+/=\s]+$/.test(value)) {
    const bytes = Buffer.from(value, 'base64');
    if (MAGIC.some((m) => m.every((b, i) => bytes[i] === b))) return { base64: value };
    return 'base64 cell is not a PNG, JPEG or WebP image';
  }
  const file = path.resolve(baseDir, value);
  if (!existsSync(file)) return `image file ${file} not found`;
  return { path: file };
}

export function imageBytes(ref: ImageRef): Buffer {
  return 'path' in ref ? readFileSync(ref.path) : Buffer.from(ref.base64, 'base64');
}

export function describeImageRef(ref: ImageRef): string {
  return 'path' in ref ? ref.path : `base64 image (${ref.base64.length} chars)`;
}

/**
 * Decoded pictures by file, size and stamp, as 8-bit RGB, most recently used last: a training run reads each
 * picture of its data set once an epoch (stage 3 of the default model: each ~3 times), and decoding with sharp
 * costs more than the step's share of the model for small pictures. A file replaced at the same path (new size or
 * modification time) is decoded again. Bounded by bytes; base64 cells are decoded every time.
 */
const decoded = new Map<string, Uint8Array>();
let decodedBytes = 0;
export const DECODED_IMAGE_CACHE_BYTES = 256 * 1024 * 1024;

function cacheKey(ref: ImageRef, size: number): string | undefined {
  if (!('path' in ref)) return undefined;
  try {
    const info = statSync(ref.path);
    return `${size}:${info.size}:${info.mtimeMs}:${info.ino}:${ref.path}`;
  } catch {
    return undefined;
  }
}

function remember(key: string, raw: Uint8Array): void {
  if (raw.byteLength > DECODED_IMAGE_CACHE_BYTES) return;
  decoded.set(key, raw);
  decodedBytes += raw.byteLength;
  for (const [old, value] of decoded) {
    if (decodedBytes <= DECODED_IMAGE_CACHE_BYTES) break;
    decoded.delete(old);
    decodedBytes -= value.byteLength;
  }
}

/** Decode, resize shorter side + centre-crop to size×size, → [3, size, size] float32 in [0, 1]. */
export async function loadImage(ref: ImageRef, size: number, where: string): Promise<Float32Array> {
  const key = cacheKey(ref, size);
  let raw = key === undefined ? undefined : decoded.get(key);
  if (raw !== undefined) {
    decoded.delete(key!);
    decoded.set(key!, raw);
  } else {
    raw = await decodeResized(ref, size, where);
    if (key !== undefined) remember(key, raw);
  }
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    out[i] = raw[3 * i]! / 255;
    out[plane + i] = raw[3 * i + 1]! / 255;
    out[2 * plane + i] = raw[3 * i + 2]! / 255;
  }
  return out;
}

async function decodeResized(ref: ImageRef, size: number, where: string): Promise<Uint8Array> {
  try {
    return await sharp(imageBytes(ref))
      .removeAlpha()
      .toColourspace('srgb')
      .resize(size, size, { fit: 'cover', position: 'centre', kernel: 'cubic' })
      .raw()
      .toBuffer();
  } catch (e) {
    throw new DataError('DATA_IMAGE', `${where}: cannot decode ${describeImageRef(ref)} (${(e as Error).message})`);
  }
}
