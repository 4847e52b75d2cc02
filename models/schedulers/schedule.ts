// The noise schedule every SD 1.5 scheduler shares (spec §3.5): betas, ᾱ = cumprod(1 − β), and the config that
// produces them. torch builds the tables in float32, so that is the default; `precision: 'float64'` gives the
// exact-formula tables the spec's reference numbers and toy regression values were computed with.

export type Vec = Float32Array | Float64Array;

export type TimestepSpacing = 'leading' | 'linspace' | 'trailing';

/** What the model predicts: the noise ε (SD 1.x), v = √ᾱ·ε − √(1−ᾱ)·x₀ (SD 2.x 768), or the clean sample x₀. */
export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';
export const PREDICTION_TYPES: readonly PredictionType[] = ['epsilon', 'v_prediction', 'sample'];

export interface SchedulerConfig {
  numTrainTimesteps: number;
  betaStart: number;
  betaEnd: number;
  /** squaredcos_cap_v2: the cosine schedule of Nichol & Dhariwal (2021), β capped at 0.999. */
  betaSchedule: 'scaled_linear' | 'linear' | 'squaredcos_cap_v2';
  /** Explicit betas (diffusers `trained_betas`), overriding the schedule when given. */
  trainedBetas: number[] | null;
  /** When false (SD 1.5) the step past t = 0 lands on ᾱ₀, not on 1. */
  setAlphaToOne: boolean;
  stepsOffset: number;
  predictionType: PredictionType;
  /**
   * Rescale β so that ᾱ_{T−1} = 0 (Lin et al. 2023, "Common Diffusion Noise Schedules and Sample Steps are
   * Flawed"); meant for v-prediction models with trailing spacing. Euler and DPM-Solver++ then use ᾱ = 2⁻²⁴ at the
   * last timestep so its σ stays finite, as diffusers does.
   */
  rescaleBetasZeroSnr: boolean;
  /** Karras et al. (2022) σ spacing, ρ = 7 (DPM-Solver++ and Euler only). */
  useKarrasSigmas: boolean;
  /** DDIM only: clamp x̂₀ to ±clipSampleRange before the update. */
  clipSample: boolean;
  clipSampleRange: number;
  /** Undefined: each scheduler's own default (DDIM/PNDM leading, DPM/Euler linspace), as with the SD 1.5 JSON. */
  timestepSpacing?: TimestepSpacing;
  /** Arithmetic of the β/ᾱ tables: 'float32' like torch (default) or 'float64' (the spec's reference formulas). */
  precision: 'float32' | 'float64';
}

/** SD 1.5 `scheduler/scheduler_config.json` (spec §3.5). */
export const SD15_SCHEDULER_CONFIG: SchedulerConfig = {
  numTrainTimesteps: 1000,
  betaStart: 0.00085,
  betaEnd: 0.012,
  betaSchedule: 'scaled_linear',
  trainedBetas: null,
  setAlphaToOne: false,
  stepsOffset: 1,
  predictionType: 'epsilon',
  rescaleBetasZeroSnr: false,
  useKarrasSigmas: false,
  clipSample: false,
  clipSampleRange: 1,
  precision: 'float32',
};

