import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Module } from '../../models/nn/module.ts';
import { Linear } from '../../models/nn/layers.ts';
import { Rng } from '../../models/ops/random.ts';
import { batchIndices } from '../../models/data/batching.ts';
import { train, type LossStep, type TrainConfig } from '../../models/training/loop.ts';
import { CheckpointStore, restoreCheckpoint } from '../../models/training/checkpoint.ts';
import { learningRate } from '../../models/training/schedule.ts';
import { clipGradNorm } from '../../models/training/gradients.ts';
import { parameterGrads } from '../../models/backends/tfjs/index.ts';
import type { Parameter } from '../../models/nn/module.ts';
import { trainingOps, tf } from './tf.ts';
import { tempDir } from './fixtures.ts';

class TinyNet extends Module {
  encoder: Linear;
  head: Linear;
  constructor(seed: number) {
    super();
    const rng = new Rng(seed);
    this.encoder = new Linear(4, 8, rng);
    this.head = new Linear(8, 1, rng);
  }
}

// A fixed regression set: y = Σ x·w* (+ noise drawn from the step seed).
const N = 16;
const X = Float32Array.from({ length: N * 4 }, (_, i) => Math.sin(i * 1.7));
const Y = Float32Array.from({ length: N }, (_, n) => X[4 * n]! - 2 * X[4 * n + 1]! + 0.5 * X[4 * n + 3]!);

async function setup(seed = 1) {
  const ops = await trainingOps();
  const net = new TinyNet(seed);
  const lossAt = (s: LossStep, nan = false) => {
    const { indices } = batchIndices(N, 4, s.step, 99);
    const rng = new Rng(s.seed);
    const xb = Float32Array.from(indices.flatMap((i) => [...X.subarray(4 * i, 4 * i + 4)]));
    const yb = Float32Array.from(indices.map((i) => Y[i]! + 0.01 * rng.normal()));
    return () => {
      const h = ops.relu(net.encoder.forward(ops, ops.tensor(xb, [4, 4])));
      const err = ops.sub(net.head.forward(ops, h), ops.tensor(yb, [4, 1]));
      const l = ops.mean(ops.square(err));
      return nan ? ops.mul(l, Number.NaN) : l;
    };
  };
  const gradients = (params: readonly Parameter[], fn: () => tf.Tensor) => parameterGrads(ops, params, fn);
  return { ops, net, lossAt, gradients };
}

const config = (over: Partial<TrainConfig> = {}): TrainConfig => ({
  steps: 40, accumulate: 1, clip: 1.0, seed: 5, checkpointEvery: 0,
  optimizer: { betas: [0.9, 0.98], eps: 1e-6, weightDecay: 0.01 },
  schedule: { lr: 0.05, warmup: 3, decay: 'linear' },
  ...over,
});

test('schedule: linear warmup, then linear / polynomial / cosine decay', () => {
  const s = { lr: 1, warmup: 4, totalSteps: 12 } as const;
  assert.deepEqual([0, 1, 2, 3].map((i) => learningRate({ ...s, decay: 'linear' }, i)), [0.25, 0.5, 0.75, 1]);
  assert.equal(learningRate({ ...s, decay: 'linear' }, 7), 0.5); // u = 8: halfway through the 8 decay steps
  assert.equal(learningRate({ ...s, decay: 'polynomial', power: 2 }, 7), 0.25);
  assert.ok(Math.abs(learningRate({ ...s, decay: 'cosine' }, 7) - 0.5) < 1e-12);
  assert.equal(learningRate({ ...s, decay: 'linear' }, 11), 0);
  assert.equal(learningRate({ ...s, decay: 'constant' }, 11), 1);
});

test('clipping by global norm scales every gradient by max/‖g‖', () => {
  const a = {} as Parameter, b = {} as Parameter;
  const g = new Map([[a, Float32Array.from([3, 0])], [b, Float32Array.from([4])]]);
  assert.equal(clipGradNorm(g, 1), 5);
  assert.ok(Math.abs(g.get(a)![0]! - 0.6) < 1e-6 && Math.abs(g.get(b)![0]! - 0.8) < 1e-6);
  const h = new Map([[a, Float32Array.from([0.3])]]);
  clipGradNorm(h, 1);
  assert.ok(Math.abs(h.get(a)![0]! - 0.3) < 1e-7);
});

