// IMAGE values to and from files: PNG encoding (optionally with the workflow embedded) and decoding any image
// sharp reads into an ImageValue (NCHW float32 in [0, 1]).
import sharp from 'sharp';
import { imageValue, type ImageValue } from '../../models/image.ts';
import { KosmosError } from '../../engine/errors.ts';
import { addPngText } from './png-text.ts';

export { readPngText, addPngText } from './png-text.ts';

/** Interleaved 8-bit RGB of image `index` of the batch (values clamped to [0, 1], rounded). */
export function toRgb8(image: ImageValue, index = 0): Uint8Array {
  const { width, height } = image;
  const plane = width * height;
  const base = index * 3 * plane;
  const out = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < plane; p++) {
      const v = image.data[base + c * plane + p]!;
      out[p * 3 + c] = Math.round(Math.min(1, Math.max(0, Number.isNaN(v) ? 0 : v)) * 255);
    }
  }
  return out;
}

/** One image of the batch as PNG bytes; `text` entries (e.g. {workflow: JSON}) go in iTXt chunks. */
export async function toPng(image: ImageValue, index = 0, text?: Record<string, string>): Promise<Buffer> {
  if (index < 0 || index >= image.batch) throw new RangeError(`toPng: image ${index} of a batch of ${image.batch}`);
  const png = await sharp(toRgb8(image, index), { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
  return text !== undefined && Object.keys(text).length > 0 ? addPngText(png, text) : png;
}

/** Decode 8-bit interleaved pixels with 1–4 channels into a batch-of-one RGB ImageValue. */
export function fromPixels(pixels: Uint8Array, width: number, height: number, channels: number): ImageValue {
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const source = channels < 3 ? 0 : c; // grey (and grey+alpha) replicate the one colour channel
      data[c * plane + p] = pixels[p * channels + source]! / 255;
    }
  }
  return imageValue(data, 1, height, width);
}

/**
 * The most pixels an image file may declare (8192 × 8192, the largest ImageResize size). sharp checks the header
 * before decoding, so a small file claiming a huge canvas (a decompression bomb, e.g. an upload) is refused instead
 * of decoding into gigabytes.
 */
export const MAX_IMAGE_PIXELS = 8192 * 8192;

/** Read an image file (PNG, JPEG, WebP, ...) as a batch of one; alpha is dropped. */
export async function fromFile(path: string): Promise<ImageValue> {
  try {
    const { data, info } = await sharp(path, { limitInputPixels: MAX_IMAGE_PIXELS }).rotate().raw().toBuffer({ resolveWithObject: true });
    return fromPixels(data, info.width, info.height, info.channels);
  } catch (error) {
    const message = (error as Error).message;
    const code = /missing|no such file/i.test(message) ? 'FILE_NOT_FOUND' : /pixel limit/i.test(message) ? 'IMAGE_TOO_LARGE' : 'IMAGE_UNREADABLE';
    throw new KosmosError(code, `${path}: cannot read the image (${message})`, { exitCode: 1 });
  }
}
