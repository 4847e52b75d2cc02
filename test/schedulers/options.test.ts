// prediction_type, rescale_betas_zero_snr, DDIM clip_sample / set_alpha_to_one and trailing spacing, on the
// exact denoiser of Gaussian data (where ε̂, x̂₀ and v̂ are known in closed form) and against the published formulas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  alphasCumprod,
  createScheduler,
  resolveConfig,
  SCHEDULER_NAMES,
  withoutUnsupported,
  type PredictionType,
  type Scheduler,
  type SchedulerConfig,
  type SchedulerName,
} from '../../models/schedulers/index.ts';

const MU = [0.7, -1.2, 0.1, 2.0];
const S2 = 0.3;

/** The exact posterior means for x₀ ~ N(μ, s²) at a point with ᾱ: ε̂, x̂₀ and v̂ = √ᾱ·ε̂ − √(1−ᾱ)·x̂₀. */
function denoiser(x: ArrayLike<number>, alphaBar: number): Record<PredictionType, Float64Array> {
  const a = Math.sqrt(alphaBar);
  const s = Math.sqrt(1 - alphaBar);
  const eps = Float64Array.from(MU, (m, k) => (s * (x[k]! - a * m)) / (a * a * S2 + s * s));
  const x0 = Float64Array.from(MU, (m, k) => m + (a * S2 * (x[k]! - a * m)) / (a * a * S2 + s * s));
  const v = Float64Array.from(eps, (e, k) => a * e - s * x0[k]!);
  return { epsilon: eps, sample: x0, v_prediction: v };
}

/** ᾱ the model is at on step i: from σ for Euler (its U-Net input is x/√(σ²+1)), else from the timestep. */
function alphaBarAt(s: Scheduler, i: number): number {
  if (s.name === 'euler') return 1 / ((s as unknown as { sigmas: number[] }).sigmas[i]! ** 2 + 1);
  return s.alphasCumprod[s.timesteps[i]!]!;
}

function run(name: SchedulerName, config: Partial<SchedulerConfig>, type: PredictionType, steps = 12): Float64Array[] {
  const s = createScheduler(name, { precision: 'float64', ...config, predictionType: type }, { steps });
  let x = Float64Array.from([0.5, -1, 1.5, 0.2], (v) => v * s.initNoiseSigma);
  const out: Float64Array[] = [];
  s.timesteps.forEach((_, i) => {
    x = s.step(denoiser(s.scaleModelInput(x, i), alphaBarAt(s, i))[type], i, x);
    out.push(x);
  });
  return out;
}

test('DDIM, DPM-Solver++ and Euler give the same trajectory whether the model predicts ε, v or x₀', () => {
  for (const name of ['ddim', 'dpmsolver++', 'euler'] as const) {
    for (const spacing of ['leading', 'linspace', 'trailing'] as const) {
      const config = { timestepSpacing: spacing };
      const eps = run(name, config, 'epsilon');
      for (const type of ['v_prediction', 'sample'] as const) {
        const other = run(name, config, type);
        eps.forEach((x, i) =>
          x.forEach((v, k) => assert.ok(Math.abs(other[i]![k]! - v) < 1e-9 * Math.max(1, Math.abs(v)), `${name} ${spacing} ${type} step ${i}[${k}]: ${other[i]![k]} vs ${v}`)),
        );
      }
    }
  }
  // predictOriginal reads the output the same way.
  const d = createScheduler('ddim', { precision: 'float64', predictionType: 'v_prediction' }, { steps: 10 });
  const x = new Float64Array([0.3, 0.1, -0.2, 1]);
  const m = denoiser(x, d.alphasCumprod[d.timesteps[3]!]!);
  d.predictOriginal(m.v_prediction, 3, x).forEach((v, k) => assert.ok(Math.abs(v - m.sample[k]!) < 1e-12));
});

test('PNDM turns the combined v or x₀ into ε at the current point, after the multistep combination (as diffusers)', () => {
  // The first step uses one output, so it matches the ε run; later steps combine outputs of different points and
  // differ (slightly) by design.
  for (const type of ['v_prediction', 'sample'] as const) {
    const eps = run('pndm', {}, 'epsilon');
    const other = run('pndm', {}, type);
    eps[0]!.forEach((v, k) => assert.ok(Math.abs(other[0]![k]! - v) < 1e-12, `${type} first step`));
    const later = Math.abs(other[5]![0]! - eps[5]![0]!);
    assert.ok(later > 0 && later < 0.1 * Math.abs(eps[5]![0]!), `${type} step 5 differs by ${later}`);
  }
  // With a constant v every combination is that v, so each step is the ε step with ε = √ᾱ·v + √(1−ᾱ)·x.
  const s = createScheduler('pndm', { precision: 'float64', predictionType: 'v_prediction' }, { steps: 10 });
  const ref = createScheduler('pndm', { precision: 'float64' }, { steps: 10 });
  const v = new Float64Array([0.2, -0.1, 0.4, 0]);
  const x = new Float64Array([1, 0.5, -0.5, 2]);
  const a = s.alphasCumprod[s.timesteps[0]!]!;
  const want = ref.step(Float64Array.from(v, (e, k) => Math.sqrt(a) * e + Math.sqrt(1 - a) * x[k]!), 0, x);
  s.step(v, 0, x).forEach((got, k) => assert.ok(Math.abs(got - want[k]!) < 1e-12));
});

