// A shape-only Ops that counts the floating-point operations of a forward pass (2 per multiply-add in matmul,
// linear, conv and attention; elementwise work is ignored, as GFLOP/s figures usually do). It never touches
// parameter data, so it counts the real SD 1.5 U-Net without allocating it.

import type { Parameter } from '../../models/nn/module.ts';
import type { Conv2dOptions, ConvTranspose2dOptions, DType, Ops } from '../../models/ops/ops.ts';
import {
  broadcastShapes,
  checkMultiHeadAttention,
  checkReshape,
  checkSplit,
  checkTranspose,
  concatShape,
  convGeometry,
  convTransposeGeometry,
  linearShape,
  matmulShape,
  normAxes,
  reduceShape,
  sliceSizes,
} from '../../models/backends/shapes.ts';

export interface Sym {
  shape: number[];
}

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

export class FlopCounter implements Ops<Sym> {
  readonly name = 'flop-counter';
  flops = 0;
  /** The part of `flops` in convolutions (the rest is matrix products: linear, matmul, attention). */
  convFlops = 0;
  param(p: Parameter): Sym {
    return { shape: [...p.shape] };
  }
  tensor(_d: Float32Array | Int32Array, shape: readonly number[]): Sym {
    return { shape: [...shape] };
  }
  fill(shape: readonly number[]): Sym {
    return { shape: [...shape] };
  }
  shape(x: Sym): number[] {
    return [...x.shape];
  }
  dtype(): DType {
    return 'float32';
  }
  private bin(a: Sym, b: Sym | number): Sym {
    return { shape: typeof b === 'number' ? [...a.shape] : broadcastShapes('elementwise', a.shape, b.shape) };
  }
  private same(x: Sym): Sym {
    return { shape: [...x.shape] };
  }
  toFloat = (x: Sym) => this.same(x);
  add = (a: Sym, b: Sym | number) => this.bin(a, b);
  sub = (a: Sym, b: Sym | number) => this.bin(a, b);
  mul = (a: Sym, b: Sym | number) => this.bin(a, b);
  div = (a: Sym, b: Sym | number) => this.bin(a, b);
  neg = (x: Sym) => this.same(x);
  exp = (x: Sym) => this.same(x);
  log = (x: Sym) => this.same(x);
  sqrt = (x: Sym) => this.same(x);
  sin = (x: Sym) => this.same(x);
  cos = (x: Sym) => this.same(x);
  tanh = (x: Sym) => this.same(x);
  sigmoid = (x: Sym) => this.same(x);
  square = (x: Sym) => this.same(x);
  abs = (x: Sym) => this.same(x);
  clamp = (x: Sym) => this.same(x);
  erf = (x: Sym) => this.same(x);
  sign = (x: Sym) => this.same(x);
  relu = (x: Sym) => this.same(x);
  silu = (x: Sym) => this.same(x);
  gelu = (x: Sym) => this.same(x);
  quickGelu = (x: Sym) => this.same(x);
  softmax = (x: Sym) => this.same(x);
  logSoftmax = (x: Sym) => this.same(x);
  private reduce(x: Sym, axes?: number | number[], keep = false): Sym {
    return { shape: reduceShape(x.shape, normAxes('reduce', axes, x.shape.length), keep) };
  }
  sum = (x: Sym, axes?: number | number[], keep?: boolean) => this.reduce(x, axes, keep);
  mean = (x: Sym, axes?: number | number[], keep?: boolean) => this.reduce(x, axes, keep);
  max = (x: Sym, axes?: number | number[], keep?: boolean) => this.reduce(x, axes, keep);
  matmul(a: Sym, b: Sym, ta = false, tb = false): Sym {
    const { out } = matmulShape(a.shape, b.shape, ta, tb);
    const k = ta ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
    this.flops += 2 * numel(out) * k;
    return { shape: out };
  }
  linear(x: Sym, w: Sym, b?: Sym): Sym {
    const out = linearShape(x.shape, w.shape, b?.shape);
    this.flops += 2 * numel(out) * w.shape[1];
    return { shape: out };
  }
  conv2d(x: Sym, w: Sym, b?: Sym, o?: Conv2dOptions): Sym {
    const g = convGeometry(x.shape, w.shape, o, b?.shape);
    const flops = 2 * numel(g.out) * w.shape[1] * w.shape[2] * w.shape[3];
    this.flops += flops;
    this.convFlops += flops;
    return { shape: g.out };
  }
  conv2dTranspose(x: Sym, w: Sym, o?: ConvTranspose2dOptions): Sym {
    const g = convTransposeGeometry(x.shape, w.shape, o);
    // Every input value meets every tap of its group's kernel once: the same products as the convolution it undoes.
    const flops = 2 * numel(x.shape) * w.shape[1] * w.shape[2] * w.shape[3];
    this.flops += flops;
    this.convFlops += flops;
    return { shape: g.out };
  }
  layerNorm = (x: Sym) => this.same(x);
  groupNorm = (x: Sym) => this.same(x);
  embedding(table: Sym, ids: Sym): Sym {
    return { shape: [...ids.shape, table.shape[1]] };
  }
  reshape(x: Sym, shape: readonly number[]): Sym {
    return { shape: checkReshape(x.shape, shape) };
  }
  transpose(x: Sym, perm: readonly number[]): Sym {
    return { shape: checkTranspose(x.shape, perm) };
  }
  concat(xs: readonly Sym[], axis: number): Sym {
    return { shape: concatShape(xs.map((x) => x.shape), axis).out };
  }
  split(x: Sym, sizes: readonly number[], axis: number): Sym[] {
    const a = checkSplit(x.shape, sizes, axis);
    return sizes.map((s) => ({ shape: x.shape.map((d, i) => (i === a ? s : d)) }));
  }
  slice(x: Sym, begin: readonly number[], size: readonly number[]): Sym {
    return { shape: sliceSizes(x.shape, begin, size) };
  }
  broadcastTo(_x: Sym, shape: readonly number[]): Sym {
    return { shape: [...shape] };
  }
  scatterAdd(rows: Sym, _ids: Sym, count: number): Sym {
    return { shape: [count, rows.shape[1]!] };
  }
  upsampleNearest2d(x: Sym, scale: number): Sym {
    const [n, c, h, w] = x.shape;
    return { shape: [n, c, h * scale, w * scale] };
  }
  attention(q: Sym, k: Sym, v: Sym): Sym {
    const [b, h, tq, d] = q.shape;
    const tk = k.shape[2];
    this.flops += 2 * b * h * tq * tk * d * 2; // q·kᵀ and p·v
    return { shape: [b, h, tq, v.shape[3]] };
  }
  multiHeadAttention(q: Sym, k: Sym, v: Sym, heads: number): Sym {
    const out = checkMultiHeadAttention(q.shape, k.shape, v.shape, heads);
    this.flops += 2 * q.shape[0] * q.shape[1] * k.shape[1] * (q.shape[2] + v.shape[2]); // q·kᵀ and p·v, all heads
    return { shape: out };
  }
}
