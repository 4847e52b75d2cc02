// conv2d for tfjs with a gradient on every backend. tfjs's wasm backend has no Conv2DBackpropFilter kernel, and no
// backend has gradients for dilation > 1, so the convolution is expressed as: explicit zero padding (tf.pad, whose
// gradient is a slice), an explicitly dilated kernel (pad + reshape + slice, all differentiable), then a 'valid'
// strided convolution under tf.customGrad whose input gradient is a plain convolution and whose weight gradient is
// a product per kernel tap. tf.customGrad rather than a registered kernel gradient: the latter leaks tensors.

import * as tf from '@tensorflow/tfjs';
import type { ConvGeometry } from '../shapes.ts';
import { isFrozen } from './grads.ts';

/**
 * Input gradient of a 'valid' strided convolution as a plain convolution (XNNPACK's fast path; tf.conv2dTranspose
 * measured 8× slower on wasm): dilate dy by the stride, pad it by k−1 (plus the rows/columns the forward pass
 * dropped), and correlate with the kernel flipped in space and transposed in channels.
 */
function inputGrad(dy: tf.Tensor4D, w: tf.Tensor4D, inShape: [number, number, number, number], stride: [number, number]): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, oh, ow, o] = dy.shape;
    const [, h, wd] = inShape;
    const [kh, kw] = w.shape;
    const [sh, sw] = stride;
    let d: tf.Tensor4D = dy;
    if (sh > 1 || sw > 1) {
      const spread = tf.pad(tf.reshape(dy, [n, oh, 1, ow, 1, o]), [
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ]);
      d = tf.slice(tf.reshape(spread, [n, oh * sh, ow * sw, o]), [0, 0, 0, 0], [n, (oh - 1) * sh + 1, (ow - 1) * sw + 1, o]) as tf.Tensor4D;
    }
    const extraH = h - ((oh - 1) * sh + kh);
    const extraW = wd - ((ow - 1) * sw + kw);
    const padded = tf.pad(d, [
      [0, 0],
      [kh - 1, kh - 1 + extraH],
      [kw - 1, kw - 1 + extraW],
      [0, 0],
    ]);
    return tf.conv2d(padded, flipKernel(w), 1, 'valid');
  });
}

/**
 * The kernel flipped in space and transposed in channels ([kh, kw, in, out] → [kh, kw, out, in]), for the input
 * gradient. Reversing both spatial axes reverses the flattened tap index, so the flip is a product with the
 * anti-identity: tf.reverse runs outside XNNPACK on wasm and measured 5.3 ms on a 3×3×128×128 kernel against 0.6 ms.
 */
export function flipKernel(w: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw, cin, cout] = w.shape;
    const taps = kh * kw;
    if (taps === 1) return tf.transpose(w, [0, 1, 3, 2]) as tf.Tensor4D;
    const anti = tf.tensor2d(Array.from({ length: taps * taps }, (_, i) => (Math.floor(i / taps) + (i % taps) === taps - 1 ? 1 : 0)), [taps, taps]);
    const flipped = tf.reshape(tf.matMul(anti, tf.reshape(w, [taps, cin * cout])), [kh, kw, cin, cout]);
    return tf.transpose(flipped, [0, 1, 3, 2]) as tf.Tensor4D;
  });
}

/**
 * Below this many output pixels the per-tap products win for a stride-1 convolution; above it one convolution does
 * (wasm, batch 8, 3×3: 2.5 ms against 9.7 ms at 16×16×32, 3.0 against 9.9 at 32×32×16, 2.4 against 3.0 at 8×8×64;
 * 3.0 against 2.3 at 4×4×128). Strided convolutions always take the convolution: their per-tap windows need strided
 * slices, 24 ms against 0.85 ms for a stride-2 16×16×32 downsampler.
 */
const CONV_WEIGHT_GRAD_MIN_PIXELS = 64;

