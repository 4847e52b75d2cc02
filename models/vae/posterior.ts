// The diagonal Gaussian posterior of the VAE (diffusers `DiagonalGaussianDistribution`, spec §3.4): moments are
// mean ‖ logvar along channels; logvar is clamped to [−30, 20]; a sample is mean + exp(logvar/2)·ε with ε drawn
// from the project's seeded PRNG, so a seed reproduces the same latent on every backend.

import { hostTensor, type HostTensor } from '../ops/ops.ts';
import { randn } from '../ops/random.ts';

export type PosteriorMode = 'sample' | 'mean';

/** moments [B, 2L, h, w] → latent [B, L, h, w] (unscaled). */
export function samplePosterior(moments: HostTensor, mode: PosteriorMode, seed = 0): HostTensor {
  const [b, c2, h, w] = moments.shape;
  const l = c2 / 2;
  const plane = l * h * w;
  const out = new Float32Array(b * plane);
  const noise = mode === 'sample' ? randn(out.length, seed) : undefined;
  const m = moments.data;
  for (let n = 0; n < b; n++) {
    for (let i = 0; i < plane; i++) {
      const mean = m[n * 2 * plane + i];
      if (!noise) {
        out[n * plane + i] = mean;
        continue;
      }
      const logvar = Math.min(20, Math.max(-30, m[n * 2 * plane + plane + i]));
      out[n * plane + i] = mean + Math.exp(logvar / 2) * noise[n * plane + i];
    }
  }
  return hostTensor(out, [b, l, h, w]);
}

export function scaleLatent(latent: HostTensor, factor: number): HostTensor {
  const out = new Float32Array(latent.data.length);
  for (let i = 0; i < out.length; i++) out[i] = latent.data[i] * factor;
  return hostTensor(out, latent.shape);
}
