// conv2d for tfjs with a gradient on every backend. tfjs's wasm backend has no Conv2DBackpropFilter kernel, and no
// backend has gradients for dilation > 1, so the convolution is expressed as: explicit zero padding (tf.pad, whose
// gradient is a slice), an explicitly dilated kernel (pad + reshape + slice, all differentiable), then a 'valid'
// strided convolution under tf.customGrad whose weight gradient is itself a convolution of transposed tensors
// (dilated by the stride). tf.customGrad rather than a registered kernel gradient: the latter leaks tensors.

import * as tf from '@tensorflow/tfjs';
import type { ConvGeometry } from '../shapes.ts';

/** 'valid' NHWC convolution, stride s, dilation 1; weight [kh, kw, in, out]. */
function validConv(x: tf.Tensor4D, w: tf.Tensor4D, stride: [number, number]): tf.Tensor4D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x4, w4, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([x4, w4]);
    return {
      value: tf.conv2d(x4, w4, stride, 'valid'),
      gradFunc: (g: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dx = tf.conv2dTranspose(g, ws, xs.shape, stride, 'valid');
        const [kh, kw, cin, cout] = ws.shape;
        // dW[kh, kw, c, o] = Σ_{n, oh, ow} x[n, oh·s + kh, ow·s + kw, c] · dy[n, oh, ow, o]: a convolution with the
        // channels as batch, the batch as channels and dy as the kernel, dilated by the stride.
        const xT = tf.transpose(xs, [3, 1, 2, 0]);
        const gT = tf.transpose(g, [1, 2, 0, 3]);
        const full = tf.conv2d(xT, gT as tf.Tensor4D, 1, 'valid', 'NHWC', stride);
        const cut = tf.slice(full, [0, 0, 0, 0], [cin, kh, kw, cout]);
        const dw = tf.transpose(cut, [1, 2, 0, 3]);
        xT.dispose();
        gT.dispose();
        full.dispose();
        cut.dispose();
        return [dx, dw];
      },
    };
  });
  return f(x, w) as tf.Tensor4D;
}

/** Insert (d-1) zeros between kernel taps so that a dilated convolution becomes a plain one. */
function dilateKernel(w: tf.Tensor4D, dilation: [number, number]): tf.Tensor4D {
  const [dh, dw] = dilation;
  if (dh === 1 && dw === 1) return w;
  const [kh, kw, cin, cout] = w.shape;
  const spread = tf.pad(tf.reshape(w, [kh, 1, kw, 1, cin, cout]), [
    [0, 0],
    [0, dh - 1],
    [0, 0],
    [0, dw - 1],
    [0, 0],
    [0, 0],
  ]);
  const flat = tf.reshape(spread, [kh * dh, kw * dw, cin, cout]);
  return tf.slice(flat, [0, 0, 0, 0], [(kh - 1) * dh + 1, (kw - 1) * dw + 1, cin, cout]) as tf.Tensor4D;
}

/** PyTorch-convention conv2d: x NCHW, weight [out, in/groups, kh, kw]; geometry already validated. */
export function conv2dNCHW(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | undefined, g: ConvGeometry): tf.Tensor {
  return tf.tidy(() => {
    let xh = tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D;
    const [t, b, l, r] = g.pad;
    if (t || b || l || r) {
      xh = tf.pad(xh, [
        [0, 0],
        [t, b],
        [l, r],
        [0, 0],
      ]);
    }
    const wh = dilateKernel(tf.transpose(weight, [2, 3, 1, 0]) as tf.Tensor4D, g.dilation);
    let y: tf.Tensor4D;
    if (g.groups === 1) y = validConv(xh, wh, g.stride);
    else {
      const xs = tf.split(xh, g.groups, 3) as tf.Tensor4D[];
      const ws = tf.split(wh, g.groups, 3) as tf.Tensor4D[];
      y = tf.concat(
        xs.map((xi, i) => validConv(xi, ws[i]!, g.stride)),
        3,
      );
    }
    if (bias) y = tf.add(y, bias);
    return tf.transpose(y, [0, 3, 1, 2]);
  });
}
