// Gradients on the tfjs backend agree with finite differences, for every parameter of every fixture, and a
// training step (gradients + AdamW) leaks no tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTfjsOps, parameterGrads, tf, type TfjsOps } from '../../models/backends/tfjs/index.ts';
import { AdamW } from '../../models/optim/adamw.ts';
import { Rng } from '../../models/ops/random.ts';
import { fixtures, type Fixture } from './fixtures.ts';

const ops = await createTfjsOps((process.env.KOSMOS_G_TFJS as 'wasm' | undefined) ?? 'wasm');

/** loss = Σ_outputs Σ out·r with fixed random r, so every output element matters. */
function lossOf(o: TfjsOps, fx: Fixture, weights: Float32Array[]): tf.Tensor {
  const outs = fx.forward(o, fx.inputs.map((h) => o.fromHost(h)));
  return outs.reduce<tf.Tensor>(
    (acc, y, i) => tf.add(acc, tf.sum(tf.mul(o.toFloat(y), tf.tensor(weights[i]!.subarray(0, y.size), y.shape)))),
    tf.scalar(0),
  );
}

function outputWeights(o: TfjsOps, fx: Fixture): Float32Array[] {
  const sizes = tf.tidy(() => fx.forward(o, fx.inputs.map((h) => o.fromHost(h))).map((t) => t.size));
  const rng = new Rng(99);
  return sizes.map((n) => Float32Array.from({ length: n }, () => rng.normal()));
}

for (const fx of fixtures()) {
  test(`${fx.name}: parameter gradients match central finite differences`, () => {
    const params = fx.model.parameters();
    const weights = outputWeights(ops, fx);
    const { grads } = parameterGrads(ops, params, () => lossOf(ops, fx, weights));
    const rng = new Rng(7);
    // Per parameter tensor, the directional derivative along a random direction: ∇·d vs (L(θ+hd) − L(θ−hd)) / 2h.
    for (const p of params) {
      const g = grads.get(p)!;
      const base = Float32Array.from(p.data);
      const dir = Float32Array.from({ length: p.size }, () => rng.normal());
      const norm = Math.sqrt(dir.reduce((a, v) => a + v * v, 0));
      const h = 1e-2;
      const evalAt = (s: number) => {
        p.set(base.map((v, i) => v + (s * h * dir[i]!) / norm));
        return tf.tidy(() => lossOf(ops, fx, weights).dataSync()[0]!);
      };
      const fd = (evalAt(1) - evalAt(-1)) / (2 * h);
      p.set(base);
      const analytic = g.reduce((a, v, i) => a + (v * dir[i]!) / norm, 0);
      const scale = Math.max(1, Math.abs(fd), Math.abs(analytic));
      assert.ok(Math.abs(fd - analytic) / scale < 2e-2, `${fx.name} ${p.key}: analytic ${analytic} vs finite difference ${fd}`);
    }
  });
}

test('a training step (gradients + AdamW) leaves tf.memory().numTensors unchanged and lowers the loss', () => {
  const fx = fixtures()[2]!; // the causal block: embedding, attention, layer norm, linear
  const conv = fixtures()[1]!; // and convolutions
  const params = [...fx.model.parameters(), ...conv.model.parameters()];
  const weights = outputWeights(ops, fx);
  const convWeights = outputWeights(ops, conv);
  const opt = new AdamW(params, { lr: 1e-2 });
  const loss = () => tf.add(tf.square(lossOf(ops, fx, weights)), tf.square(lossOf(ops, conv, convWeights)));
  const step = () => {
    const r = parameterGrads(ops, params, loss);
    opt.update(r.grads);
    return r.loss;
  };
  const first = step(); // creates the parameter variables
  const before = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 3; i++) last = step();
  assert.equal(tf.memory().numTensors, before, 'tensors leaked by a training step');
  assert.ok(last < first, `loss did not go down: ${first} → ${last}`);
  ops.release(params);
});
