// Gradients of a scalar loss with respect to module parameters, returned on the host: the optimiser
// (models/optim/adamw.ts) updates Parameter data on the host and the backend re-uploads changed parameters on
// their next use, so one optimiser serves every backend.

import * as tf from '@tensorflow/tfjs';
import type { Parameter } from '../../nn/module.ts';
import type { TfjsOps } from './ops.ts';

/**
 * Whether a kernel may skip the gradient of this operand: a non-trainable variable (a frozen parameter, or one left
 * out of parameterGrads' list: TfjsOps.differentiating). A computed tensor (e.g. a LoRA-merged weight) may need it.
 */
export function isFrozen(t: tf.Tensor): boolean {
  return t instanceof tf.Variable && !t.trainable;
}

export interface ParameterGrads {
  loss: number;
  grads: Map<Parameter, Float32Array>;
}

/**
 * Run `lossFn` (which must return a scalar and may use ops.param on any parameter) under autograd and return the
 * loss and the gradient of every trainable parameter in `params`. Every intermediate tensor is freed.
 */
export function parameterGrads(ops: TfjsOps, params: readonly Parameter[], lossFn: () => tf.Tensor): ParameterGrads {
  const trainable = params.filter((p) => p.trainable);
  const vars = trainable.map((p) => ops.variableOf(p));
  if (vars.length === 0) {
    throw Object.assign(new Error('parameterGrads: no trainable parameters given'), { code: 'NO_TRAINABLE_PARAMETERS' });
  }
  const outer = ops.differentiating;
  ops.differentiating = new Set(trainable);
  let result: { value: tf.Scalar; grads: tf.NamedTensorMap };
  try {
    result = tf.variableGrads(() => {
      const loss = lossFn();
      if (loss.rank !== 0) throw new Error(`parameterGrads: loss must be a scalar, got shape [${loss.shape.join(', ')}]`);
      return loss as tf.Scalar;
    }, vars);
  } finally {
    ops.differentiating = outer;
    for (const v of vars) v.trainable = true;
  }
  const { value, grads } = result;
  const out = new Map<Parameter, Float32Array>();
  trainable.forEach((p, i) => {
    const g = grads[vars[i]!.name];
    // A parameter the loss does not depend on gets a zero gradient rather than none.
    out.set(p, g ? Float32Array.from(g.dataSync() as Float32Array) : new Float32Array(p.size));
  });
  const loss = value.dataSync()[0]!;
  value.dispose();
  tf.dispose(grads);
  return { loss, grads: out };
}
