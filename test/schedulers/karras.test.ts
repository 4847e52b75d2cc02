// Karras σ (use_karras_sigmas) for DPM-Solver++ 2M and Euler, checked against the published formulas computed here:
// Karras et al. (2022) eq. 5 for the σ, a bisection on the log-σ interpolation for their timesteps, and
// DPM-Solver++(2M) written in the paper's form (Lu et al. 2022, Alg. 2) for the trajectories.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { needsShared, sharedPath } from '../helpers/shared.ts';
import {
  alphasCumprod,
  createScheduler,
  DpmSolverMultistepScheduler,
  EulerDiscreteScheduler,
  resolveConfig,
  roundHalfEven,
  SCHEDULER_PRESETS,
  sigmaOf,
} from '../../models/schedulers/index.ts';

const RHO = 7;

function close(actual: number, expected: number, rel: number, what: string): void {
  const err = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-30);
  assert.ok(err <= rel, `${what}: got ${actual}, expected ${expected} (relative error ${err.toExponential(2)} > ${rel})`);
}

/** Karras eq. 5: n σ from σ_max down to σ_min, evenly spaced in σ^{1/ρ}. */
function expectedKarras(sigmaMin: number, sigmaMax: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = n === 1 ? 0 : i / (n - 1);
    out.push((sigmaMax ** (1 / RHO) * (1 - r) + sigmaMin ** (1 / RHO) * r) ** RHO);
  }
  return out;
}

/** The t in [0, T−1] where the piecewise-linear interpolation of log σ(t) equals log σ, by bisection. */
function expectedTimestep(sigma: number, table: number[]): number {
  const logAt = (t: number): number => {
    const lo = Math.min(Math.floor(t), table.length - 2);
    const w = t - lo;
    return Math.log(table[lo]!) * (1 - w) + Math.log(table[lo + 1]!) * w;
  };
  const target = Math.log(sigma);
  let a = 0;
  let b = table.length - 1;
  if (target <= logAt(a)) return a;
  if (target >= logAt(b)) return b;
  for (let k = 0; k < 200; k++) {
    const m = (a + b) / 2;
    if (logAt(m) < target) a = m;
    else b = m;
  }
  return (a + b) / 2;
}

const table64 = Array.from(alphasCumprod(resolveConfig({ precision: 'float64' })), sigmaOf);

test('DPM-Solver++ 2M Karras timesteps for SD 1.5 (diffusers: 20 steps 999, 962, 921, 876, …; 25 steps 999, 970, 938, 905, …)', () => {
  // Both lists were derived with numpy from diffusers' formulas on torch's float32 tables.
  const d20 = createScheduler('dpmsolver++', { useKarrasSigmas: true }, { steps: 20 }).timesteps;
  assert.deepEqual(d20, [999, 962, 921, 876, 827, 772, 710, 640, 561, 474, 380, 285, 197, 123, 69, 35, 15, 6, 2, 0]);
  const d25 = createScheduler('dpmsolver++', { useKarrasSigmas: true }, { steps: 25 }).timesteps;
  assert.deepEqual(d25, [999, 970, 938, 905, 868, 829, 786, 739, 687, 630, 568, 500, 427, 352, 278, 207, 146, 96, 59, 34, 18, 9, 4, 1, 0]);
  // The same lists from the formulas computed here, at several step counts.
  for (const n of [5, 10, 20, 25, 30, 50]) {
    const s = new DpmSolverMultistepScheduler({ precision: 'float64', useKarrasSigmas: true }, { steps: n });
    const karras = expectedKarras(table64[0]!, table64[999]!, n);
    const rounded = karras.map((sg) => roundHalfEven(expectedTimestep(sg, table64)));
    const unique = rounded.filter((t, i) => rounded.indexOf(t) === i);
    assert.deepEqual(s.timesteps, unique, `${n} steps`);
    unique.forEach((t, i) => close(s.sigmas[i]!, karras[rounded.indexOf(t)]!, 1e-12, `${n} steps σ[${i}]`));
  }
  // 50 steps: two σ near the end round to t = 1, and diffusers keeps the first (49 steps).
  assert.equal(createScheduler('dpmsolver++', { useKarrasSigmas: true }, { steps: 50 }).timesteps.length, 49);
  // finalSigma 'zero' (newer diffusers) keeps every Karras σ.
  assert.equal(createScheduler('dpmsolver++', { useKarrasSigmas: true }, { steps: 50, finalSigma: 'zero' }).timesteps.length, 50);
});

