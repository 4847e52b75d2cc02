// The ops interface: the small set of tensor operations every component is written against. A component's
// forward pass is written once as `forward(ops, ...)`; run on the tfjs backend it executes eagerly under autograd
// (training), run on the ONNX tracer it records an ONNX graph that ONNX Runtime executes (fast inference).
//
// Conventions (PyTorch's, so the weights load by name without transposes):
// - images and feature maps are NCHW;
// - `linear` weights are [out, in]; conv weights are [out, in/groups, kh, kw];
// - every shape is static once inputs are known (the tracer records concrete shapes).

import type { Parameter } from '../nn/module.ts';

export type DType = 'float32' | 'int32';

/** Attention options. q, k, v are [B, H, Tq|Tk, D]. */
export interface AttentionOptions {
  /** Mask keys j > i (decoder self-attention). Requires Tq == Tk. */
  causal?: boolean;
  /** [B, Tk] float tensor, 1 where the key is padding (masked out), 0 elsewhere. */
  keyPaddingMask?: unknown;
  /** Multiplies q·kᵀ; defaults to 1/√D. */
  scale?: number;
}

export interface Conv2dOptions {
  stride?: number | [number, number];
  /** Symmetric padding, or [top, bottom, left, right] for the VAE's asymmetric downsample. */
  padding?: number | [number, number] | [number, number, number, number];
  dilation?: number | [number, number];
  groups?: number;
}

/**
 * The transposed convolution of a conv2d with these options (PyTorch's ConvTranspose2d): the input gradient of that
 * convolution. `outputPadding` adds rows/columns at the bottom/right that a strided forward pass never read, so the
 * result can have exactly the forward input's shape.
 */
export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: number | [number, number];
}

export interface Ops<T> {
  /** 'tfjs-wasm', 'tfjs-node', 'tfjs-webgpu', 'onnx-trace', … */
  readonly name: string;

  // ---- creation and inspection
  /**
   * The backend tensor of a module parameter. tfjs returns a variable created once per parameter (and re-uploaded
   * when `param.version` changes); the ONNX tracer returns an initializer named by the parameter's key.
   */
  param(p: Parameter): T;
  tensor(data: Float32Array | Int32Array, shape: readonly number[], dtype?: DType): T;
  /** A float tensor of this shape holding one value everywhere (a structural constant, never host data). */
  fill(shape: readonly number[], value: number): T;
  shape(x: T): number[];
  dtype(x: T): DType;
  /** Float32 cast (e.g. of a mask or an int tensor). */
  toFloat(x: T): T;

  // ---- elementwise (numpy broadcasting; a number is a scalar)
  add(a: T, b: T | number): T;
  sub(a: T, b: T | number): T;
  mul(a: T, b: T | number): T;
  div(a: T, b: T | number): T;
  neg(x: T): T;
  exp(x: T): T;
  log(x: T): T;
  sqrt(x: T): T;
  sin(x: T): T;
  cos(x: T): T;
  tanh(x: T): T;
  sigmoid(x: T): T;
  square(x: T): T;
  abs(x: T): T;
  /** max(x, lo) and min(x, hi); either bound may be omitted. */
  clamp(x: T, lo?: number, hi?: number): T;
  /** The Gauss error function (exact GELU's derivative needs it). */
  erf(x: T): T;
  /** −1, 0 or 1 by the sign of x (the masks of relu, clamp, abs and max gradients are built from it). */
  sign(x: T): T;

  // ---- activations
  relu(x: T): T;
  silu(x: T): T;
  /** 'none': exact erf GELU (MAGNETO, GEGLU); 'tanh': the tanh approximation. */
  gelu(x: T, approximate?: 'none' | 'tanh'): T;
  /** x·σ(1.702x), CLIP's activation. */
  quickGelu(x: T): T;
  softmax(x: T, axis?: number): T;
  logSoftmax(x: T, axis?: number): T;

  // ---- reductions
  sum(x: T, axes?: number | number[], keepDims?: boolean): T;
  mean(x: T, axes?: number | number[], keepDims?: boolean): T;
  max(x: T, axes?: number | number[], keepDims?: boolean): T;

  // ---- linear algebra
  /** Batched matmul with broadcasting over leading dims: [..., m, k] × [..., k, n]. */
  matmul(a: T, b: T, transposeA?: boolean, transposeB?: boolean): T;
  /** x[..., in] → x·Wᵀ + b, W [out, in]. */
  linear(x: T, weight: T, bias?: T): T;
  conv2d(x: T, weight: T, bias?: T, options?: Conv2dOptions): T;
  /** Transposed convolution, weight [in, out/groups, kh, kw] (PyTorch's layout): conv2d's input gradient. */
  conv2dTranspose(x: T, weight: T, options?: ConvTranspose2dOptions): T;

  // ---- normalisation
  /** Normalise over the last dimension. */
  layerNorm(x: T, weight: T | undefined, bias: T | undefined, eps: number): T;
  /** NCHW group norm. */
  groupNorm(x: T, groups: number, weight: T | undefined, bias: T | undefined, eps: number): T;

  // ---- indexing and shape
  /** Rows of `table` [V, D] at integer `ids` (any shape) → [...ids.shape, D]. Differentiable in `table`. */
  embedding(table: T, ids: T): T;
  reshape(x: T, shape: readonly number[]): T;
  transpose(x: T, perm: readonly number[]): T;
  concat(xs: readonly T[], axis: number): T;
  split(x: T, sizes: readonly number[], axis: number): T[];
  /** Contiguous slice; `size` -1 means "to the end". */
  slice(x: T, begin: readonly number[], size: readonly number[]): T;
  /** x repeated along its size-1 (or missing leading) dimensions to `shape` (numpy broadcasting). */
  broadcastTo(x: T, shape: readonly number[]): T;
  /** rows [N, D] added into `count` zero rows at integer `ids` [N] → [count, D] (the embedding table's gradient). */
  scatterAdd(rows: T, ids: T, count: number): T;
  /** Nearest-neighbour ×scale upsampling of NCHW. */
  upsampleNearest2d(x: T, scale: number): T;

  // ---- attention
  /** softmax(q·kᵀ·scale + masks)·v over [B, H, T, D]. */
  attention(q: T, k: T, v: T, options?: AttentionOptions): T;
  /**
   * `attention` over `heads` heads packed in the last dimension: q [B, Tq, H·Dk], k [B, Tk, H·Dk], v [B, Tk, H·Dv]
   * → [B, Tq, H·Dv] (the projections' layout, so a fused kernel needs no head transposes). The scale defaults to
   * 1/√Dk. Backends without a fused kernel split the heads, attend and merge them (`models/ops/heads.ts`).
   */
  multiHeadAttention(q: T, k: T, v: T, heads: number, options?: AttentionOptions): T;
}

/** A tensor on the host, the currency between nodes and runners. */
export interface HostTensor {
  data: Float32Array | Int32Array;
  shape: number[];
  dtype: DType;
}

export function hostTensor(data: Float32Array | Int32Array, shape: readonly number[]): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) {
    throw new Error(`hostTensor: shape [${shape.join(', ')}] holds ${n} values, data has ${data.length}`);
  }
  return { data, shape: [...shape], dtype: data instanceof Int32Array ? 'int32' : 'float32' };
}