test('training lowers the loss, leaves frozen parameters bit-identical and without optimiser state, leaks no tensors', async () => {
  const { net, lossAt, gradients } = await setup();
  net.encoder.setTrainable(false);
  const frozen = net.encoder.parameters().map((p) => Float32Array.from(p.data));
  const head = Float32Array.from(net.head.weight.data);
  const counts: number[] = [];
  const metrics: number[] = [];
  const r = await train({
    models: [{ name: 'net', module: net, prefix: '' }],
    loss: lossAt, gradients, config: config(),
    onStep: (m) => { counts.push(tf.memory().numTensors); metrics.push(m.lr); assert.ok(m.gradNorm >= 0 && m.stepsPerSecond > 0); },
  });
  const first = r.losses.slice(0, 4).reduce((a, b) => a + b) / 4;
  const last = r.losses.slice(-4).reduce((a, b) => a + b) / 4;
  assert.ok(last < 0.5 * first, `loss ${first} → ${last}`);
  net.encoder.parameters().forEach((p, i) => assert.deepEqual(p.data, frozen[i]));
  assert.notDeepEqual(net.head.weight.data, head);
  const saved = r.state.optimizer.state();
  assert.deepEqual([...saved.m.keys()].sort(), ['head.bias', 'head.weight']);
  assert.equal(new Set(counts.slice(1)).size, 1, `tensor counts per step: ${counts}`);
  assert.equal(metrics[0], 0.05 / 3);
});

test('gradient accumulation of two half-batches equals one full batch', async () => {
  const ops = await trainingOps();
  const run = async (accumulate: number) => {
    const net = new TinyNet(3);
    const rows = [[0, 1, 2, 3], [4, 5, 6, 7]];
    await train({
      models: [{ name: 'net', module: net, prefix: '' }],
      gradients: (params, fn: () => tf.Tensor) => parameterGrads(ops, params, fn),
      config: config({ steps: 1, accumulate, schedule: { lr: 0.1, warmup: 0, decay: 'constant' }, clip: 0 }),
      loss: (s) => {
        const idx = accumulate === 1 ? rows.flat() : rows[s.step % 2]!;
        const xb = Float32Array.from(idx.flatMap((i) => [...X.subarray(4 * i, 4 * i + 4)]));
        const yb = Float32Array.from(idx.map((i) => Y[i]!));
        return () => ops.mean(ops.square(ops.sub(net.head.forward(ops, ops.relu(net.encoder.forward(ops, ops.tensor(xb, [idx.length, 4])))), ops.tensor(yb, [idx.length, 1]))));
      },
    });
    return Float32Array.from(net.head.weight.data);
  };
  const one = await run(1), two = await run(2);
  one.forEach((v, i) => assert.ok(Math.abs(v - two[i]!) < 1e-5, `${v} vs ${two[i]}`));
});

test('kill and resume reproduces the uninterrupted losses exactly', async () => {
  const full = await setup(7);
  const whole = await train({ models: [{ name: 'net', module: full.net, prefix: 'net.' }], loss: full.lossAt, gradients: full.gradients, config: config({ steps: 6 }) });

  const dir = tempDir();
  const a = await setup(7);
  const models = [{ name: 'net', module: a.net, prefix: 'net.' }];
  const cfg = config({ steps: 6, checkpointEvery: 1 });
  // "Kill" after 3 steps: the provider throws at step 3 as a dying process would stop.
  await assert.rejects(
    train({ models, gradients: a.gradients, config: cfg, checkpoint: new CheckpointStore(dir, models),
      loss: (s) => { if (s.step === 3) throw new Error('killed'); return a.lossAt(s); } }),
    /killed/,
  );
  const latest = (await CheckpointStore.latest(dir))!;
  assert.equal(latest.state.step, 3);
  assert.ok(existsSync(path.join(latest.dir, 'model.safetensors')));

  const b = await setup(123); // a fresh process: different initial weights, all restored from the checkpoint
  const bModels = [{ name: 'net', module: b.net, prefix: 'net.' }];
  const resumed = await train({
    models: bModels, loss: b.lossAt, gradients: b.gradients, config: cfg,
    resume: restoreCheckpoint(latest, bModels, cfg), checkpoint: new CheckpointStore(dir, bModels),
  });
  assert.deepEqual(resumed.state.losses, whole.state.losses);
  assert.deepEqual(b.net.head.weight.data, full.net.head.weight.data);
  // Weights are saved under prefix + reference key.
  const names = Object.keys(JSON.parse(readFileSync(path.join(resumed.lastCheckpoint!, 'state.json'), 'utf8')));
  assert.ok(names.includes('losses'));
  assert.deepEqual([...(await CheckpointStore.latest(dir))!.weights.keys()].sort(), ['net.encoder.bias', 'net.encoder.weight', 'net.head.bias', 'net.head.weight']);
});

test('a new run into a used checkpoint folder keeps its own newest checkpoints, not the older run\'s later steps', async () => {
  const dir = tempDir();
  const run = async (steps: number) => {
    const { net, lossAt, gradients } = await setup();
    const models = [{ name: 'net', module: net, prefix: '' }];
    await train({ models, loss: lossAt, gradients, config: config({ steps, checkpointEvery: 1 }), checkpoint: new CheckpointStore(dir, models) });
  };
  const stepFolders = () => readdirSync(dir).filter((n) => n.startsWith('step-')).sort();
  await run(6);
  assert.deepEqual(stepFolders(), ['step-00000005', 'step-00000006']);
  await run(3);
  assert.deepEqual(stepFolders(), ['step-00000002', 'step-00000003']);
  assert.equal((await CheckpointStore.latest(dir))!.state.step, 3);
  await run(3); // the same steps again: each folder is replaced in place
  assert.deepEqual(readdirSync(dir).sort(), ['latest.json', 'step-00000002', 'step-00000003']);
});

