// Euler (Karras et al. 2022 / k-diffusion; diffusers `scheduling_euler_discrete.py`), spec §3.5. Latents live in
// σ-space: x = x₀ + σ·ε. σ(t) = √((1 − ᾱₜ)/ᾱₜ) is interpolated linearly at the (possibly fractional) timesteps and
// σ = 0 is appended; the U-Net sees x/√(σ² + 1) at timestep tᵢ. s_churn is 0 (no added noise), as in diffusers'
// defaults. With `useKarrasSigmas` the n σ are Karras-spaced between the σ of the spacing's first and last
// timesteps, and the U-Net gets the fractional timestep each σ maps back to (log-σ interpolation, not rounded).

import { alphasCumprodForSigmas, checkSameLength, like, resolveConfig, SchedulerError, sigmaOf } from './schedule.ts';
import type { SchedulerConfig, TimestepSpacing, Vec } from './schedule.ts';
import type { Scheduler } from './scheduler.ts';
import { checkSupported } from './applicable.ts';
import { eulerTimesteps } from './spacing.ts';
import { karrasSigmas, sigmaToTimestep } from './karras.ts';

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
    checkSupported('euler', this.config);
    const spacing: TimestepSpacing = this.config.timestepSpacing ?? 'linspace';
    const spaced = eulerTimesteps(options.steps, this.config.numTrainTimesteps, spacing, this.config.stepsOffset);
    this.alphasCumprod = alphasCumprodForSigmas(this.config);
    const table = trainingSigmas(this.alphasCumprod);
    const stepSigmas = spaced.map((t) => interpolateSigma(table, t));
    if (this.config.useKarrasSigmas) {
      const karras = karrasSigmas(stepSigmas[stepSigmas.length - 1]!, stepSigmas[0]!, options.steps);
      const logTable = Array.from(table, Math.log);
      this.timesteps = karras.map((s) => sigmaToTimestep(s, logTable));
      this.sigmas = [...karras, 0];
    } else {
      this.timesteps = spaced;
      this.sigmas = [...stepSigmas, 0];
    }
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

  /**
   * x̂₀ in σ-space (x = x₀ + σ·ε): ε-model x − σ·out; v-model x/(σ²+1) − out·σ/√(σ²+1) (the VP formula with
   * α = 1/√(σ²+1) applied to the scaled input); sample-model out.
   */
  predictOriginal<V extends Vec>(output: Vec, i: number, x: V): V {
    checkSameLength(x, output, 'Euler predictOriginal');
    const s = this.sigma(i);
    const out = like(x);
    switch (this.config.predictionType) {
      case 'epsilon':
        for (let k = 0; k < x.length; k++) out[k] = x[k]! - s * output[k]!;
        break;
      case 'v_prediction': {
        const cSkip = 1 / (s * s + 1);
        const cOut = -s / Math.sqrt(s * s + 1);
        for (let k = 0; k < x.length; k++) out[k] = x[k]! * cSkip + output[k]! * cOut;
        break;
      }
      case 'sample':
        for (let k = 0; k < x.length; k++) out[k] = output[k]!;
        break;
    }
    return out;
  }

  step<V extends Vec>(output: Vec, i: number, x: V): V {
    checkSameLength(x, output, 'Euler step');
    const s = this.sigma(i);
    const dt = this.sigmas[i + 1]! - s;
    const out = like(x);
    if (this.config.predictionType === 'epsilon') {
      // d = (x − x̂₀)/σ = ε for an ε-model, so the Euler step is x + ε·(σᵢ₊₁ − σᵢ).
      for (let k = 0; k < x.length; k++) out[k] = x[k]! + output[k]! * dt;
      return out;
    }
    const x0 = this.predictOriginal(output, i, x);
    for (let k = 0; k < x.length; k++) out[k] = x[k]! + ((x[k]! - x0[k]!) / s) * dt;
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