test('rescale_betas_zero_snr: ᾱ_T = 0, ᾱ₀ kept, √ᾱ an affine map of the original (Lin et al. 2023, Alg. 1)', () => {
  const base = alphasCumprod(resolveConfig({ precision: 'float64' }));
  const zero = alphasCumprod(resolveConfig({ precision: 'float64', rescaleBetasZeroSnr: true }));
  const first = Math.sqrt(base[0]!);
  const last = Math.sqrt(base[999]!);
  for (const t of [0, 1, 250, 500, 998, 999]) {
    const want = ((Math.sqrt(base[t]!) - last) * first) / (first - last);
    assert.ok(Math.abs(Math.sqrt(zero[t]!) - want) < 1e-12, `√ᾱ[${t}]: ${Math.sqrt(zero[t]!)} vs ${want}`);
  }
  assert.equal(zero[999], 0);
  // torch's float32 arithmetic lands within float32 rounding of the same values.
  const zero32 = alphasCumprod(resolveConfig({ rescaleBetasZeroSnr: true }));
  assert.equal(zero32[999], 0);
  assert.ok(Math.abs(zero32[500]! - zero[500]!) < 1e-6);
});

test('zero-SNR with trailing spacing: DDIM v-prediction starts at ᾱ = 0 (x̂₀ = −v); Euler and DPM use ᾱ = 2⁻²⁴ there', () => {
  const cfg = { precision: 'float64' as const, rescaleBetasZeroSnr: true, timestepSpacing: 'trailing' as const, predictionType: 'v_prediction' as const };
  const d = createScheduler('ddim', cfg, { steps: 10 });
  assert.equal(d.timesteps[0], 999);
  const x = new Float64Array([0.4, -0.3, 0.9, 1.2]);
  const v = new Float64Array([0.1, 0.2, -0.5, 0.3]);
  assert.deepEqual(Array.from(d.predictOriginal(v, 0, x)), Array.from(v, (e) => -e));
  // DDIM's step at ᾱ = 0: ε = x, so x_prev = √ᾱ_prev·(−v) + √(1 − ᾱ_prev)·x.
  const aPrev = d.alphasCumprod[899]!;
  d.step(v, 0, x).forEach((got, k) => assert.ok(Math.abs(got - (Math.sqrt(aPrev) * -v[k]! + Math.sqrt(1 - aPrev) * x[k]!)) < 1e-12));
  const e = createScheduler('euler', cfg, { steps: 10 });
  assert.ok(Math.abs(e.initNoiseSigma - Math.sqrt((1 - 2 ** -24) / 2 ** -24)) < 1e-6);
  const p = createScheduler('dpmsolver++', cfg, { steps: 10 });
  assert.equal(p.alphasCumprod[999], 2 ** -24);
  // Whole runs stay finite.
  for (const name of ['ddim', 'euler', 'dpmsolver++'] as const) {
    run(name, cfg, 'v_prediction', 10).forEach((xs) => xs.forEach((val) => assert.ok(Number.isFinite(val), `${name}: ${val}`)));
  }
  assert.throws(() => createScheduler('pndm', cfg), { code: 'BAD_SCHEDULER_OPTION' });
});

test('DDIM clip_sample clamps x̂₀ (ε kept as predicted); set_alpha_to_one ends at ᾱ = 1', () => {
  const x = new Float64Array([3, -4, 0.5, 0]);
  const eps = new Float64Array([0.1, 0.2, -0.3, 0.05]);
  for (const range of [1, 2]) {
    const d = createScheduler('ddim', { precision: 'float64', clipSample: true, clipSampleRange: range }, { steps: 10 });
    const i = 9; // the last step, at t = 1
    const a = d.alphasCumprod[1]!;
    const aPrev = d.alphasCumprod[0]!; // set_alpha_to_one false: the step past t = 0 lands on ᾱ₀
    const x0 = Array.from(x, (v, k) => Math.min(range, Math.max(-range, (v - Math.sqrt(1 - a) * eps[k]!) / Math.sqrt(a))));
    assert.deepEqual(Array.from(d.predictOriginal(eps, i, x)), x0);
    d.step(eps, i, x).forEach((got, k) => assert.ok(Math.abs(got - (Math.sqrt(aPrev) * x0[k]! + Math.sqrt(1 - aPrev) * eps[k]!)) < 1e-12));
  }
  // set_alpha_to_one: the last step lands exactly on x̂₀.
  const one = createScheduler('ddim', { precision: 'float64', setAlphaToOne: true }, { steps: 10 });
  const x0 = one.predictOriginal(eps, 9, x);
  one.step(eps, 9, x).forEach((got, k) => assert.ok(Math.abs(got - x0[k]!) < 1e-12));
  assert.throws(() => createScheduler('euler', { clipSample: true }), { code: 'BAD_SCHEDULER_OPTION' });
  assert.throws(() => createScheduler('ddim', { clipSampleRange: 0 }), { code: 'BAD_SCHEDULER_CONFIG' });
});

test('trailing spacing on every scheduler starts at t = 999', () => {
  for (const name of SCHEDULER_NAMES) {
    const s = createScheduler(name, { timestepSpacing: 'trailing' }, { steps: 10 });
    assert.equal(s.timesteps[0], 999, name);
    assert.ok(s.timesteps.every((t, i) => i === 0 || t <= s.timesteps[i - 1]!), `${name} descending`);
  }
});

test('withoutUnsupported drops what a scheduler does not implement, saying so', () => {
  const r = withoutUnsupported('ddim', { useKarrasSigmas: true, clipSample: true, stepsOffset: 1 });
  assert.deepEqual(r.config, { clipSample: true, stepsOffset: 1 });
  assert.equal(r.dropped.length, 1);
  assert.match(r.dropped[0]!, /Karras.*DDIM does not implement it \(DPM-Solver\+\+ and Euler do\)/);
  assert.deepEqual(withoutUnsupported('dpmsolver++', { useKarrasSigmas: true }).dropped, []);
});
