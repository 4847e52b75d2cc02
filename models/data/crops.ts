// Random square crops of a batch of square images, for training a convolutional model (the VAE) on smaller
// windows than the images it will see: a 32×32 window of a 64×64 scene costs about a quarter of the whole.
import type { Rng } from '../ops/random.ts';

/**
 * `data` holds `batch` images [3, size, size] back to back (NCHW); returns `batch` windows [3, crop, crop], each at an
 * offset drawn uniformly from `rng` (x then y, per image), so the same rng state gives the same crops.
 */
export function randomSquareCrops(data: Float32Array, batch: number, size: number, crop: number, rng: Rng): Float32Array {
  if (!Number.isInteger(crop) || crop < 1 || crop > size) throw new RangeError(`randomSquareCrops: crop ${crop} must be an integer in [1, ${size}]`);
  if (data.length !== batch * 3 * size * size) throw new RangeError(`randomSquareCrops: ${data.length} values are not ${batch} images [3, ${size}, ${size}]`);
  const out = new Float32Array(batch * 3 * crop * crop);
  for (let b = 0; b < batch; b++) {
    const ox = rng.int(size - crop + 1);
    const oy = rng.int(size - crop + 1);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < crop; y++) {
        const from = ((b * 3 + c) * size + oy + y) * size + ox;
        out.set(data.subarray(from, from + crop), ((b * 3 + c) * crop + y) * crop);
      }
    }
  }
  return out;
}
