// The guided sampling loop with a toy analytic ε model: batching, guidance maths, Euler's init noise,
// progress, previews and cancellation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostTensor, type HostTensor } from '../../models/ops/ops.ts';
import { randn } from '../../models/ops/random.ts';
import { createScheduler } from '../../models/schedulers/index.ts';
import { initialLatents, sampleGuided, type PredictEps } from '../../models/sampling/guided.ts';

// Conditioning is [N, 1, 1]: each item's scalar c shifts ε, so ε(x, t, c) = 0.1·x + 0.001·t/1000 + c.
const toyEps: PredictEps = async (latents, t, cond) => {
  const per = latents.data.length / latents.shape[0]!;
  return Float32Array.from(latents.data, (v, k) => 0.1 * v + (0.001 * t) / 1000 + cond.data[Math.floor(k / per)]!);
};
const scalar = (...v: number[]): HostTensor => hostTensor(Float32Array.from(v), [v.length, 1, 1]);

test('guidance: one batched call per step, [uncond; cond], ε = ε_u + s(ε_c − ε_u)', async () => {
  const shape = [2, 1, 2, 2];
  const x0 = hostTensor(randn(8, 3), shape);
  const calls: number[] = [];
  const got = await sampleGuided({
    scheduler: createScheduler('ddim', {}, { steps: 10 }),
    latents: x0,
    cond: scalar(0.05, -0.02),
    uncond: scalar(0.01),
    guidanceScale: 7.5,
    predictEps: async (lat, t, cond, step) => {
      calls.push(lat.shape[0]!);
      assert.deepEqual(lat.shape, [4, 1, 2, 2]);
      assert.deepEqual([...cond.data], [0.01, 0.01, 0.05, -0.02].map(Math.fround));
      assert.deepEqual([...lat.data.subarray(0, 8)], [...lat.data.subarray(8)], 'both halves see the same latents');
      assert.equal(step.total, 10);
      return toyEps(lat, t, cond, step);
    },
  });
  assert.deepEqual(calls, Array(10).fill(4));
  // Independent loop: with this toy model ε = 0.1x + 0.001t/1000 + c_u + s(c_c − c_u).
  const ref = createScheduler('ddim', {}, { steps: 10 });
  let x = Float32Array.from(x0.data);
  ref.timesteps.forEach((t, i) => {
    const shift = [0.01 + 7.5 * (0.05 - 0.01), 0.01 + 7.5 * (-0.02 - 0.01)];
    x = ref.step(Float32Array.from(x, (v, k) => 0.1 * v + (0.001 * t) / 1000 + shift[Math.floor(k / 4)]!), i, x);
  });
  got.data.forEach((v, k) => assert.ok(Math.abs(v - x[k]!) < 1e-5, `element ${k}: ${v} vs ${x[k]}`));
  assert.deepEqual(got.shape, shape);
});

test('guidance 1 runs only the conditional half', async () => {
  const batches: number[] = [];
  await sampleGuided({
    scheduler: createScheduler('pndm', {}, { steps: 5 }),
    latents: hostTensor(new Float32Array(4), [1, 1, 2, 2]),
    cond: scalar(0.1),
    guidanceScale: 1,
    predictEps: async (lat, t, cond, s) => {
      batches.push(lat.shape[0]!);
      assert.deepEqual([...cond.data], [Math.fround(0.1)]);
      return toyEps(lat, t, cond, s);
    },
  });
  assert.deepEqual(batches, [1, 1, 1, 1, 1, 1], 'PLMS: 5 steps are 6 calls');
});

test('Euler: initial noise × σ_max and scaled model input reproduce the toy regression value', async () => {
  const s = createScheduler('euler', { precision: 'float64' }, { steps: 20 });
  const noise = initialLatents(s, [1, 4, 8, 8], 11);
  const raw = randn(256, 11);
  noise.data.forEach((v, k) => assert.ok(Math.abs(v - Math.fround(raw[k]! * 14.614641229333639)) < 1e-4));
  const out = await sampleGuided({
    scheduler: s,
    latents: hostTensor(new Float32Array([s.initNoiseSigma]), [1, 1, 1, 1]),
    cond: scalar(0),
    uncond: scalar(0),
    guidanceScale: 3,
    predictEps: toyEps,
  });
  const want = 10.666842982578068;
  assert.ok(Math.abs(out.data[0]! - want) / want < 1e-5, `got ${out.data[0]}`);
});

test('progress every step and an x̂₀ preview every N steps and at the end', async () => {
  const events: [number, number, boolean][] = [];
  await sampleGuided({
    scheduler: createScheduler('dpmsolver++', {}, { steps: 7 }),
    latents: hostTensor(randn(4, 1), [1, 1, 2, 2]),
    cond: scalar(0.2),
    uncond: scalar(0),
    guidanceScale: 2,
    predictEps: toyEps,
    previewEvery: 3,
    onStep: (done, total, preview) => {
      events.push([done, total, preview !== undefined]);
      if (preview) assert.deepEqual(preview.shape, [1, 1, 2, 2]);
    },
  });
  assert.deepEqual(events.map((e) => e[0]), [1, 2, 3, 4, 5, 6, 7]);
  assert.ok(events.every((e) => e[1] === 7));
  assert.deepEqual(events.filter((e) => e[2]).map((e) => e[0]), [3, 6, 7]);
});

test('cancellation at every step: a CancelledError, or the signal’s own coded reason', async () => {
  const ctl = new AbortController();
  let calls = 0;
  await assert.rejects(
    sampleGuided({
      scheduler: createScheduler('ddim', {}, { steps: 10 }),
      latents: hostTensor(new Float32Array(4), [1, 1, 2, 2]),
      cond: scalar(0.1),
      uncond: scalar(0),
      guidanceScale: 5,
      signal: ctl.signal,
      predictEps: async (l, t, c, s) => {
        calls++;
        return toyEps(l, t, c, s);
      },
      onStep: (done) => {
        if (done === 3) ctl.abort();
      },
    }),
    { code: 'CANCELLED' },
  );
  assert.equal(calls, 3);
  const reason = Object.assign(new Error('job interrupted'), { code: 'INTERRUPTED' });
  await assert.rejects(
    sampleGuided({
      scheduler: createScheduler('ddim', {}, { steps: 10 }),
      latents: hostTensor(new Float32Array(4), [1, 1, 2, 2]),
      cond: scalar(0.1),
      guidanceScale: 1,
      signal: AbortSignal.abort(reason),
      predictEps: toyEps,
    }),
    (e) => e === reason,
  );
});

test('user errors have codes', async () => {
  const base = {
    scheduler: createScheduler('ddim', {}, { steps: 2 }),
    latents: hostTensor(new Float32Array(8), [2, 1, 2, 2]),
    cond: scalar(0.1, 0.2),
    predictEps: toyEps,
  };
  await assert.rejects(sampleGuided({ ...base, guidanceScale: 4 }), { code: 'MISSING_UNCOND' });
  await assert.rejects(sampleGuided({ ...base, guidanceScale: 4, uncond: scalar(0, 0, 0) }), { code: 'BATCH_MISMATCH' });
  await assert.rejects(sampleGuided({ ...base, guidanceScale: 1, predictEps: async () => new Float32Array(3) }), { code: 'BAD_PREDICTION' });
});
