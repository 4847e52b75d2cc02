// Karras et al. (2022, eq. 5) σ spacing and the way diffusers maps such σ back onto training timesteps
// (`use_karras_sigmas`). The σ are evenly spaced in σ^{1/ρ}, which puts more steps at low noise than a linear
// timestep spacing does.

import { linspace } from './spacing.ts';

export const KARRAS_RHO = 7;

/** σᵢ = (σ_max^{1/ρ} + i/(n−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ for i = 0 … n−1: σ_max first, σ_min last. */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number, rho = KARRAS_RHO): number[] {
  const lo = sigmaMin ** (1 / rho);
  const hi = sigmaMax ** (1 / rho);
  return linspace(0, 1, n).map((r) => (hi + r * (lo - hi)) ** rho);
}

/**
 * The fractional training timestep whose σ is `sigma`: linear interpolation of log σ between the two table
 * entries around it (`logSigmas` ascending with t), clamped to [0, T−1] as diffusers' `_sigma_to_t` does.
 */
export function sigmaToTimestep(sigma: number, logSigmas: ArrayLike<number>): number {
  const ls = Math.log(sigma);
  const last = logSigmas.length - 1;
  // The last index whose log σ ≤ ls (0 when there is none), kept below the end so that hi exists.
  let lo = 0;
  for (let j = 0; j <= last; j++) if (logSigmas[j]! <= ls) lo = j;
  lo = Math.min(lo, last - 1);
  const low = logSigmas[lo]!;
  const high = logSigmas[lo + 1]!;
  const w = Math.min(1, Math.max(0, (low - ls) / (low - high)));
  return (1 - w) * lo + w * (lo + 1);
}
