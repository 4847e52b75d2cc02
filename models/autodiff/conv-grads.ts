// Gradients of a 2-D convolution, written with Ops calls so that every backend can run them and the ONNX tracer can
// record them: the input gradient is the transposed convolution; the weight gradient is itself a convolution, with
// batch and channels swapped (the input's channels become the batch, the output gradient becomes the kernel, and
// stride and dilation trade places).
import type { Ops } from '../ops/ops.ts';
import type { ConvGeometry } from '../backends/shapes.ts';

/** ∂L/∂x of y = conv2d(x, w) for the output gradient `g`: the transposed convolution back to x's shape. */
export function convInputGrad<T>(o: Ops<T>, g: T, w: T, xShape: readonly number[], geo: ConvGeometry): T {
  const [, , h, wd] = xShape as [number, number, number, number];
  const [, , kh, kw] = o.shape(w) as [number, number, number, number];
  const [oh, ow] = [geo.out[2]!, geo.out[3]!];
  const [t, b, l, r] = geo.pad;
  // The rows/columns at the bottom/right that the forward pass never read (a strided conv's remainder).
  const outputPadding: [number, number] = [
    h - ((oh - 1) * geo.stride[0] - t - b + geo.dilation[0] * (kh - 1) + 1),
    wd - ((ow - 1) * geo.stride[1] - l - r + geo.dilation[1] * (kw - 1) + 1),
  ];
  return o.conv2dTranspose(g, w, { stride: geo.stride, padding: geo.pad, dilation: geo.dilation, groups: geo.groups, outputPadding });
}

/**
 * ∂L/∂w of y = conv2d(x, w) for the output gradient `g`: gw[o, c, p, q] = Σ_{n,i,j} g[n, o, i, j]·x̃[n, c, p·d + i·s,
 * q·d + j·s] (x̃ padded), which is the convolution of x with channels as batch, [C, N, H, W], by g as kernel,
 * [O, N, oh, ow], at stride d and dilation s. Groups are done one at a time.
 */
export function convWeightGrad<T>(o: Ops<T>, x: T, g: T, wShape: readonly number[], geo: ConvGeometry): T {
  const [, c, h, wd] = o.shape(x) as [number, number, number, number];
  const [oc, , kh, kw] = wShape as [number, number, number, number];
  const [oh, ow] = [geo.out[2]!, geo.out[3]!];
  const [t, , l] = geo.pad;
  const [s0, s1] = geo.stride;
  const [d0, d1] = geo.dilation;
  // Pad the bottom/right only as far as the forward pass read, so the result has exactly kh × kw taps when it can.
  const bottom = Math.max(0, (kh - 1) * d0 + (oh - 1) * s0 + 1 - h - t);
  const right = Math.max(0, (kw - 1) * d1 + (ow - 1) * s1 + 1 - wd - l);
  const groups = geo.groups;
  const xs = groups === 1 ? [x] : o.split(x, Array(groups).fill(c / groups), 1);
  const gs = groups === 1 ? [g] : o.split(g, Array(groups).fill(oc / groups), 1);
  const parts = xs.map((xg, i) => {
    const taps = o.conv2d(o.transpose(xg, [1, 0, 2, 3]), o.transpose(gs[i]!, [1, 0, 2, 3]), undefined, {
      stride: [d0, d1],
      dilation: [s0, s1],
      padding: [t, bottom, l, right],
    });
    const [ci, co, th, tw] = o.shape(taps) as [number, number, number, number];
    const exact = th === kh && tw === kw ? taps : o.slice(taps, [0, 0, 0, 0], [ci, co, kh, kw]);
    return o.transpose(exact, [1, 0, 2, 3]);
  });
  return groups === 1 ? parts[0]! : o.concat(parts, 0);
}
