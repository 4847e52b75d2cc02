// Posterior moments of training images under a frozen VAE, cached per image. The diffusion stages (text-to-image
// U-Net, instruction tuning) see each image many times, and re-encoding it every visit cost ~0.1 s of a ~0.8 s
// U-Net step on the default model (wasm, batch 8). The VAE encoder is per-sample (group norm, no batch statistics),
// so encoding the misses alone gives the moments a whole batch would; posterior sampling stays per step.

import { createHash } from 'node:crypto';
import { hostTensor, type HostTensor } from '../ops/ops.ts';
import type { Runner } from '../runtime/runner.ts';
import type { AutoencoderKL } from '../vae/autoencoder.ts';

/** Beyond this many cached floats (256 MiB) the cache starts again empty rather than grow without bound. */
const MAX_CACHED_FLOATS = 64 * 2 ** 20;

interface Cache {
  /** Sum of the VAE's parameter versions when the entries were encoded: any change of weights empties the cache. */
  version: number;
  floats: number;
  /** Moments of one image, [2·latent, h, w], by image key. */
  entries: Map<string, HostTensor>;
}

const caches = new WeakMap<AutoencoderKL, Cache>();

function weightsVersion(vae: AutoencoderKL): number {
  return vae.parameters().reduce((n, p) => n + p.version, 0);
}

/** The image's bytes, hashed. */
function imageKey(data: Float32Array, from: number, length: number): string {
  return createHash('sha1').update(new Uint8Array(data.buffer, data.byteOffset + from * 4, length * 4)).digest('base64');
}

/**
 * Moments [B, 2·latent, h, w] of `images` [B, 3, S, S] (in the VAE's [−1, 1] range) under a VAE that is not being
 * trained; only images not seen before under the same weights are encoded, by `runner` (any backend: the training
 * backend need not be the one that encodes, as nothing is differentiated here).
 */
export async function frozenVaeMoments(runner: Runner, vae: AutoencoderKL, images: Float32Array, batch: number, size: number): Promise<HostTensor> {
  const version = weightsVersion(vae);
  let cache = caches.get(vae);
  if (!cache || cache.version !== version) {
    cache = { version, floats: 0, entries: new Map() };
    caches.set(vae, cache);
  }
  const per = 3 * size * size;
  const keys = Array.from({ length: batch }, (_, i) => imageKey(images, i * per, per));
  const fresh = new Map<string, HostTensor>();
  const missing = keys.map((k, i) => [k, i] as const).filter(([k], j) => !cache.entries.has(k) && keys.indexOf(k) === j);
  if (missing.length) {
    const x = new Float32Array(missing.length * per);
    missing.forEach(([, i], j) => x.set(images.subarray(i * per, (i + 1) * per), j * per));
    const [encoded] = await runner.run(vae, 'vae-encode-moments', (o, [img]) => [vae.encodeMoments(o, img!)], [
      hostTensor(x, [missing.length, 3, size, size]),
    ]);
    const shape = encoded!.shape.slice(1);
    const each = encoded!.data.length / missing.length;
    missing.forEach(([k], j) => fresh.set(k, hostTensor((encoded!.data as Float32Array).slice(j * each, (j + 1) * each), shape)));
  }
  const parts = keys.map((k) => fresh.get(k) ?? cache.entries.get(k)!);
  const each = parts[0]!.data.length;
  const out = new Float32Array(batch * each);
  parts.forEach((p, i) => out.set(p.data, i * each));
  // Store after assembling, so emptying a full cache never loses an entry this batch still needs.
  for (const [k, m] of fresh) {
    if (cache.floats + m.data.length > MAX_CACHED_FLOATS) {
      cache.entries.clear();
      cache.floats = 0;
    }
    cache.entries.set(k, m);
    cache.floats += m.data.length;
  }
  return hostTensor(out, [batch, ...parts[0]!.shape]);
}
