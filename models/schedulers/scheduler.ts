// The interface every scheduler presents to the sampling loop. A scheduler instance is stateful for one
// sampling run (multistep solvers keep their history): create a fresh one per run.

import type { Rng } from '../ops/random.ts';
import type { SchedulerConfig, Vec } from './schedule.ts';

export interface Scheduler {
  readonly name: SchedulerName;
  readonly config: SchedulerConfig;
  /** The timestep passed to the U-Net at each step, noisy → clean (PLMS repeats one; Euler's may be fractional). */
  readonly timesteps: number[];
  /** The initial latents are randn × initNoiseSigma (1 except Euler, whose latents live in σ-space). */
  readonly initNoiseSigma: number;
  /** ᾱ_t for t = 0 … T−1 in the config's precision. */
  readonly alphasCumprod: Float64Array;
  /** The U-Net input at step i (identity except Euler: x/√(σᵢ² + 1)). */
  scaleModelInput<V extends Vec>(x: V, i: number): V;
  /** One update x_{tᵢ} → x_{tᵢ₊₁} from the model's ε at step i. `rng` supplies the noise of stochastic steps. */
  step<V extends Vec>(eps: Vec, i: number, x: V, rng?: Rng): V;
  /** x̂₀, the clean-sample estimate at step i (for previews); does not advance the state. */
  predictOriginal<V extends Vec>(eps: Vec, i: number, x: V): V;
  /** Noise a clean sample to the level of step i (img2img starts): the result is a valid x at step i. */
  addNoise<V extends Vec>(x0: V, noise: Vec, i: number): V;
}

export type SchedulerName = 'ddim' | 'dpmsolver++' | 'euler' | 'pndm';

export const SCHEDULER_NAMES: readonly SchedulerName[] = ['ddim', 'dpmsolver++', 'euler', 'pndm'];
