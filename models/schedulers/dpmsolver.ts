// DPM-Solver++ 2M (Lu et al. 2022; diffusers 0.21.4 `scheduling_dpmsolver_multistep.py`), spec §1.7 and §3.5:
// the multistep data-prediction solver KOSMOS-G samples with. With αₜ = √ᾱₜ, σₜ = √(1 − ᾱₜ), λ = ln α − ln σ
// and m = (x − σε)/α, a step s₀ → t is first order on the first step (and on the last with fewer than 15 steps)
// and second order (midpoint or Heun) otherwise. By default the final step goes to ᾱ₀ as in diffusers 0.21.4;
// `finalSigma: 'zero'` ends at σ = 0 with a first-order step, i.e. exactly at x̂₀, as newer diffusers do.
//
// Karras σ (`useKarrasSigmas`): n σ from σ(0) to σ(T−1) (karras.ts), each mapped to the nearest training timestep
// (log-σ interpolation, rounded; duplicates dropped). With finalSigma 'alpha0' the steps then use ᾱ at those
// integer timesteps, as diffusers 0.21.4 does (its last step, from t = 0 to ᾱ₀, changes nothing); with 'zero'
// they use the Karras σ themselves (α = 1/√(σ²+1)), as newer diffusers do, every σ kept.

import { addNoise, alphasCumprodForSigmas, checkSameLength, like, resolveConfig, SchedulerError, sigmaOf } from './schedule.ts';
import type { SchedulerConfig, TimestepSpacing, Vec } from './schedule.ts';
import type { Scheduler } from './scheduler.ts';
import { checkSupported } from './applicable.ts';
import { dpmTimesteps, roundHalfEven } from './spacing.ts';
import { karrasSigmas, sigmaToTimestep } from './karras.ts';
import { asKindOf, originalFromOutput } from './prediction.ts';

export interface DpmSolverOptions {
  steps: number;
  /** 2 (default) for 2M; 1 for DPM-Solver++ 1S (= DDIM). */
  solverOrder?: 1 | 2;
  /** How the second-order correction is formed: 'midpoint' (default) or 'heun'. */
  solverType?: 'midpoint' | 'heun';
  /** First-order last step(s) when there are fewer than 15 steps (default true). */
  lowerOrderFinal?: boolean;
  /** Where the last step lands: 'alpha0' (diffusers 0.21.4, default) or 'zero' (σ = 0, newer diffusers). */
  finalSigma?: 'alpha0' | 'zero';
}

interface Point {
  alpha: number;
  sigma: number;
  lambda: number;
}

export class DpmSolverMultistepScheduler implements Scheduler {
  readonly name = 'dpmsolver++' as const;
  readonly config: SchedulerConfig;
  readonly timesteps: number[];
  readonly initNoiseSigma = 1;
  readonly alphasCumprod: Float64Array;
  readonly solverOrder: 1 | 2;
  readonly solverType: 'midpoint' | 'heun';
  readonly lowerOrderFinal: boolean;
  readonly finalSigma: 'alpha0' | 'zero';
  /** k-diffusion σ of each step (the Karras σ when `useKarrasSigmas`, else σ of the step's timestep). */
  readonly sigmas: number[];
  /** Data predictions m of earlier steps (the most recent last) and the points they were made at. */
  private history: { m: Vec; at: Point }[] = [];
  private lowerOrderCount = 0;
  private nextIndex = -1;

  constructor(config: Partial<SchedulerConfig>, options: DpmSolverOptions) {
    this.config = resolveConfig(config);
    checkSupported('dpmsolver++', this.config);
    const spacing: TimestepSpacing = this.config.timestepSpacing ?? 'linspace';
    this.alphasCumprod = alphasCumprodForSigmas(this.config);
    this.solverOrder = options.solverOrder ?? 2;
    this.solverType = options.solverType ?? 'midpoint';
    this.lowerOrderFinal = options.lowerOrderFinal ?? true;
    this.finalSigma = options.finalSigma ?? 'alpha0';
    if (this.config.useKarrasSigmas) {
      const table = Array.from(this.alphasCumprod, sigmaOf);
      const logTable = table.map(Math.log);
      const karras = karrasSigmas(table[0]!, table[table.length - 1]!, options.steps);
      const rounded = karras.map((s) => roundHalfEven(sigmaToTimestep(s, logTable)));
      const keep = rounded.map((t, i) => this.finalSigma === 'zero' || rounded.indexOf(t) === i);
      this.timesteps = rounded.filter((_, i) => keep[i]);
      this.sigmas = karras.filter((_, i) => keep[i]);
    } else {
      this.timesteps = dpmTimesteps(options.steps, this.config.numTrainTimesteps, spacing, this.config.stepsOffset);
      this.sigmas = this.timesteps.map((t) => sigmaOf(this.alphasCumprod[t]!));
    }
    if (this.solverOrder !== 1 && this.solverOrder !== 2) {
      throw new SchedulerError('BAD_SCHEDULER_OPTION', `DPM-Solver++ solverOrder must be 1 or 2, got ${String(this.solverOrder)}`);
    }
    if (this.solverType !== 'midpoint' && this.solverType !== 'heun') {
      throw new SchedulerError('BAD_SCHEDULER_OPTION', `DPM-Solver++ solverType must be 'midpoint' or 'heun', got '${String(this.solverType)}'`);
    }
    if (this.finalSigma !== 'alpha0' && this.finalSigma !== 'zero') {
      throw new SchedulerError('BAD_SCHEDULER_OPTION', `DPM-Solver++ finalSigma must be 'alpha0' or 'zero', got '${String(this.finalSigma)}'`);
    }
  }

