// The gradient parity check the stage tests share: one loss function differentiated on ONNX Runtime (forward +
// backward traced into one graph) and under tfjs autograd gives the same loss and gradients.
import assert from 'node:assert/strict';
import type { Parameter } from '../../models/nn/module.ts';
import type { LossFn } from '../../models/autodiff/index.ts';
import { trainingBackend } from '../../models/training/backends.ts';

/**
 * max over parameters of ‖g_onnx − g_tfjs‖∞ / max(‖g_tfjs‖∞, 1e-3·largest gradient). The floor matters for gradients
 * that are zero in exact arithmetic and only rounding noise in both (an attention key bias: softmax ignores a shift
 * common to a row), whose relative difference means nothing.
 */
export async function gradientParity(params: readonly Parameter[], loss: LossFn): Promise<{ loss: [number, number]; worst: number; key: string }> {
  const onnx = await (await trainingBackend('onnx', 'cpu')).gradients(params, loss);
  const tfjs = await (await trainingBackend('tfjs', 'cpu')).gradients(params, loss);
  let worst = 0, key = '';
  let largest = 0;
  for (const g of tfjs.grads.values()) for (const v of g) largest = Math.max(largest, Math.abs(v));
  for (const [p, want] of tfjs.grads) {
    const got = onnx.grads.get(p);
    assert.ok(got, `no ONNX gradient for ${p.key}`);
    let scale = 0, err = 0;
    want.forEach((v, i) => {
      scale = Math.max(scale, Math.abs(v));
      err = Math.max(err, Math.abs(v - got[i]!));
    });
    const rel = err / Math.max(scale, 1e-3 * largest, 1e-30);
    if (rel > worst) [worst, key] = [rel, p.key];
  }
  return { loss: [onnx.loss, tfjs.loss], worst, key };
}

export async function assertGradientParity(params: readonly Parameter[], loss: LossFn, where: string, tolerance = 1e-4): Promise<void> {
  const r = await gradientParity(params, loss);
  assert.ok(Math.abs(r.loss[0] - r.loss[1]) <= tolerance * Math.max(1, Math.abs(r.loss[1])), `${where}: loss ${r.loss[0]} (onnx) vs ${r.loss[1]} (tfjs)`);
  assert.ok(r.worst <= tolerance, `${where}: gradient of ${r.key} differs by ${r.worst.toExponential(2)} of its scale`);
}
