// PNDM in its PLMS form (Liu et al. 2022; diffusers `scheduling_pndm.py` with skip_prk_steps), spec §3.5: the
// SD 1.5 default. A linear multistep method over the last four ε. The timestep list repeats its second entry: the
// second call redoes the first step (981 → 961 for 50 steps) from the cached x, with ε′ = (ε₉₆₁ + ε₉₈₁)/2.

import { addNoise, alphasCumprod, checkSameLength, finalAlphaCumprod, like, resolveConfig, SchedulerError } from './schedule.ts';
import { asKindOf, originalFromOutput } from './prediction.ts';
import type { SchedulerConfig, TimestepSpacing, Vec } from './schedule.ts';
import type { Scheduler } from './scheduler.ts';
import { checkSupported } from './applicable.ts';
import { plmsTimesteps } from './spacing.ts';

export interface PndmOptions {
  steps: number;
}

export class PndmScheduler implements Scheduler {
  readonly name = 'pndm' as const;
  readonly config: SchedulerConfig;
  readonly timesteps: number[];
  readonly initNoiseSigma = 1;
  readonly alphasCumprod: Float64Array;
  private readonly stride: number;
  private readonly finalAlpha: number;
  private ets: Vec[] = [];
  private counter = 0;
  private nextIndex = -1;
  /** True when the run started at index 0, so the second call is diffusers' warm-up redo. */
  private warmup = true;
  private cachedSample: Vec | undefined;

  constructor(config: Partial<SchedulerConfig>, options: PndmOptions) {
    this.config = resolveConfig(config);
    checkSupported('pndm', this.config);
    const spacing: TimestepSpacing = this.config.timestepSpacing ?? 'leading';
    this.timesteps = plmsTimesteps(options.steps, this.config.numTrainTimesteps, spacing, this.config.stepsOffset);
    this.alphasCumprod = alphasCumprod(this.config);
    this.finalAlpha = finalAlphaCumprod(this.config, this.alphasCumprod);
    this.stride = Math.floor(this.config.numTrainTimesteps / options.steps);
  }

  private alphaAt(t: number): number {
    return t >= 0 ? this.alphasCumprod[t]! : this.finalAlpha;
  }

  private timestep(i: number): number {
    const t = this.timesteps[i];
    if (t === undefined) throw new SchedulerError('BAD_STEP_INDEX', `PNDM step index ${i} is outside 0…${this.timesteps.length - 1}`);
    return t;
  }

  scaleModelInput<V extends Vec>(x: V): V {
    return x;
  }

  predictOriginal<V extends Vec>(output: Vec, i: number, x: V): V {
    const x0 = originalFromOutput(output, x, this.alphaAt(this.timestep(i)), this.config.predictionType, 'PNDM predictOriginal');
    return asKindOf(x, x0);
  }

  step<V extends Vec>(eps: Vec, i: number, x: V): V {
    checkSameLength(x, eps, 'PNDM step');
    if (this.nextIndex < 0) {
      // img2img may start part-way. A start on the duplicate (index 1) is the same point as index 2: that call is
      // spent (x is returned unchanged) so the timeline stays consistent. Later starts run plain PLMS without the
      // warm-up redo, their history growing from one ε.
      this.warmup = i === 0;
      if (i === 1) {
        this.nextIndex = 2;
        return x.slice() as V;
      }
    } else if (i !== this.nextIndex) {
      throw new SchedulerError('BAD_STEP_ORDER', `PNDM is multistep: expected step ${this.nextIndex}, got ${i} (use a fresh scheduler per run)`);
    }
    this.nextIndex = i + 1;
    let t = this.timestep(i);
    let prevT = t - this.stride;
    let sample: Vec = x;
    const redo = this.warmup && this.counter === 1;
    if (redo) {
      // The duplicated timestep: redo the first step, from the first step's x.
      prevT = t;
      t = t + this.stride;
    } else {
      this.ets = [...this.ets.slice(-3), eps];
    }
    const e = this.ets;
    const n = e.length;
    let combined: (k: number) => number;
    if (n === 1 && !redo) {
      combined = (k) => eps[k]!;
      this.cachedSample = x;
    } else if (n === 1 && redo) {
      const e0 = e[0]!;
      combined = (k) => (eps[k]! + e0[k]!) / 2;
      sample = this.cachedSample!;
      this.cachedSample = undefined;
    } else if (n === 2) {
      const [e0, e1] = e as [Vec, Vec];
      combined = (k) => (3 * e1[k]! - e0[k]!) / 2;
    } else if (n === 3) {
      const [e0, e1, e2] = e as [Vec, Vec, Vec];
      combined = (k) => (23 * e2[k]! - 16 * e1[k]! + 5 * e0[k]!) / 12;
    } else {
      const [e0, e1, e2, e3] = e as [Vec, Vec, Vec, Vec];
      combined = (k) => (55 * e3[k]! - 59 * e2[k]! + 37 * e1[k]! - 9 * e0[k]!) / 24;
    }
    const a = this.alphaAt(t);
    const aPrev = this.alphaAt(prevT);
    const sampleCoef = Math.sqrt(aPrev / a);
    const denom = a * Math.sqrt(1 - aPrev) + Math.sqrt(a * (1 - a) * aPrev);
    // The combined output becomes ε at (t, sample), after the combination, as diffusers' `_get_prev_sample` does.
    const asEps = this.epsFromCombined(a, sample);
    const out = like(x);
    for (let k = 0; k < x.length; k++) out[k] = sampleCoef * sample[k]! - ((aPrev - a) * asEps(combined(k), k)) / denom;
    this.counter++;
    return out;
  }

  /** ε from a (combined) model output at ᾱ = a and the sample it was combined for. */
  private epsFromCombined(a: number, sample: Vec): (value: number, k: number) => number {
    const sa = Math.sqrt(a);
    const sb = Math.sqrt(1 - a);
    switch (this.config.predictionType) {
      case 'epsilon':
        return (v) => v;
      case 'v_prediction':
        return (v, k) => sa * v + sb * sample[k]!;
      case 'sample':
        return (v, k) => (sample[k]! - sa * v) / sb;
    }
  }

  addNoise<V extends Vec>(x0: V, noise: Vec, i: number): V {
    checkSameLength(x0, noise, 'PNDM addNoise');
    return addNoise(x0, noise, this.alphaAt(this.timestep(i)));
  }
}