  private pointAtTimestep(t: number): Point {
    const a = this.alphasCumprod[t]!;
    const alpha = Math.sqrt(a);
    const sigma = Math.sqrt(1 - a);
    return { alpha, sigma, lambda: Math.log(alpha) - Math.log(sigma) };
  }

  private pointAtSigma(s: number): Point {
    const alpha = 1 / Math.sqrt(s * s + 1);
    const sigma = s * alpha;
    return { alpha, sigma, lambda: Math.log(alpha) - Math.log(sigma) };
  }

  /** The point step i starts from (i < n) or the point the run ends at (i = n). */
  private point(i: number): Point {
    if (i < this.timesteps.length) {
      const karrasSigma = this.config.useKarrasSigmas && this.finalSigma === 'zero';
      return karrasSigma ? this.pointAtSigma(this.sigmas[i]!) : this.pointAtTimestep(this.timesteps[i]!);
    }
    if (this.finalSigma === 'zero') return { alpha: 1, sigma: 0, lambda: Infinity };
    return this.pointAtTimestep(0);
  }

  private checkIndex(i: number, where: string): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.timesteps.length) {
      throw new SchedulerError('BAD_STEP_INDEX', `DPM-Solver++ ${where}: step index ${i} is outside 0…${this.timesteps.length - 1}`);
    }
  }

  scaleModelInput<V extends Vec>(x: V): V {
    return x;
  }

  predictOriginal<V extends Vec>(output: Vec, i: number, x: V): V {
    this.checkIndex(i, 'predictOriginal');
    const { alpha } = this.point(i);
    return asKindOf(x, originalFromOutput(output, x, alpha * alpha, this.config.predictionType, 'DPM-Solver++ predictOriginal'));
  }

  step<V extends Vec>(eps: Vec, i: number, x: V): V {
    this.checkIndex(i, 'step');
    // The first call may start anywhere (img2img starts part-way); later calls must follow in order.
    if (this.nextIndex >= 0 && i !== this.nextIndex) {
      throw new SchedulerError('BAD_STEP_ORDER', `DPM-Solver++ is multistep: expected step ${this.nextIndex}, got ${i} (use a fresh scheduler per run)`);
    }
    const m0 = this.predictOriginal(eps, i, x);
    const n = this.timesteps.length;
    const s0 = this.point(i);
    const t = this.point(i + 1);
    const fewSteps = this.lowerOrderFinal && n < 15;
    const lastFirstOrder = i === n - 1 && (fewSteps || this.finalSigma === 'zero');
    const prev = this.history[this.history.length - 1];
    const firstOrder = this.solverOrder === 1 || this.lowerOrderCount < 1 || lastFirstOrder || !prev;

    const h = t.lambda - s0.lambda;
    const expm = Math.exp(-h) - 1; // e^{−h} − 1
    const ratio = t.sigma / s0.sigma;
    const out = like(x);
    if (h === 0) {
      // diffusers 0.21.4 with Karras σ: the last step goes from t = 0 to ᾱ₀, the same point, and x stays (its
      // Heun coefficient would be 0/0 there).
      out.set(x);
    } else if (firstOrder) {
      for (let k = 0; k < x.length; k++) out[k] = ratio * x[k]! - t.alpha * expm * m0[k]!;
    } else {
      const h0 = s0.lambda - prev.at.lambda;
      const r0 = h0 / h;
      const m1 = prev.m;
      const c1 = this.solverType === 'midpoint' ? -0.5 * t.alpha * expm : t.alpha * (expm / h + 1);
      for (let k = 0; k < x.length; k++) {
        const d1 = (m0[k]! - m1[k]!) / r0;
        out[k] = ratio * x[k]! - t.alpha * expm * m0[k]! + c1 * d1;
      }
    }
    this.history = [{ m: m0, at: s0 }];
    if (this.lowerOrderCount < this.solverOrder) this.lowerOrderCount++;
    this.nextIndex = i + 1;
    return out;
  }

  addNoise<V extends Vec>(x0: V, noise: Vec, i: number): V {
    checkSameLength(x0, noise, 'DPM-Solver++ addNoise');
    this.checkIndex(i, 'addNoise');
    const { alpha } = this.point(i);
    return addNoise(x0, noise, alpha * alpha);
  }
}