test('a NaN loss stops with TRAIN_NONFINITE and keeps the last good checkpoint', async () => {
  const { net, lossAt, gradients } = await setup();
  const dir = tempDir();
  const models = [{ name: 'net', module: net, prefix: '' }];
  await assert.rejects(
    train({ models, gradients, config: config({ steps: 6, checkpointEvery: 1 }), checkpoint: new CheckpointStore(dir, models),
      loss: (s) => lossAt(s, s.step === 4) }),
    (e: Error & { code?: string }) => e.code === 'TRAIN_NONFINITE' && /step 4/.test(e.message) && /step-00000004/.test(e.message),
  );
  const ck = (await CheckpointStore.latest(dir))!;
  assert.equal(ck.state.step, 4);
  assert.ok(ck.state.losses.every(Number.isFinite));
  assert.ok([...ck.weights.values()].every((t) => t.data.every(Number.isFinite)));
});

test('an aborted signal cancels between steps; no trainable parameters is an error', async () => {
  const { net, lossAt, gradients } = await setup();
  const ac = new AbortController();
  let seen = 0;
  await assert.rejects(
    train({ models: [{ name: 'net', module: net, prefix: '' }], loss: lossAt, gradients, config: config(), signal: ac.signal,
      onStep: () => { if (++seen === 2) ac.abort(); } }),
    (e: Error & { code?: string }) => e.code === 'CANCELLED',
  );
  assert.equal(seen, 2);
  net.setTrainable(false);
  await assert.rejects(train({ models: [{ name: 'net', module: net, prefix: '' }], loss: lossAt, gradients, config: config() }),
    (e: Error & { code?: string }) => e.code === 'TRAIN_NO_PARAMETERS');
});

test('ema_decay: the models end with the moving average of the weights (warm-up decay), and a resumed run keeps it exactly', async () => {
  // The average by hand: follow the raw weights step by step (onStep sees them after each update).
  const hand = await setup(11);
  const handModels = [{ name: 'net', module: hand.net, prefix: '' }];
  let avg = Float32Array.from(hand.net.head.weight.data);
  let n = 0;
  const decay = 0.9;
  const raw = await train({
    models: handModels, loss: hand.lossAt, gradients: hand.gradients, config: config({ steps: 6, emaDecay: decay }),
    onStep: () => {
      const d = Math.min(decay, (1 + n) / (10 + n));
      const w = hand.net.head.weight.data;
      avg = avg.map((a, i) => a + (1 - d) * (w[i]! - a));
      n++;
    },
  });
  assert.equal(raw.state.ema!.updates, 6);
  const got = hand.net.head.weight.data;
  for (let i = 0; i < avg.length; i++) assert.ok(Math.abs(got[i]! - avg[i]!) < 1e-6, `weight ${i}: ${got[i]} vs ${avg[i]}`);
  // The raw last weights differ from their average (the test would pass trivially otherwise).
  const noEma = await setup(11);
  await train({ models: [{ name: 'net', module: noEma.net, prefix: '' }], loss: noEma.lossAt, gradients: noEma.gradients, config: config({ steps: 6 }) });
  assert.ok(noEma.net.head.weight.data.some((w, i) => Math.abs(w - got[i]!) > 1e-4));

  // Killed after 3 steps and resumed from the checkpoint (keep 0: every step folder stays, each with ema.safetensors).
  const dir = tempDir();
  const a = await setup(11);
  const models = [{ name: 'net', module: a.net, prefix: '' }];
  const cfg = config({ steps: 6, checkpointEvery: 1, emaDecay: decay });
  await assert.rejects(
    train({ models, gradients: a.gradients, config: cfg, checkpoint: new CheckpointStore(dir, models, 1, 0),
      loss: (s) => { if (s.step === 3) throw new Error('killed'); return a.lossAt(s); } }),
    /killed/,
  );
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('step-')).sort(), ['step-00000001', 'step-00000002', 'step-00000003']);
  const latest = (await CheckpointStore.latest(dir))!;
  assert.equal(latest.ema?.updates, 3);
  const b = await setup(99);
  const bModels = [{ name: 'net', module: b.net, prefix: '' }];
  await train({ models: bModels, loss: b.lossAt, gradients: b.gradients, config: cfg, resume: restoreCheckpoint(latest, bModels, cfg) });
  assert.deepEqual(b.net.head.weight.data, got);
});

test('emaDecay outside [0, 1) is a TRAIN_CONFIG error', async () => {
  const { net, lossAt, gradients } = await setup();
  await assert.rejects(
    train({ models: [{ name: 'net', module: net, prefix: '' }], loss: lossAt, gradients, config: config({ emaDecay: 1 }) }),
    (e: Error & { code?: string }) => e.code === 'TRAIN_CONFIG',
  );
});
