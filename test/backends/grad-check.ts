// Finite-difference checks of parameter gradients on a tfjs backend, shared by the per-backend gradient tests.
import assert from 'node:assert/strict';
import { parameterGrads, tf, type TfjsOps } from '../../models/backends/tfjs/index.ts';
import { Rng } from '../../models/ops/random.ts';
import type { Fixture } from './fixtures.ts';

/** loss = Σ_outputs Σ out·r with fixed random r, so every output element matters. */
export function lossOf(o: TfjsOps, fx: Fixture, weights: Float32Array[]): tf.Tensor {
  const outs = fx.forward(o, fx.inputs.map((h) => o.fromHost(h)));
  return outs.reduce<tf.Tensor>(
    (acc, y, i) => tf.add(acc, tf.sum(tf.mul(o.toFloat(y), tf.tensor(weights[i]!.subarray(0, y.size), y.shape)))),
    tf.scalar(0),
  );
}

export function outputWeights(o: TfjsOps, fx: Fixture): Float32Array[] {
  const sizes = tf.tidy(() => fx.forward(o, fx.inputs.map((h) => o.fromHost(h))).map((t) => t.size));
  const rng = new Rng(99);
  return sizes.map((n) => Float32Array.from({ length: n }, () => rng.normal()));
}

/**
 * Per parameter tensor, the directional derivative along a random direction: ∇·d against the central difference
 * (L(θ+hd) − L(θ−hd)) / 2h, to 2 % of the larger of the two (fp32 forward passes limit the difference's precision).
 */
export function checkParameterGradients(ops: TfjsOps, fx: Fixture): void {
  const params = fx.model.parameters();
  const weights = outputWeights(ops, fx);
  const { grads } = parameterGrads(ops, params, () => lossOf(ops, fx, weights));
  const rng = new Rng(7);
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
    assert.ok(Math.abs(fd - analytic) / scale < 2e-2, `${fx.name} ${p.key} on ${ops.name}: analytic ${analytic} vs finite difference ${fd}`);
  }
  ops.release(params);
}