/**
 * Weight gradient as a convolution: with the batch as the channel axis, correlating the input ([in, H, W, n]) with
 * the output gradient as the kernel ([oh, ow, n, out], dilated by the forward stride) gives [in, kh', kw', out]
 * (kh' ≥ kh when the forward pass dropped trailing rows; those are cut) — one call into XNNPACK instead of kh·kw
 * transposes and small products. Exported for bench/training/conv-grad.ts.
 */
export function weightGradAsConv(x: tf.Tensor4D, dy: tf.Tensor4D, kernel: [number, number], stride: [number, number]): tf.Tensor4D {
  return tf.tidy(() => {
    const [kh, kw] = kernel;
    const c = x.shape[3];
    const o = dy.shape[3];
    let grad = tf.conv2d(tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D, tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D, 1, 'valid', 'NHWC', stride);
    if (grad.shape[1] !== kh || grad.shape[2] !== kw) grad = tf.slice(grad, [0, 0, 0, 0], [c, kh, kw, o]);
    return tf.transpose(grad, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/** Weight gradient dW[i, j, c, o] = Σ_{n, y, x} X[n, y·s + i, x·s + j, c] · dy[n, y, x, o], in the faster form. */
function weightGrad(x: tf.Tensor4D, dy: tf.Tensor4D, kernel: [number, number], stride: [number, number]): tf.Tensor4D {
  const [, oh, ow] = dy.shape;
  const [kh, kw] = kernel;
  const strided = stride[0] > 1 || stride[1] > 1;
  if (kh * kw > 1 && (strided || oh * ow >= CONV_WEIGHT_GRAD_MIN_PIXELS)) return weightGradAsConv(x, dy, kernel, stride);
  return weightGradPerTap(x, dy, kernel, stride);
}

/**
 * The weight gradient as one plain matrix product per kernel tap (a window of the input, transposed explicitly):
 * the forward pass's FLOPs with one window in memory at a time. Exported for bench/training/conv-grad.ts.
 */
export function weightGradPerTap(x: tf.Tensor4D, dy: tf.Tensor4D, kernel: [number, number], stride: [number, number]): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, oh, ow, o] = dy.shape;
    const c = x.shape[3];
    const [kh, kw] = kernel;
    const [sh, sw] = stride;
    const rows = n * oh * ow;
    const g2 = tf.reshape(dy, [rows, o]);
    const taps: tf.Tensor[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const window =
          sh === 1 && sw === 1
            ? tf.slice(x, [0, i, j, 0], [n, oh, ow, c])
            : tf.stridedSlice(x, [0, i, j, 0], [n, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, c], [1, sh, sw, 1]);
        taps.push(tf.matMul(tf.transpose(tf.reshape(window, [rows, c])), g2));
      }
    }
    return tf.reshape(tf.stack(taps), [kh, kw, c, o]) as tf.Tensor4D;
  });
}

/**
 * 'valid' NHWC convolution, stride s, dilation 1; weight [kh, kw, in, out]. A frozen weight (e.g. the U-Net of
 * instruction tuning) gets zeros for its gradient instead of a computation as costly as the forward pass.
 */
function validConv(x: tf.Tensor4D, w: tf.Tensor4D, stride: [number, number], frozen: boolean): tf.Tensor4D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x4, w4, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([x4, w4]);
    return {
      value: tf.conv2d(x4, w4, stride, 'valid'),
      gradFunc: (g: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        return [inputGrad(g, ws, xs.shape, stride), frozen ? tf.zerosLike(ws) : weightGrad(xs, g, [ws.shape[0], ws.shape[1]], stride)];
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
    const frozen = isFrozen(weight);
    let y: tf.Tensor4D;
    if (g.groups === 1) y = validConv(xh, wh, g.stride, frozen);
    else {
      const xs = tf.split(xh, g.groups, 3) as tf.Tensor4D[];
      const ws = tf.split(wh, g.groups, 3) as tf.Tensor4D[];
      y = tf.concat(
        xs.map((xi, i) => validConv(xi, ws[i]!, g.stride, frozen)),
        3,
      );
    }
    if (bias) y = tf.add(y, bias);
    return tf.transpose(y, [0, 3, 1, 2]);
  });
}
