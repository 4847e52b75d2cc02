// Euler (Karras et al. 2022 / k-diffusion; diffusers `scheduling_euler_discrete.py`), spec §3.5. Latents live in
// σ-space: x = x₀ + σ·ε. σ(t) = √((1 − ᾱₜ)/ᾱₜ) is interpolated linearly at the (possibly fractional) timesteps and
// σ = 0 is appended; the U-Net sees x/√(σ² + 1) at timestep tᵢ. s_churn is 0 (no added noise), as in diffusers'
// defaults.

import { alphasCumprod, checkSameLength, like, resolveConfig, SchedulerError, sigmaOf } from './schedule.ts';
import type { SchedulerConfig, TimestepSpacing, Vec } from './schedule.ts';
import type { Scheduler } from './scheduler.ts';
import { eulerTimesteps } from './spacing.ts';

export interface EulerOptions {
  steps: number;
}

/** σ of every training timestep, σ_t = √((1 − ᾱ_t)/ᾱ_t). */
export function trainingSigmas(acp: Float64Array): Float64Array {
  return acp.map(sigmaOf);
}

/** numpy `interp(t, arange(len), table)`: linear between integer timesteps, clamped at the ends. */
export function interpolateSigma(table: Float64Array, t: number): number {
  if (t <= 0) return table[0]!;
  const last = table.length - 1;
  if (t >= last) return table[last]!;
  const lo = Math.floor(t);
  const w = t - lo;
  return w === 0 ? table[lo]! : table[lo]! * (1 - w) + table[lo + 1]! * w;
}

export class EulerDiscreteScheduler implements Scheduler {
  readonly name = 'euler' as const;
  readonly config: SchedulerConfig;
  readonly timesteps: number[];
  readonly alphasCumprod: Float64Array;
  /** σ at each step, followed by the final 0 (length steps + 1). */
  readonly sigmas: number[];
  readonly initNoiseSigma: number;

  constructor(config: Partial<SchedulerConfig>, options: EulerOptions) {
    this.config = resolveConfig(config);
    const spacing: TimestepSpacing = this.config.timestepSpacing ?? 'linspace';
    this.timesteps = eulerTimesteps(options.steps, this.config.numTrainTimesteps, spacing, this.config.stepsOffset);
    this.alphasCumprod = alphasCumprod(this.config);
    const table = trainingSigmas(this.alphasCumprod);
    this.sigmas = [...this.timesteps.map((t) => interpolateSigma(table, t)), 0];
    const maxSigma = Math.max(...this.sigmas);
    // diffusers: linspace/trailing start exactly at σ_max; leading starts at √(σ_max² + 1).
    this.initNoiseSigma = spacing === 'leading' ? Math.sqrt(maxSigma * maxSigma + 1) : maxSigma;
  }

  private sigma(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.timesteps.length) {
      throw new SchedulerError('BAD_STEP_INDEX', `Euler step index ${i} is outside 0…${this.timesteps.length - 1}`);
    }
    return this.sigmas[i]!;
  }

  scaleModelInput<V extends Vec>(x: V, i: number): V {
    const s = this.sigma(i);
    const c = 1 / Math.sqrt(s * s + 1);
    const out = like(x);
    for (let k = 0; k < x.length; k++) out[k] = x[k]! * c;
    return out;
  }

  predictOriginal<V extends Vec>(eps: Vec, i: number, x: V): V {
    checkSameLength(x, eps, 'Euler predictOriginal');
    const s = this.sigma(i);
    const out = like(x);
    for (let k = 0; k < x.length; k++) out[k] = x[k]! - s * eps[k]!;
    return out;
  }

  step<V extends Vec>(eps: Vec, i: number, x: V): V {
    checkSameLength(x, eps, 'Euler step');
    const s = this.sigma(i);
    const dt = this.sigmas[i + 1]! - s;
    const out = like(x);
    // d = (x − x̂₀)/σ = ε for an ε-model, so the Euler step is x + ε·(σᵢ₊₁ − σᵢ).
    for (let k = 0; k < x.length; k++) out[k] = x[k]! + eps[k]! * dt;
    return out;
  }

  addNoise<V extends Vec>(x0: V, noise: Vec, i: number): V {
    checkSameLength(x0, noise, 'Euler addNoise');
    const s = this.sigma(i);
    const out = like(x0);
    for (let k = 0; k < x0.length; k++) out[k] = x0[k]! + s * noise[k]!;
    return out;
  }
}
