// Matrix products for tfjs, shaped around the wasm backend's fast path (measured on this project's machines):
// - a BatchMatMul with transposeA/transposeB set runs ~10× slower than a plain one after an explicit transpose
//   ([1024, 320] × [320, 2560]ᵀ: 2.2 s vs 0.2 s), and tfjs's own BatchMatMul gradient uses those flags;
// - a BatchMatMul with more than one batch runs ~15× slower than the same products one by one
//   (8 × [1024, 40] × [40, 1024]: 2.1 s vs 0.12 s), so on wasm batches are unrolled into 2-D products.
// So products and their gradients here use plain 2-D products only. Operands must already share batch dims.

import * as tf from '@tensorflow/tfjs';
import { isFrozen } from './grads.ts';

/** Above this many batch entries the per-product overhead outweighs the unrolling gain. */
const MAX_UNROLL = 256;

export function swapLast(x: tf.Tensor): tf.Tensor {
  const perm = [...Array(x.rank).keys()];
  perm[x.rank - 2] = x.rank - 1;
  perm[x.rank - 1] = x.rank - 2;
  return tf.transpose(x, perm);
}

/** a [..., m, k] · b [..., k, n] with equal batch dims, no transposes, no gradient of its own. */
export function product(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (a.rank === 2 || tf.getBackend() !== 'wasm') return tf.matMul(a, b);
  const batch = a.shape.slice(0, -2);
  const count = batch.reduce((x, y) => x * y, 1);
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape[b.rank - 1]!;
  if (count > MAX_UNROLL) return tf.matMul(a, b);
  return tf.tidy(() => {
    if (count === 1) return tf.reshape(tf.matMul(tf.reshape(a, [m, k]), tf.reshape(b, [k, n])), [...batch, m, n]);
    const as = tf.unstack(tf.reshape(a, [count, m, k]));
    const bs = tf.unstack(tf.reshape(b, [count, k, n]));
    return tf.reshape(tf.stack(as.map((ai, i) => tf.matMul(ai, bs[i]!))), [...batch, m, n]);
  });
}

// The gradients need a transposed operand; transposing is memory traffic, so each picks the cheaper of two equal
// forms, e.g. aᵀ·dy or (dyᵀ·a)ᵀ: for attention's probabilities [T, T] · v [T, d] the second moves 2·T·d values
// instead of T².
const lastTwo = (t: tf.Tensor): [number, number] => [t.shape[t.rank - 2]!, t.shape[t.rank - 1]!];

/** dy · bᵀ */
export function gradLeft(dy: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const [k, n] = lastTwo(b);
  const m = dy.shape[dy.rank - 2]!;
  return k * n <= m * n + m * k ? product(dy, swapLast(b)) : swapLast(product(b, swapLast(dy)));
}

/** aᵀ · dy */
export function gradRight(a: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  const [m, k] = lastTwo(a);
  const n = dy.shape[dy.rank - 1]!;
  return m * k <= m * n + k * n ? product(swapLast(a), dy) : swapLast(product(swapLast(dy), a));
}

const plainMatMul = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: product(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      return tf.tidy(() => [gradLeft(dy, sb), gradRight(sa, dy)]);
    },
  };
});

/** a · b (optionally transposed), with a gradient that uses plain products only. */
export function matMul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  return plainMatMul(transposeA ? swapLast(a) : a, transposeB ? swapLast(b) : b);
}

/**
 * x [rows, in] · Wᵀ for W [out, in] (PyTorch's linear). Written out so the backward pass needs no transpose of W:
 * dx = dy · W, dW = dyᵀ · x (or its cheaper equal form).
 */
export const linear2d = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([x, w]);
  const frozen = isFrozen(w);
  return {
    // x·Wᵀ or (W·xᵀ)ᵀ, whichever transposes fewer values (few rows against a large W: the second).
    value: tf.tidy(() => {
      const [rows, inF] = x.shape as [number, number];
      const outF = w.shape[0]!;
      return rows * (inF + outF) < inF * outF ? tf.transpose(tf.matMul(w, tf.transpose(x))) : tf.matMul(x, tf.transpose(w));
    }),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sw] = saved as [tf.Tensor, tf.Tensor];
      // A frozen weight gets zeros, not a product.
      return tf.tidy(() => [tf.matMul(dy, sw), frozen ? tf.zerosLike(sw) : gradRight(dy, sx)]);
    },
  };
});
