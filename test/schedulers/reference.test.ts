// Every scheduler reference vector in ../shared/reference/vectors.json (spec §3.5).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { needsShared, sharedPath } from '../helpers/shared.ts';
import {
  alphasCumprod,
  betas,
  createScheduler,
  ddimTimesteps,
  dpmTimesteps,
  EulerDiscreteScheduler,
  plmsTimesteps,
  resolveConfig,
  sigmaOf,
} from '../../models/schedulers/index.ts';

const skip = needsShared('reference/vectors.json');
const vectors = (): Record<string, unknown> => JSON.parse(readFileSync(sharedPath('reference/vectors.json'), 'utf8'));

function close(actual: number, expected: number, rel: number, what: string): void {
  const err = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-30);
  assert.ok(err <= rel, `${what}: got ${actual}, expected ${expected} (relative error ${err.toExponential(2)} > ${rel})`);
}

test('betas, ᾱ and σ match the float64 reference tables', { skip }, () => {
  const v = vectors();
  const c64 = resolveConfig({ precision: 'float64' });
  const b64 = betas(c64);
  const acp64 = alphasCumprod(c64);
  const acp32 = alphasCumprod(resolveConfig({}));
  for (const [t, want] of Object.entries(v['betas_float64'] as Record<string, number>)) close(b64[+t]!, want, 1e-12, `β[${t}]`);
  for (const [t, want] of Object.entries(v['alphas_cumprod_float64'] as Record<string, number>)) {
    close(acp64[+t]!, want, 1e-12, `ᾱ[${t}] float64`);
    // torch's float32 tables differ from the float64 formula by ~1e-8 absolute (spec §3.5).
    assert.ok(Math.abs(acp32[+t]! - want) < 5e-7, `ᾱ[${t}] float32: ${acp32[+t]} vs ${want}`);
  }
  for (const [t, want] of Object.entries(v['sigma_k (sqrt((1-acp)/acp))'] as Record<string, number>)) {
    close(sigmaOf(acp64[+t]!), want, 1e-12, `σ[${t}]`);
  }
});

test('DDIM / PNDM leading timesteps with offset 1', { skip }, () => {
  const v = vectors();
  assert.deepEqual(ddimTimesteps(50, 1000, 'leading', 1), v['ddim_pndm_leading_offset1_50']);
  assert.deepEqual(createScheduler('ddim', {}, { steps: 50 }).timesteps, v['ddim_pndm_leading_offset1_50']);
  const [first, last] = v['ddim_leading_offset1_250_first5_last3'] as [number[], number[]];
  const t250 = createScheduler('ddim', {}, { steps: 250 }).timesteps;
  assert.equal(t250.length, 250);
  assert.deepEqual(t250.slice(0, 5), first);
  assert.deepEqual(t250.slice(-3), last);
});

test('diffusers test_steps_offset: 5 DDIM steps with offset 1 are [801, 601, 401, 201, 1]', () => {
  assert.deepEqual(createScheduler('ddim', { stepsOffset: 1 }, { steps: 5 }).timesteps, [801, 601, 401, 201, 1]);
  assert.deepEqual(createScheduler('ddim', { stepsOffset: 0 }, { steps: 5 }).timesteps, [800, 600, 400, 200, 0]);
});

test('PLMS list: 51 entries with the second timestep duplicated', { skip }, () => {
  const v = vectors();
  assert.deepEqual(plmsTimesteps(50, 1000, 'leading', 1), v['plms_skip_prk_50 (51 entries)']);
  assert.deepEqual(createScheduler('pndm', {}, { steps: 50 }).timesteps, v['plms_skip_prk_50 (51 entries)']);
});

test('DPM-Solver linspace timesteps (half-to-even rounding: 500 for n = 20)', { skip }, () => {
  const v = vectors();
  assert.deepEqual(dpmTimesteps(20, 1000, 'linspace', 1), v['dpmsolver_linspace_20']);
  assert.deepEqual(createScheduler('dpmsolver++', {}, { steps: 50 }).timesteps, v['dpmsolver_linspace_50']);
  const [first, last] = v['dpmsolver_linspace_100_first5_last5'] as [number[], number[]];
  const t100 = dpmTimesteps(100, 1000, 'linspace', 1);
  assert.equal(t100.length, 100);
  assert.deepEqual(t100.slice(0, 5), first);
  assert.deepEqual(t100.slice(-5), last);
});

