// The guided sampling loop (spec §1.6), independent of any backend: the caller supplies ε-prediction as an async
// function (a U-Net on tfjs or ONNX Runtime, with or without ControlNet), this loop owns classifier-free
// guidance, the scheduler steps, progress, previews and cancellation.
//
// Per step i: the U-Net input is scheduler.scaleModelInput(x, i); unconditional and conditional halves run as ONE
// batch [uncond; cond] (KOSMOS-G's layout), and ε = ε_u + s·(ε_c − ε_u). With s = 1 (or no uncond) only the
// conditional half is run.

import { hostTensor, type HostTensor } from '../ops/ops.ts';
import { randn } from '../ops/random.ts';
import type { Scheduler } from '../schedulers/scheduler.ts';
import { throwIfAborted } from './cancel.ts';

export interface SamplingStep {
  /** 0-based step index into scheduler.timesteps. */
  index: number;
  /** Number of steps in the run. */
  total: number;
  /** index / total in [0, 1): where a ControlNet start/end window is evaluated. */
  fraction: number;
  /** True when the batch is [uncond; cond] (guidance ≠ 1): its first half is the unconditional one. */
  guided?: boolean;
}

/**
 * One noise prediction. `latents` is [N, C, H, W], `cond` is [N, L, D] (N = 2B with guidance, else B); returns
 * ε as N·C·H·W floats. `t` may be fractional (Euler).
 */
export type PredictEps = (latents: HostTensor, t: number, cond: HostTensor, step: SamplingStep) => Promise<Float32Array>;

export interface GuidedSamplingOptions {
  scheduler: Scheduler;
  /** x at the first step, [B, C, H, W]: noise × initNoiseSigma (see `initialLatents`), or an img2img start. */
  latents: HostTensor;
  predictEps: PredictEps;
  /** [B | 1, L, D]: a batch of 1 is repeated over the latent batch. */
  cond: HostTensor;
  /** [B | 1, L, D]: KOSMOS-G's null condition, or CLIP("") for plain SD. Needed unless guidanceScale is 1. */
  uncond?: HostTensor;
  guidanceScale: number;
  signal?: AbortSignal;
  /** After each step: steps done (1…total), total, and x̂₀ every `previewEvery` steps (and at the end). */
  onStep?: (done: number, total: number, x0Preview?: HostTensor) => void | Promise<void>;
  /** 0 or absent: no previews. */
  previewEvery?: number;
  /** First step to run (img2img strength); default 0. */
  startStep?: number;
}

export class SamplingError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Seeded initial noise from the project's PRNG, × the scheduler's initNoiseSigma (right for Euler too). */
export function initialLatents(scheduler: Scheduler, shape: readonly number[], seed: number): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const noise = randn(n, seed);
  const s = scheduler.initNoiseSigma;
  if (s !== 1) for (let i = 0; i < n; i++) noise[i] = noise[i]! * s;
  return hostTensor(noise, shape);
}

/** Repeat a [1, …] tensor to batch `b`, or check it already has batch `b`. */
export function toBatch(x: HostTensor, b: number, what: string): HostTensor {
  const n = x.shape[0];
  if (n === b) return x;
  if (n !== 1) {
    throw new SamplingError('BATCH_MISMATCH', `guided sampling: ${what} has batch ${n}, expected 1 or ${b} (the latent batch)`);
  }
  const per = x.data.length;
  const data = new Float32Array(per * b);
  for (let i = 0; i < b; i++) data.set(x.data, i * per);
  return hostTensor(data, [b, ...x.shape.slice(1)]);
}

export function concatBatch(a: HostTensor, b: HostTensor): HostTensor {
  const data = new Float32Array(a.data.length + b.data.length);
  data.set(a.data, 0);
  data.set(b.data, a.data.length);
  return hostTensor(data, [a.shape[0]! + b.shape[0]!, ...a.shape.slice(1)]);
}

/** Runs the loop and resolves to the final latents [B, C, H, W]. */
export async function sampleGuided(options: GuidedSamplingOptions): Promise<HostTensor> {
  const { scheduler, predictEps, guidanceScale, signal, onStep } = options;
  const shape = [...options.latents.shape];
  if (shape.length !== 4) {
    throw new SamplingError('BAD_LATENTS', `guided sampling: latents must be [B, C, H, W], got [${shape.join(', ')}]`);
  }
  if (!Number.isFinite(guidanceScale)) {
    throw new SamplingError('BAD_GUIDANCE', `guided sampling: guidanceScale must be a finite number, got ${guidanceScale}`);
  }
  const b = shape[0]!;
  const guided = guidanceScale !== 1;
  if (guided && !options.uncond) {
    throw new SamplingError('MISSING_UNCOND', `guided sampling: guidanceScale ${guidanceScale} needs an unconditional embedding`);
  }
  const cond = toBatch(options.cond, b, 'cond');
  const condBatch = guided ? concatBatch(toBatch(options.uncond!, b, 'uncond'), cond) : cond;
  if (guided && options.uncond!.shape.slice(1).join() !== options.cond.shape.slice(1).join()) {
    throw new SamplingError(
      'BATCH_MISMATCH',
      `guided sampling: uncond [${options.uncond!.shape.join(', ')}] and cond [${options.cond.shape.join(', ')}] differ beyond the batch`,
    );
  }

  const total = scheduler.timesteps.length;
  const start = options.startStep ?? 0;
  if (!Number.isInteger(start) || start < 0 || start > total) {
    throw new SamplingError('BAD_START_STEP', `guided sampling: startStep must be an integer in [0, ${total}], got ${start}`);
  }
  const previewEvery = options.previewEvery ?? 0;
  let x = Float32Array.from(options.latents.data);
  const per = x.length;

  for (let i = start; i < total; i++) {
    throwIfAborted(signal, `sampling step ${i + 1}/${total}`);
    const t = scheduler.timesteps[i]!;
    const xin = scheduler.scaleModelInput(x, i);
    const latentBatch = guided ? hostTensor(repeatTwice(xin), [2 * b, ...shape.slice(1)]) : hostTensor(xin, shape);
    const step: SamplingStep = { index: i, total, fraction: i / total, guided };
    const out = await predictEps(latentBatch, t, condBatch, step);
    throwIfAborted(signal, `sampling step ${i + 1}/${total}`);
    const expected = guided ? 2 * per : per;
    if (out.length !== expected) {
      throw new SamplingError('BAD_PREDICTION', `guided sampling step ${i + 1}: the model returned ${out.length} values, expected ${expected}`);
    }
    const eps = guided ? combineGuidance(out, per, guidanceScale) : out;
    const preview =
      previewEvery > 0 && ((i + 1) % previewEvery === 0 || i === total - 1)
        ? hostTensor(scheduler.predictOriginal(eps, i, x), shape)
        : undefined;
    x = scheduler.step(eps, i, x);
    await onStep?.(i + 1, total, preview);
  }
  return hostTensor(x, shape);
}

function repeatTwice(x: Float32Array): Float32Array {
  const out = new Float32Array(2 * x.length);
  out.set(x, 0);
  out.set(x, x.length);
  return out;
}

/** ε = ε_u + s·(ε_c − ε_u), with the batch laid out [uncond; cond]. */
export function combineGuidance(batched: Float32Array, per: number, scale: number): Float32Array {
  const out = new Float32Array(per);
  for (let k = 0; k < per; k++) {
    const u = batched[k]!;
    out[k] = u + scale * (batched[per + k]! - u);
  }
  return out;
}
