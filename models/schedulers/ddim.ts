// DDIM (Song et al. 2020; diffusers `scheduling_ddim.py`), spec §3.5. Deterministic with eta = 0; eta > 0 adds
// seeded noise σ·z. The previous timestep is t − T // n whatever the spacing, as in diffusers. The model output is
// read as ε, v or x₀ (prediction.ts); with `clipSample` x̂₀ is clamped to ±clipSampleRange, ε kept as predicted
// (diffusers' default use_clipped_model_output = false).

import { Rng } from '../ops/random.ts';
import { addNoise, alphasCumprod, checkSameLength, finalAlphaCumprod, like, resolveConfig, SchedulerError } from './schedule.ts';
import type { SchedulerConfig, TimestepSpacing, Vec } from './schedule.ts';
import type { Scheduler } from './scheduler.ts';
import { ddimTimesteps } from './spacing.ts';
import { asKindOf, noiseFromOutput, originalFromOutput } from './prediction.ts';
import { checkSupported } from './applicable.ts';

export interface DdimOptions {
  steps: number;
  /** 0: deterministic DDIM; 1: DDPM-like ancestral noise. */
  eta?: number;
  /** Seed of the step noise when eta > 0 and `step` gets no rng. */
  seed?: number;
}

export class DdimScheduler implements Scheduler {
  readonly name = 'ddim' as const;
  readonly config: SchedulerConfig;
  readonly timesteps: number[];
  readonly initNoiseSigma = 1;
  readonly alphasCumprod: Float64Array;
  readonly eta: number;
  private readonly stride: number;
  private readonly finalAlpha: number;
  private rng: Rng | undefined;

  constructor(config: Partial<SchedulerConfig>, options: DdimOptions) {
    this.config = resolveConfig(config);
    checkSupported('ddim', this.config);
    const spacing: TimestepSpacing = this.config.timestepSpacing ?? 'leading';
    this.timesteps = ddimTimesteps(options.steps, this.config.numTrainTimesteps, spacing, this.config.stepsOffset);
    this.alphasCumprod = alphasCumprod(this.config);
    this.finalAlpha = finalAlphaCumprod(this.config, this.alphasCumprod);
    this.stride = Math.floor(this.config.numTrainTimesteps / options.steps);
    this.eta = options.eta ?? 0;
    if (!(this.eta >= 0)) throw new SchedulerError('BAD_SCHEDULER_OPTION', `DDIM eta must be ≥ 0, got ${this.eta}`);
    if (options.seed !== undefined) this.rng = new Rng(options.seed);
  }

  private alphaAt(t: number): number {
    return t >= 0 ? this.alphasCumprod[t]! : this.finalAlpha;
  }

  private timestep(i: number): number {
    const t = this.timesteps[i];
    if (t === undefined) throw new SchedulerError('BAD_STEP_INDEX', `DDIM step index ${i} is outside 0…${this.timesteps.length - 1}`);
    return t;
  }

  scaleModelInput<V extends Vec>(x: V): V {
    return x;
  }

  predictOriginal<V extends Vec>(output: Vec, i: number, x: V): V {
    return asKindOf(x, this.original(output, i, x));
  }

  /** x̂₀ at step i (float64), clamped when `clipSample` is set. */
  private original(output: Vec, i: number, x: Vec): Float64Array {
    const x0 = originalFromOutput(output, x, this.alphaAt(this.timestep(i)), this.config.predictionType, 'DDIM predictOriginal');
    if (this.config.clipSample) {
      const r = this.config.clipSampleRange;
      for (let k = 0; k < x0.length; k++) x0[k] = Math.min(r, Math.max(-r, x0[k]!));
    }
    return x0;
  }

  step<V extends Vec>(output: Vec, i: number, x: V, rng?: Rng): V {
    checkSameLength(x, output, 'DDIM step');
    const t = this.timestep(i);
    const a = this.alphaAt(t);
    const x0 = this.original(output, i, x);
    const eps = noiseFromOutput(output, x, a, this.config.predictionType, 'DDIM step');
    const aPrev = this.alphaAt(t - this.stride);
    const variance = ((1 - aPrev) / (1 - a)) * (1 - a / aPrev);
    const std = this.eta * Math.sqrt(variance);
    const saPrev = Math.sqrt(aPrev);
    const dirCoef = Math.sqrt(Math.max(0, 1 - aPrev - std * std));
    let noiseRng: Rng | undefined;
    if (std > 0) {
      noiseRng = rng ?? this.rng;
      if (!noiseRng) {
        throw new SchedulerError('NEEDS_RNG', 'DDIM with eta > 0 needs noise: pass an rng to step() or a seed in the options');
      }
    }
    const out = like(x);
    for (let k = 0; k < x.length; k++) {
      let v = saPrev * x0[k]! + dirCoef * eps[k]!;
      if (noiseRng) v += std * noiseRng.normal();
      out[k] = v;
    }
    return out;
  }

  addNoise<V extends Vec>(x0: V, noise: Vec, i: number): V {
    checkSameLength(x0, noise, 'DDIM addNoise');
    return addNoise(x0, noise, this.alphaAt(this.timestep(i)));
  }
}