export class SchedulerError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function resolveConfig(config: Partial<SchedulerConfig> = {}): SchedulerConfig {
  const c: SchedulerConfig = { ...SD15_SCHEDULER_CONFIG, ...stripUndefined(config) };
  if (!Number.isInteger(c.numTrainTimesteps) || c.numTrainTimesteps < 2) {
    throw new SchedulerError('BAD_SCHEDULER_CONFIG', `scheduler config numTrainTimesteps: expected an integer ≥ 2, got ${c.numTrainTimesteps}`);
  }
  if (!(c.betaStart > 0 && c.betaEnd > 0 && c.betaEnd < 1 && c.betaStart < 1)) {
    throw new SchedulerError('BAD_SCHEDULER_CONFIG', `scheduler config betaStart/betaEnd: expected values in (0, 1), got ${c.betaStart}, ${c.betaEnd}`);
  }
  if (!PREDICTION_TYPES.includes(c.predictionType)) {
    throw new SchedulerError(
      'UNSUPPORTED_PREDICTION',
      `scheduler config predictionType: expected one of ${PREDICTION_TYPES.join(', ')}, got '${String(c.predictionType)}'`,
    );
  }
  if (!(c.clipSampleRange > 0)) {
    throw new SchedulerError('BAD_SCHEDULER_CONFIG', `scheduler config clipSampleRange: expected a value > 0, got ${c.clipSampleRange}`);
  }
  if (c.trainedBetas && c.trainedBetas.length !== c.numTrainTimesteps) {
    throw new SchedulerError('BAD_SCHEDULER_CONFIG', `scheduler config trainedBetas: expected ${c.numTrainTimesteps} values, got ${c.trainedBetas.length}`);
  }
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** β₀ … β_{T−1}. scaled_linear: (√β_start + i·(√β_end − √β_start)/(T−1))². */
export function betas(config: SchedulerConfig): Float64Array {
  const n = config.numTrainTimesteps;
  const f = config.precision === 'float32' ? Math.fround : (v: number) => v;
  const out = new Float64Array(n);
  if (config.trainedBetas) {
    config.trainedBetas.forEach((b, i) => (out[i] = f(b)));
    return config.rescaleBetasZeroSnr ? rescaleZeroTerminalSnr(out, f) : out;
  }
  if (config.betaSchedule === 'squaredcos_cap_v2') {
    // ᾱ(s) = cos²((s + 0.008)/1.008 · π/2) at s = i/T; β_i = min(1 − ᾱ((i+1)/T)/ᾱ(i/T), 0.999), computed in float64
    // as diffusers' betas_for_alpha_bar does before making a float32 tensor.
    const bar = (s: number): number => Math.cos(((s + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    for (let i = 0; i < n; i++) out[i] = f(Math.min(1 - bar((i + 1) / n) / bar(i / n), 0.999));
    return config.rescaleBetasZeroSnr ? rescaleZeroTerminalSnr(out, f) : out;
  }
  const [a, b] = config.betaSchedule === 'scaled_linear' ? [Math.sqrt(config.betaStart), Math.sqrt(config.betaEnd)] : [config.betaStart, config.betaEnd];
  const start = f(a);
  const end = f(b);
  const step = f((end - start) / (n - 1));
  const half = Math.floor(n / 2);
  for (let i = 0; i < n; i++) {
    // torch.linspace fills the second half from the end, so the last value is exactly `end`.
    const v = i < half ? f(start + f(i * step)) : f(end - f((n - 1 - i) * step));
    out[i] = config.betaSchedule === 'scaled_linear' ? f(v * v) : v;
  }
  return config.rescaleBetasZeroSnr ? rescaleZeroTerminalSnr(out, f) : out;
}

/**
 * Lin et al. (2023) Algorithm 1: shift and scale √ᾱ so that its last value is 0 and its first is unchanged, then
 * recover β from the ratios of consecutive ᾱ (β₀ = 1 − ᾱ₀).
 */
function rescaleZeroTerminalSnr(b: Float64Array, f: (v: number) => number): Float64Array {
  const n = b.length;
  const sqrtBar = new Float64Array(n);
  let prod = 1;
  for (let i = 0; i < n; i++) {
    prod = f(prod * f(1 - b[i]!));
    sqrtBar[i] = f(Math.sqrt(prod));
  }
  const first = sqrtBar[0]!;
  const last = sqrtBar[n - 1]!;
  const scale = f(first / f(first - last));
  const bar = sqrtBar.map((v) => {
    const shifted = f(f(v - last) * scale);
    return f(shifted * shifted);
  });
  const out = new Float64Array(n);
  out[0] = f(1 - bar[0]!);
  for (let i = 1; i < n; i++) out[i] = f(1 - f(bar[i]! / bar[i - 1]!));
  return out;
}

/** ᾱ of the last training timestep when zero-SNR rescaling made it 0: diffusers' Euler and DPM use 2⁻²⁴. */
export const ZERO_SNR_LAST_ALPHA_BAR = 2 ** -24;

/** The ᾱ table σ-based schedulers use: `alphasCumprod`, with a zero terminal ᾱ lifted to 2⁻²⁴ (σ stays finite). */
export function alphasCumprodForSigmas(config: SchedulerConfig): Float64Array {
  const acp = alphasCumprod(config);
  if (config.rescaleBetasZeroSnr) acp[acp.length - 1] = ZERO_SNR_LAST_ALPHA_BAR;
  return acp;
}

/** ᾱ_t = ∏_{s ≤ t} (1 − β_s), in the config's precision (stored as float64 values). */
export function alphasCumprod(config: SchedulerConfig): Float64Array {
  const f = config.precision === 'float32' ? Math.fround : (v: number) => v;
  const b = betas(config);
  const out = new Float64Array(b.length);
  let prod = 1;
  for (let i = 0; i < b.length; i++) {
    prod = f(prod * f(1 - b[i]!));
    out[i] = prod;
  }
  return out;
}

/** The ᾱ a step past t = 0 lands on: 1 with set_alpha_to_one, else ᾱ₀. */
export function finalAlphaCumprod(config: SchedulerConfig, acp: Float64Array): number {
  return config.setAlphaToOne ? 1 : acp[0]!;
}

/** σ_t = √((1 − ᾱ_t)/ᾱ_t), the k-diffusion noise level of timestep t. */
export function sigmaOf(alphaBar: number): number {
  return Math.sqrt((1 - alphaBar) / alphaBar);
}

/** Forward diffusion q(x_t | x₀) (training): √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε. */
export function addNoise<V extends Vec>(x0: V, eps: Vec, alphaBar: number): V {
  checkSameLength(x0, eps, 'addNoise');
  const a = Math.sqrt(alphaBar);
  const s = Math.sqrt(1 - alphaBar);
  const out = like(x0);
  for (let i = 0; i < x0.length; i++) out[i] = a * x0[i]! + s * eps[i]!;
  return out;
}

/** A new zeroed array of the same kind and length as `x`. */
export function like<V extends Vec>(x: V): V {
  return (x instanceof Float64Array ? new Float64Array(x.length) : new Float32Array(x.length)) as V;
}

export function checkSameLength(a: Vec, b: Vec, where: string): void {
  if (a.length !== b.length) {
    throw new SchedulerError('SHAPE_MISMATCH', `${where}: model output has ${b.length} values, sample has ${a.length}`);
  }
}
