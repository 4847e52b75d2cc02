// The toy regression values of spec §3.5: model ε(x, t) = 0.1·x + 0.001·t/1000 fed the scaled model input,
// x_T = 1 (× σ_max for Euler). The values were computed in float64, so these runs use float64 tables and samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createScheduler, type Scheduler, type SchedulerName } from '../../models/schedulers/index.ts';
import type { SchedulerOptions } from '../../models/schedulers/index.ts';
import { Rng } from '../../models/ops/random.ts';

function runToy(s: Scheduler, x0 = 1): number {
  let x = new Float64Array([x0 * s.initNoiseSigma]);
  s.timesteps.forEach((t, i) => {
    const xin = s.scaleModelInput(x, i);
    x = s.step(new Float64Array([0.1 * xin[0]! + (0.001 * t) / 1000]), i, x);
  });
  return x[0]!;
}

const cases: [SchedulerName, number, number][] = [
  ['ddim', 20, 8.296193030442183],
  ['ddim', 50, 9.588412319738858],
  ['dpmsolver++', 10, 10.587153424804827],
  ['dpmsolver++', 20, 10.482809365742723],
  ['dpmsolver++', 25, 10.478742052066043],
  ['euler', 20, 10.666842982578068],
  ['euler', 50, 10.516730748564816],
];

for (const [name, steps, want] of cases) {
  test(`toy regression: ${name} ${steps} steps`, () => {
    const got = runToy(createScheduler(name, { precision: 'float64' }, { steps }));
    assert.ok(Math.abs(got - want) / want < 1e-9, `${name} ${steps}: got ${got}, expected ${want}`);
    // The default float32 tables (torch's) move the result only slightly.
    const got32 = runToy(createScheduler(name, {}, { steps }));
    assert.ok(Math.abs(got32 - want) / want < 1e-4, `${name} ${steps} float32 tables: got ${got32}, expected ${want}`);
  });
}

test('float32 samples give the same run as float64 to ~1e-6', () => {
  const s = createScheduler('dpmsolver++', { precision: 'float64' }, { steps: 20 });
  let x: Float32Array = new Float32Array([1]);
  s.timesteps.forEach((t, i) => {
    x = s.step(new Float32Array([0.1 * x[0]! + (0.001 * t) / 1000]), i, x);
  });
  assert.ok(x instanceof Float32Array);
  assert.ok(Math.abs(x[0]! - 10.482809365742723) / 10.482809365742723 < 2e-6, `got ${x[0]}`);
});

test('DDIM is deterministic with eta 0 and seeded with eta > 0', () => {
  const run = (opts: SchedulerOptions, rng?: () => Rng): number[] => {
    const s = createScheduler('ddim', { precision: 'float64' }, { steps: 10, ...opts });
    const r = rng?.();
    let x = new Float64Array([1, -0.5, 0.25]);
    s.timesteps.forEach((t, i) => {
      x = s.step(x.map((v) => 0.1 * v + t * 1e-6), i, x, r);
    });
    return [...x];
  };
  const a = run({ eta: 1, seed: 7 });
  assert.deepEqual(run({ eta: 1, seed: 7 }), a, 'same seed, same result');
  assert.notDeepEqual(run({ eta: 1, seed: 8 }), a, 'another seed, another result');
  assert.notDeepEqual(run({}), a, 'eta changes the result');
  assert.deepEqual(run({ eta: 1 }, () => new Rng(7)), a, 'an rng passed to step() draws the same noise as the seed');
  assert.throws(() => run({ eta: 1 }), { code: 'NEEDS_RNG' });
});