test('Euler Karras: σ between the spaced endpoints, fractional timesteps, σ = 0 appended', () => {
  for (const spacing of ['linspace', 'leading', 'trailing'] as const) {
    const plain = new EulerDiscreteScheduler({ precision: 'float64', timestepSpacing: spacing }, { steps: 20 });
    const k = new EulerDiscreteScheduler({ precision: 'float64', timestepSpacing: spacing, useKarrasSigmas: true }, { steps: 20 });
    const want = expectedKarras(plain.sigmas[19]!, plain.sigmas[0]!, 20);
    assert.equal(k.sigmas.length, 21);
    assert.equal(k.sigmas[20], 0);
    want.forEach((s, i) => close(k.sigmas[i]!, s, 1e-12, `${spacing} σ[${i}]`));
    want.forEach((s, i) => {
      const t = expectedTimestep(s, table64);
      assert.ok(Math.abs(k.timesteps[i]! - t) < 1e-9, `${spacing} t[${i}]: got ${k.timesteps[i]}, expected ${t}`);
    });
    const initWant = spacing === 'leading' ? Math.sqrt(want[0]! ** 2 + 1) : want[0]!;
    close(k.initNoiseSigma, initWant, 1e-12, `${spacing} init noise σ`);
  }
});

/** Gaussian data N(μ, s²) per element: the exact ε̂(x) at a point with ᾱ (x = √ᾱ·x₀ + √(1−ᾱ)·ε). */
const MU = [0.7, -1.2, 0.1];
const S2 = 0.25;
function gaussianEps(x: ArrayLike<number>, alphaBar: number): Float64Array {
  const a = Math.sqrt(alphaBar);
  const sg = Math.sqrt(1 - alphaBar);
  return Float64Array.from(MU, (m, k) => (sg * (x[k]! - a * m)) / (a * a * S2 + sg * sg));
}

/** DPM-Solver++(2M), Lu et al. 2022 Alg. 2, over the points (αᵢ, σᵢ) and an end point; first-order first step. */
function referenceDpm2M(points: { alpha: number; sigma: number }[], end: { alpha: number; sigma: number }, x: Float64Array, lowerOrderLast: boolean): Float64Array[] {
  const all = [...points, end];
  const lambda = all.map((p) => Math.log(p.alpha / p.sigma));
  let prevM: Float64Array | undefined;
  const out: Float64Array[] = [];
  for (let i = 0; i < points.length; i++) {
    const p = all[i]!;
    const q = all[i + 1]!;
    const eps = gaussianEps(x, p.alpha * p.alpha);
    const m = Float64Array.from(x, (v, k) => (v - p.sigma * eps[k]!) / p.alpha);
    const h = lambda[i + 1]! - lambda[i]!;
    let d = m;
    const last = i === points.length - 1;
    if (prevM && !(last && lowerOrderLast)) {
      const r = (lambda[i]! - lambda[i - 1]!) / h;
      const pm = prevM;
      d = Float64Array.from(m, (v, k) => (1 + 1 / (2 * r)) * v - (1 / (2 * r)) * pm[k]!);
    }
    x = Float64Array.from(x, (v, k) => (q.sigma / p.sigma) * v - q.alpha * (Math.exp(-h) - 1) * d[k]!);
    out.push(x);
    prevM = m;
  }
  return out;
}

function runScheduler(s: { timesteps: number[]; step: (e: Float64Array, i: number, x: Float64Array) => Float64Array }, x: Float64Array, alphaBarAt: (i: number) => number): Float64Array[] {
  const out: Float64Array[] = [];
  s.timesteps.forEach((_, i) => {
    x = s.step(gaussianEps(x, alphaBarAt(i)), i, x);
    out.push(x);
  });
  return out;
}

