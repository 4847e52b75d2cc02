// Matrix products for tfjs with explicit transposes. On the wasm backend a BatchMatMul with transposeA/transposeB
// set runs about ten times slower than a plain one after an explicit tf.transpose (measured on this project's
// machines: [1024, 320] × [320, 2560]ᵀ 2.2 s vs 0.2 s), and tfjs's own BatchMatMul gradient uses those flags. So
// the product and its gradient are written with plain products only. Operands must already share batch dims.

import * as tf from '@tensorflow/tfjs';

export function swapLast(x: tf.Tensor): tf.Tensor {
  const perm = [...Array(x.rank).keys()];
  perm[x.rank - 2] = x.rank - 1;
  perm[x.rank - 1] = x.rank - 2;
  return tf.transpose(x, perm);
}

const plainMatMul = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      const bT = swapLast(sb);
      const aT = swapLast(sa);
      const da = tf.matMul(dy, bT);
      const db = tf.matMul(aT, dy);
      bT.dispose();
      aT.dispose();
      return [da, db];
    },
  };
});

/** a · b (optionally transposed), with a gradient that uses plain products only. */
export function matMul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  return plainMatMul(transposeA ? swapLast(a) : a, transposeB ? swapLast(b) : b);
}