test('Euler linspace σ list for 20 steps, σ = 0 appended, init noise σ_max', { skip }, () => {
  const v = vectors();
  const want = v['euler_linspace_20_sigmas'] as number[];
  const s64 = new EulerDiscreteScheduler({ precision: 'float64' }, { steps: 20 });
  const s32 = new EulerDiscreteScheduler({}, { steps: 20 });
  assert.equal(s64.sigmas.length, want.length);
  want.forEach((w, i) => {
    if (w === 0) assert.equal(s64.sigmas[i], 0);
    else {
      close(s64.sigmas[i]!, w, 1e-9, `σ[${i}] float64`);
      // float32 ᾱ₀ = 0.99915 loses digits in 1 − ᾱ: σ(0) moves by ~1.3e-5 relative, as in torch.
      close(s32.sigmas[i]!, w, 3e-5, `σ[${i}] float32`);
    }
  });
  close(s64.initNoiseSigma, 14.614641229333639, 1e-12, 'init_noise_sigma');
});

test('spacing variants named in the spec', () => {
  // DDIM linspace n = 50: 999, 979, 958, 938, …, 20, 0.
  const lin = ddimTimesteps(50, 1000, 'linspace', 1);
  assert.deepEqual(lin.slice(0, 4), [999, 979, 958, 938]);
  assert.deepEqual(lin.slice(-2), [20, 0]);
  // trailing n = 50: 999, 979, …, 19.
  const tr = ddimTimesteps(50, 1000, 'trailing', 1);
  assert.deepEqual([tr[0], tr[1], tr[49]], [999, 979, 19]);
  // leading n = 20 and 25 end at 1.
  assert.deepEqual([ddimTimesteps(20, 1000, 'leading', 1)[0], ddimTimesteps(25, 1000, 'leading', 1)[0]], [951, 961]);
  // DPM n = 25: 999, 959, …, 519, 480, 440, …, 40.
  const d25 = dpmTimesteps(25, 1000, 'linspace', 1);
  assert.deepEqual([d25[0], d25[1], d25[12], d25[13], d25[24]], [999, 959, 519, 480, 40]);
  // DPM leading uses r = T // (n + 1).
  assert.deepEqual(dpmTimesteps(4, 1000, 'leading', 1), [801, 601, 401, 201]);
  // Euler leading: init noise is √(σ(981)² + 1); linspace keeps fractional timesteps.
  const el = createScheduler('euler', { precision: 'float64' }, { steps: 50 });
  assert.ok(!Number.isInteger(el.timesteps[1]));
  const leading = createScheduler('euler', { precision: 'float64', timestepSpacing: 'leading' }, { steps: 50 });
  assert.equal(leading.timesteps[0], 981);
  const s981 = sigmaOf(leading.alphasCumprod[981]!);
  close(leading.initNoiseSigma, Math.sqrt(s981 * s981 + 1), 1e-12, 'Euler leading init noise');
});

test('bad options are errors with codes', () => {
  assert.throws(() => createScheduler('ddim', {}, { steps: 0 }), { code: 'BAD_STEPS' });
  assert.throws(() => createScheduler('nope' as 'ddim'), { code: 'UNKNOWN_SCHEDULER' });
  assert.throws(() => createScheduler('dpmsolver++', {}, { solverType: 'x' as 'heun' }), { code: 'BAD_SCHEDULER_OPTION' });
  assert.throws(() => createScheduler('ddim', { predictionType: 'v' as 'epsilon' }), { code: 'UNSUPPORTED_PREDICTION' });
  const s = createScheduler('ddim', {}, { steps: 5 });
  assert.throws(() => s.step(new Float32Array(2), 0, new Float32Array(3)), { code: 'SHAPE_MISMATCH' });
  assert.throws(() => s.step(new Float32Array(2), 7, new Float32Array(2)), { code: 'BAD_STEP_INDEX' });
});