test('DPM-Solver++ 2M Karras trajectories equal the paper form at every step (0.21.4 and newer semantics)', () => {
  const x0 = new Float64Array([1.3, -0.4, 2.2]);
  const acp = alphasCumprod(resolveConfig({ precision: 'float64' }));
  const atT = (t: number) => ({ alpha: Math.sqrt(acp[t]!), sigma: Math.sqrt(1 - acp[t]!) });
  const atSigma = (s: number) => ({ alpha: 1 / Math.sqrt(s * s + 1), sigma: s / Math.sqrt(s * s + 1) });
  for (const n of [10, 25]) {
    // 0.21.4: the points are ᾱ at the rounded timesteps; the run ends at ᾱ₀ (a last step from t = 0 to t = 0).
    const old = new DpmSolverMultistepScheduler({ precision: 'float64', useKarrasSigmas: true }, { steps: n });
    const want = referenceDpm2M(old.timesteps.map(atT), atT(0), x0, n < 15);
    runScheduler(old, x0, (i) => acp[old.timesteps[i]!]!).forEach((got, i) =>
      got.forEach((v, k) => close(v, want[i]![k]!, 1e-10, `0.21.4 ${n} steps, step ${i}[${k}]`)),
    );
    // Newer diffusers: the points are the Karras σ themselves and the run ends at σ = 0 (first-order last step).
    const now = new DpmSolverMultistepScheduler({ precision: 'float64', useKarrasSigmas: true }, { steps: n, finalSigma: 'zero' });
    const wantNow = referenceDpm2M(now.sigmas.map(atSigma), { alpha: 1, sigma: 0 }, x0, true);
    runScheduler(now, x0, (i) => 1 / (now.sigmas[i]! ** 2 + 1)).forEach((got, i) =>
      got.forEach((v, k) => close(v, wantNow[i]![k]!, 1e-10, `zero ${n} steps, step ${i}[${k}]`)),
    );
  }
  // Karras moves the trajectory: the 20-step result differs from the plain linspace run's.
  const plain = new DpmSolverMultistepScheduler({ precision: 'float64' }, { steps: 20 });
  const karras = new DpmSolverMultistepScheduler({ precision: 'float64', useKarrasSigmas: true }, { steps: 20 });
  const endPlain = runScheduler(plain, x0, (i) => acp[plain.timesteps[i]!]!)[19]!;
  const endKarras = runScheduler(karras, x0, (i) => acp[karras.timesteps[i]!]!)[19]!;
  assert.ok(Math.abs(endPlain[0]! - endKarras[0]!) > 1e-6, `${endPlain[0]} vs ${endKarras[0]}`);
});

test('Euler Karras trajectory: x ← x + d·(σᵢ₊₁ − σᵢ) over the Karras σ, the model fed x/√(σ²+1)', () => {
  const e = new EulerDiscreteScheduler({ precision: 'float64', useKarrasSigmas: true }, { steps: 12 });
  let x = Float64Array.from([0.3, -0.8, 1.1], (v) => v * e.initNoiseSigma);
  let ref = x.slice();
  const sig = expectedKarras(table64[0]!, table64[999]!, 12).concat([0]);
  for (let i = 0; i < 12; i++) {
    const alphaBar = 1 / (sig[i]! ** 2 + 1);
    const eps = gaussianEps(e.scaleModelInput(x, i), alphaBar);
    x = e.step(eps, i, x);
    const refEps = gaussianEps(Float64Array.from(ref, (v) => v * Math.sqrt(alphaBar)), alphaBar);
    ref = Float64Array.from(ref, (v, k) => v + refEps[k]! * (sig[i + 1]! - sig[i]!));
    ref.forEach((v, k) => close(x[k]!, v, 1e-10, `step ${i}[${k}]`));
  }
});

test('sampler presets: "DPM++ 2M Karras" is DPM-Solver++ with Karras σ', () => {
  const p = SCHEDULER_PRESETS['DPM++ 2M Karras'];
  const s = createScheduler(p.name, p.config, { steps: 20 });
  assert.equal(s.name, 'dpmsolver++');
  assert.deepEqual(s.timesteps.slice(0, 4), [999, 962, 921, 876]);
  const plain = SCHEDULER_PRESETS['DPM++ 2M'];
  assert.deepEqual(createScheduler(plain.name, plain.config, { steps: 20 }).timesteps.slice(0, 2), [999, 949]);
});

test('Karras σ on a scheduler that does not implement them is an error', () => {
  assert.throws(() => createScheduler('ddim', { useKarrasSigmas: true }), { code: 'BAD_SCHEDULER_OPTION' });
  assert.throws(() => createScheduler('pndm', { useKarrasSigmas: true }), { code: 'BAD_SCHEDULER_OPTION' });
});

test('Karras endpoints are the reference σ(999) and σ(0) of ../shared/reference/vectors.json', { skip: needsShared('reference/vectors.json') }, () => {
  const v = JSON.parse(readFileSync(sharedPath('reference/vectors.json'), 'utf8')) as Record<string, Record<string, number>>;
  const sigma = v['sigma_k (sqrt((1-acp)/acp))']!;
  const s = new DpmSolverMultistepScheduler({ precision: 'float64', useKarrasSigmas: true }, { steps: 25, finalSigma: 'zero' });
  close(s.sigmas[0]!, sigma['999']!, 1e-8, 'σ_max');
  close(s.sigmas[24]!, sigma['0']!, 1e-8, 'σ_min');
  // The middle of the ramp, from eq. 5 with the reference endpoints.
  close(s.sigmas[12]!, expectedKarras(sigma['0']!, sigma['999']!, 25)[12]!, 1e-8, 'σ[12]');
});