test('DPM-Solver++: finalSigma zero ends exactly at x̂₀; heun differs from midpoint; order is enforced', () => {
  // An ε-model that is exact for x₀ = 0.3: with finalSigma 'zero' the final state is that x₀.
  const x0 = 0.3;
  const s = createScheduler('dpmsolver++', { precision: 'float64' }, { steps: 20, finalSigma: 'zero' });
  const noise = 0.7;
  let x = new Float64Array([Math.sqrt(s.alphasCumprod[999]!) * x0 + Math.sqrt(1 - s.alphasCumprod[999]!) * noise]);
  s.timesteps.forEach((t, i) => {
    const a = s.alphasCumprod[t]!;
    x = s.step(new Float64Array([(x[0]! - Math.sqrt(a) * x0) / Math.sqrt(1 - a)]), i, x);
  });
  assert.ok(Math.abs(x[0]! - x0) < 1e-9, `got ${x[0]}`);

  const heun = createScheduler('dpmsolver++', { precision: 'float64' }, { steps: 20, solverType: 'heun' });
  const mid = createScheduler('dpmsolver++', { precision: 'float64' }, { steps: 20 });
  const toy = (sch: Scheduler): number => {
    let y = new Float64Array([1]);
    sch.timesteps.forEach((t, i) => (y = sch.step(new Float64Array([0.1 * y[0]! + t * 1e-6]), i, y)));
    return y[0]!;
  };
  const h = toy(heun);
  const m = toy(mid);
  assert.ok(Math.abs(h - m) > 1e-9 && Math.abs(h - m) / m < 1e-2, `heun ${h} vs midpoint ${m}`);

  const fresh = createScheduler('dpmsolver++', {}, { steps: 5 });
  fresh.step(new Float32Array(1), 0, new Float32Array(1));
  assert.throws(() => fresh.step(new Float32Array(1), 2, new Float32Array(1)), { code: 'BAD_STEP_ORDER' });
});

test('PNDM: the duplicated step restarts from the first x with the averaged ε', () => {
  const s = createScheduler('pndm', { precision: 'float64' }, { steps: 50 });
  const x = new Float64Array([1]);
  const e0 = new Float64Array([0.2]);
  const e1 = new Float64Array([0.4]);
  const afterFirst = s.step(e0, 0, x);
  const afterSecond = s.step(e1, 1, afterFirst);
  // Both land on t = 961 from t = 981; the second uses ε' = (0.2 + 0.4)/2 from the original x.
  const ref = createScheduler('pndm', { precision: 'float64' }, { steps: 50 });
  const direct = ref.step(new Float64Array([0.3]), 0, x);
  assert.ok(Math.abs(afterSecond[0]! - direct[0]!) < 1e-12);
});

test('addNoise / predictOriginal invert each other; Euler scales its input', () => {
  for (const name of ['ddim', 'dpmsolver++', 'euler', 'pndm'] as const) {
    const s = createScheduler(name, { precision: 'float64' }, { steps: 10 });
    const x0 = new Float64Array([0.5, -1.25]);
    const noise = new Float64Array([0.3, 0.9]);
    const xt = s.addNoise(x0, noise, 3);
    const back = s.predictOriginal(noise, 3, xt);
    back.forEach((v, k) => assert.ok(Math.abs(v - x0[k]!) < 1e-12, `${name}: ${v} vs ${x0[k]}`));
  }
  const e = createScheduler('euler', {}, { steps: 10 });
  const sigma = (e as unknown as { sigmas: number[] }).sigmas[0]!;
  const scaled = e.scaleModelInput(new Float32Array([sigma]), 0);
  assert.ok(Math.abs(scaled[0]! - sigma / Math.sqrt(sigma * sigma + 1)) < 1e-6);
});

test('img2img starts part-way keep each timeline consistent (exact ε-model lands on x₀ at ᾱ_final)', () => {
  // With ε(x, t) = (x − √ᾱ_t·x₀)/√(1 − ᾱ_t) and x on the path √ᾱ·x₀ + √(1 − ᾱ)·n, every ε equals n; any step that
  // evaluates the model at the wrong t for its x breaks that, and the end point moves.
  const x0 = 0.4;
  const n = -0.8;
  for (const name of ['pndm', 'ddim', 'dpmsolver++'] as const) {
    for (const start of [0, 1, 2, 5]) {
      const s = createScheduler(name, { precision: 'float64' }, { steps: 20 });
      let x = s.addNoise(new Float64Array([x0]), new Float64Array([n]), start);
      for (let i = start; i < s.timesteps.length; i++) {
        const a = s.alphasCumprod[s.timesteps[i]!]!;
        x = s.step(new Float64Array([(x[0]! - Math.sqrt(a) * x0) / Math.sqrt(1 - a)]), i, x);
      }
      const aEnd = s.alphasCumprod[0]!; // all three end at ᾱ₀ (set_alpha_to_one false)
      const want = Math.sqrt(aEnd) * x0 + Math.sqrt(1 - aEnd) * n;
      assert.ok(Math.abs(x[0]! - want) < 1e-9, `${name} from step ${start}: ${x[0]} vs ${want}`);
    }
  }
});
