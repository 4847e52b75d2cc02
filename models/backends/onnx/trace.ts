// Ops<Sym>: the ONNX tracer. Running a forward function with these ops computes nothing; it records every op as
// ONNX nodes (opset 17) with static shapes, module parameters as initializers named by their key, and host
// constants as initializers. The recorded Graph is serialised by serialize.ts and run by ONNX Runtime.
//
// Each op here must compute exactly what the tfjs backend computes (the parity tests hold them together):
// GELU via Erf, group norm via InstanceNormalization on [N, G, -1], nearest upsampling via Resize (asymmetric,
// floor), masks as large finite negatives added to the scores.

import type { AttentionOptions, Conv2dOptions, ConvTranspose2dOptions, DType, Ops } from '../../ops/ops.ts';
import type { Parameter } from '../../nn/module.ts';
import {
  MASK_NEG,
  located,
  ShapeError,
  broadcastShapes,
  checkAttention,
  checkMultiHeadAttention,
  checkNorm,
  checkReshape,
  checkSplit,
  checkTranspose,
  concatShape,
  convGeometry,
  convTransposeGeometry,
  fmt,
  linearShape,
  matmulShape,
  normAxes,
  normAxis,
  reduceShape,
  sliceSizes,
} from '../shapes.ts';
import { attentionOverHeads } from '../../ops/heads.ts';
import { Graph, Sym, type Attr } from './graph.ts';

const int = (name: string, value: number): Attr => ({ name, kind: 'int', value });
const ints = (name: string, value: number[]): Attr => ({ name, kind: 'ints', value });
const float = (name: string, value: number): Attr => ({ name, kind: 'float', value });
const str = (name: string, value: string): Attr => ({ name, kind: 'string', value });

/**
 * How `multiHeadAttention` is traced. 'auto' (the default): ONNX Runtime's fused com.microsoft MultiHeadAttention
 * where it measured as fast or faster on the CPU provider with ~10× less memory (bench/diffusion/attention.ts,
 * speed-512.ts; docs/ops.md) — no mask, no causal order and at least FUSED_ATTENTION_MIN_KEYS keys: the U-Net's
 * self-attention; its cross-attention to 77 keys, where the fused kernel was often slower, stays unfused — and
 * the split → MatMul → Softmax → MatMul → merge decomposition elsewhere. 'unfused': the decomposition everywhere
 * (KOSMOS_G_ORT_ATTENTION=unfused; for comparisons, or a provider without the contrib op).
 */
export type AttentionTracing = 'auto' | 'unfused';
export const FUSED_ATTENTION_MIN_KEYS = 256;

export function requestedAttentionTracing(): AttentionTracing {
  const mode = process.env.KOSMOS_G_ORT_ATTENTION ?? 'auto';
  if (mode !== 'auto' && mode !== 'unfused') throw new Error(`KOSMOS_G_ORT_ATTENTION='${mode}' is not one of auto, unfused`);
  return mode;
}

export class TraceOps implements Ops<Sym> {
  readonly name = 'onnx-trace';
  readonly graph = new Graph();
  /** Parameters used by the trace, in first-use order. */
  readonly params = new Map<Parameter, Sym>();
  private readonly paramNames = new Set<string>();
  private keyOf = (...ts: (Sym | undefined)[]): (string | undefined)[] =>
    ts.map((t) => (t && this.paramNames.has(t.name) ? t.name : undefined));

  constructor(readonly attentionTracing: AttentionTracing = requestedAttentionTracing()) {}

  /** Declare a graph input. */
  input(shape: readonly number[], dtype: DType): Sym {
    return this.graph.input(shape, dtype);
  }

  /** Mark the results of the forward function as graph outputs (through Identity, so any value can be one). */
  output(values: readonly Sym[]): void {
    values.forEach((v, i) => {
      const out = new Sym(`output_${i}`, v.shape, v.dtype);
      this.graph.nodes.push({ op: 'Identity', inputs: [v.name], outputs: [out.name], attrs: [] });
      this.graph.outputs.push(out);
    });
  }

  // ---- creation and inspection

  param(p: Parameter): Sym {
    const known = this.params.get(p);
    if (known) return known;
    let name = p.key || `param_${this.params.size}`;
    while (this.paramNames.has(name)) name = `${name}_`;
    this.paramNames.add(name);
    const sym = this.graph.initializer({ name, dims: [...p.shape], dtype: 'float32', param: p }, [...p.shape], 'float32');
    this.params.set(p, sym);
    return sym;
  }
  tensor(data: Float32Array | Int32Array, shape: readonly number[], dtype?: DType): Sym {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new ShapeError('tensor', `shape ${fmt(shape)} holds ${n} values, data has ${data.length}`);
    const dt = dtype ?? (data instanceof Int32Array ? 'int32' : 'float32');
    const values = dt === 'int32' ? Int32Array.from(data) : Float32Array.from(data);
    return this.graph.constant(values, [...shape], dt);
  }
  fill(shape: readonly number[], value: number): Sym {
    const v = this.graph.scalar(value, 'float32');
    return shape.length === 0 ? v : this.graph.op('Expand', [v, this.graph.int64([...shape])], [...shape], 'float32');
  }
  shape(x: Sym): number[] {
    return [...x.shape];
  }
  dtype(x: Sym): DType {
    return x.dtype;
  }
  toFloat(x: Sym): Sym {
    return x.dtype === 'float32' ? x : this.graph.op('Cast', [x], x.shape, 'float32', [int('to', 1)]);
  }

  // ---- elementwise

  private binary(op: string, onnxOp: string, a: Sym, b: Sym | number): Sym {
    let bs: Sym;
    if (typeof b === 'number') {
      if (a.dtype === 'int32' && !Number.isInteger(b)) a = this.toFloat(a);
      bs = this.graph.scalar(b, a.dtype);
    } else {
      broadcastShapes(op, a.shape, b.shape);
      bs = b;
      if (a.dtype !== b.dtype) {
        a = this.toFloat(a);
        bs = this.toFloat(b);
      }
    }
    return this.graph.op(onnxOp, [a, bs], broadcastShapes(op, a.shape, bs.shape), a.dtype);
  }
  add(a: Sym, b: Sym | number): Sym {
    return this.binary('add', 'Add', a, b);
  }
  sub(a: Sym, b: Sym | number): Sym {
    return this.binary('sub', 'Sub', a, b);
  }
  mul(a: Sym, b: Sym | number): Sym {
    return this.binary('mul', 'Mul', a, b);
  }
  div(a: Sym, b: Sym | number): Sym {
    return this.binary('div', 'Div', this.toFloat(a), typeof b === 'number' ? b : this.toFloat(b));
  }
  private unary(op: string, x: Sym, attrs: Attr[] = []): Sym {
    return this.graph.op(op, [x], x.shape, x.dtype, attrs);
  }
  neg(x: Sym): Sym {
    return this.unary('Neg', x);
  }
  exp(x: Sym): Sym {
    return this.unary('Exp', x);
  }
  log(x: Sym): Sym {
    return this.unary('Log', x);
  }
  sqrt(x: Sym): Sym {
    return this.unary('Sqrt', x);
  }
  sin(x: Sym): Sym {
    return this.unary('Sin', x);
  }
  cos(x: Sym): Sym {
    return this.unary('Cos', x);
  }
  tanh(x: Sym): Sym {
    return this.unary('Tanh', x);
  }
  sigmoid(x: Sym): Sym {
    return this.unary('Sigmoid', x);
  }
  square(x: Sym): Sym {
    return this.graph.op('Mul', [x, x], x.shape, x.dtype);
  }
  abs(x: Sym): Sym {
    return this.unary('Abs', x);
  }
  clamp(x: Sym, lo?: number, hi?: number): Sym {
    if (lo === undefined && hi === undefined) return x;
    const bound = (v?: number) => (v === undefined ? undefined : this.graph.scalar(v, x.dtype));
    return this.graph.op('Clip', [x, bound(lo), bound(hi)], x.shape, x.dtype);
  }

  erf(x: Sym): Sym {
    return this.unary('Erf', x);
  }
  sign(x: Sym): Sym {
    return this.unary('Sign', x);
  }

  // ---- activations

  relu(x: Sym): Sym {
    return this.unary('Relu', x);
  }
  silu(x: Sym): Sym {
    return this.mul(x, this.sigmoid(x));
  }
  gelu(x: Sym, approximate: 'none' | 'tanh' = 'none'): Sym {
    if (approximate === 'tanh') {
      const cube = this.mul(this.square(x), x);
      const inner = this.mul(this.add(x, this.mul(cube, 0.044715)), Math.sqrt(2 / Math.PI));
      return this.mul(this.mul(x, 0.5), this.add(this.tanh(inner), 1));
    }
    return this.mul(this.mul(x, 0.5), this.add(this.unary('Erf', this.mul(x, Math.SQRT1_2)), 1));
  }
  quickGelu(x: Sym): Sym {
    return this.mul(x, this.sigmoid(this.mul(x, 1.702)));
  }
  softmax(x: Sym, axis = -1): Sym {
    return this.unary('Softmax', x, [int('axis', normAxis('softmax', axis, x.shape.length))]);
  }
  logSoftmax(x: Sym, axis = -1): Sym {
    return this.unary('LogSoftmax', x, [int('axis', normAxis('logSoftmax', axis, x.shape.length))]);
  }

  // ---- reductions

  private reduce(op: string, name: string, x: Sym, axes: number | number[] | undefined, keepDims: boolean): Sym {
    const list = normAxes(name, axes, x.shape.length);
    const shape = reduceShape(x.shape, list, keepDims);
    const keep = int('keepdims', keepDims ? 1 : 0);
    // Opset 17: ReduceSum takes its axes as an input, ReduceMean and ReduceMax as an attribute.
    if (op === 'ReduceSum') return this.graph.op(op, [x, this.graph.int64(list)], shape, x.dtype, [keep]);
    return this.graph.op(op, [x], shape, x.dtype, [keep, ints('axes', list)]);
  }
  sum(x: Sym, axes?: number | number[], keepDims = false): Sym {
    return this.reduce('ReduceSum', 'sum', x, axes, keepDims);
  }
  mean(x: Sym, axes?: number | number[], keepDims = false): Sym {
    return this.reduce('ReduceMean', 'mean', this.toFloat(x), axes, keepDims);
  }
  max(x: Sym, axes?: number | number[], keepDims = false): Sym {
    return this.reduce('ReduceMax', 'max', x, axes, keepDims);
  }

  // ---- linear algebra

  private swapLast(x: Sym): Sym {
    const r = x.shape.length;
    const perm = [...Array(r).keys()];
    [perm[r - 2], perm[r - 1]] = [r - 1, r - 2];
    return this.transpose(x, perm);
  }
  matmul(a: Sym, b: Sym, transposeA = false, transposeB = false): Sym {
    const { out } = located(this.keyOf(b, a), () => matmulShape(a.shape, b.shape, transposeA, transposeB));
    const aa = transposeA ? this.swapLast(a) : a;
    const bb = transposeB ? this.swapLast(b) : b;
    return this.graph.op('MatMul', [aa, bb], out, 'float32');
  }
  linear(x: Sym, weight: Sym, bias?: Sym): Sym {
    const out = located(this.keyOf(weight), () => linearShape(x.shape, weight.shape, bias?.shape));
    if (x.shape.length === 2) return this.graph.op('Gemm', [x, weight, bias], out, 'float32', [int('transB', 1)]);
    // ORT folds the transpose of a constant weight at session creation and fuses MatMul + Add.
    const y = this.graph.op('MatMul', [x, this.swapLast(weight)], out, 'float32');
    return bias ? this.add(y, bias) : y;
  }
  conv2d(x: Sym, weight: Sym, bias?: Sym, options?: Conv2dOptions): Sym {
    const g = located(this.keyOf(weight), () => convGeometry(x.shape, weight.shape, options, bias?.shape));
    const [t, b, l, r] = g.pad;
    return this.graph.op('Conv', [x, weight, bias], g.out, 'float32', [
      ints('dilations', g.dilation),
      int('group', g.groups),
      ints('kernel_shape', weight.shape.slice(2)),
      ints('pads', [t, l, b, r]),
      ints('strides', g.stride),
    ]);
  }

  conv2dTranspose(x: Sym, weight: Sym, options?: ConvTranspose2dOptions): Sym {
    const g = located(this.keyOf(weight), () => convTransposeGeometry(x.shape, weight.shape, options));
    const [t, b, l, r] = g.pad;
    return this.graph.op('ConvTranspose', [x, weight], g.out, 'float32', [
      ints('dilations', g.dilation),
      int('group', g.groups),
      ints('kernel_shape', weight.shape.slice(2)),
      ints('output_padding', g.outputPadding),
      ints('pads', [t, l, b, r]),
      ints('strides', g.stride),
    ]);
  }

  // ---- normalisation

  layerNorm(x: Sym, weight: Sym | undefined, bias: Sym | undefined, eps: number): Sym {
    const d = x.shape[x.shape.length - 1]!;
    located(this.keyOf(weight, bias), () => checkNorm('layerNorm', d, weight?.shape, bias?.shape));
    const scale = weight ?? this.graph.constant(new Float32Array(d).fill(1), [d], 'float32');
    return this.graph.op('LayerNormalization', [x, scale, bias], x.shape, 'float32', [int('axis', -1), float('epsilon', eps)]);
  }
  groupNorm(x: Sym, groups: number, weight: Sym | undefined, bias: Sym | undefined, eps: number): Sym {
    const [n, c] = x.shape as [number, number];
    located(this.keyOf(weight, bias), () => {
      if (x.shape.length < 2 || c % groups !== 0) throw new ShapeError('groupNorm', `${groups} groups do not divide the channels of ${fmt(x.shape)}`);
      checkNorm('groupNorm', c, weight?.shape, bias?.shape);
    });
    // Instance norm over [N, G, rest] is group norm without the affine part.
    const grouped = this.reshape(x, [n, groups, -1]);
    const ones = this.graph.constant(new Float32Array(groups).fill(1), [groups], 'float32');
    const zeros = this.graph.constant(new Float32Array(groups), [groups], 'float32');
    const normed = this.graph.op('InstanceNormalization', [grouped, ones, zeros], grouped.shape, 'float32', [float('epsilon', eps)]);
    let y = this.reshape(normed, x.shape);
    const affine = [c, ...Array(x.shape.length - 2).fill(1)];
    if (weight) y = this.mul(y, this.reshape(weight, affine));
    if (bias) y = this.add(y, this.reshape(bias, affine));
    return y;
  }

  // ---- indexing and shape

  embedding(table: Sym, ids: Sym): Sym {
    located(this.keyOf(table), () => {
      if (table.shape.length !== 2) throw new ShapeError('embedding', `table must be [V, D], got ${fmt(table.shape)}`);
    });
    return this.graph.op('Gather', [table, ids], [...ids.shape, table.shape[1]!], 'float32', [int('axis', 0)]);
  }
  reshape(x: Sym, shape: readonly number[]): Sym {
    const out = checkReshape(x.shape, shape);
    if (out.length === x.shape.length && out.every((d, i) => d === x.shape[i])) return x;
    return this.graph.op('Reshape', [x, this.graph.int64(out)], out, x.dtype);
  }
  transpose(x: Sym, perm: readonly number[]): Sym {
    const out = checkTranspose(x.shape, perm);
    return this.graph.op('Transpose', [x], out, x.dtype, [ints('perm', [...perm])]);
  }
  concat(xs: readonly Sym[], axis: number): Sym {
    const { out, axis: a } = concatShape(
      xs.map((s) => s.shape),
      axis,
    );
    if (xs.length === 1) return xs[0]!;
    const dtype = xs.every((s) => s.dtype === 'int32') ? 'int32' : 'float32';
    const ins = xs.map((s) => (dtype === 'float32' ? this.toFloat(s) : s));
    return this.graph.op('Concat', ins, out, dtype, [int('axis', a)]);
  }
  split(x: Sym, sizes: readonly number[], axis: number): Sym[] {
    const a = checkSplit(x.shape, sizes, axis);
    const shapes = sizes.map((s): [number[], DType] => {
      const sh = [...x.shape];
      sh[a] = s;
      return [sh, x.dtype];
    });
    return this.graph.node('Split', [x, this.graph.int64(sizes)], shapes, [int('axis', a)]);
  }
  slice(x: Sym, begin: readonly number[], size: readonly number[]): Sym {
    const sizes = sliceSizes(x.shape, begin, size);
    const axes = [...x.shape.keys()];
    const ends = begin.map((b, i) => b + sizes[i]!);
    return this.graph.op('Slice', [x, this.graph.int64(begin), this.graph.int64(ends), this.graph.int64(axes)], sizes, x.dtype);
  }
  broadcastTo(x: Sym, shape: readonly number[]): Sym {
    const out = broadcastShapes('broadcastTo', x.shape, shape);
    if (out.length !== shape.length || out.some((d, i) => d !== shape[i])) {
      throw new ShapeError('broadcastTo', `cannot broadcast ${fmt(x.shape)} to ${fmt(shape)}`);
    }
    if (out.every((d, i) => d === x.shape[i]) && out.length === x.shape.length) return x;
    return this.graph.op('Expand', [x, this.graph.int64(out)], out, x.dtype);
  }
  scatterAdd(rows: Sym, ids: Sym, count: number): Sym {
    if (rows.shape.length !== 2 || ids.shape.length !== 1 || ids.shape[0] !== rows.shape[0]) {
      throw new ShapeError('scatterAdd', `needs rows [N, D] and ids [N], got ${fmt(rows.shape)} and ${fmt(ids.shape)}`);
    }
    const d = rows.shape[1]!;
    // ConstantOfShape's default value is a float32 zero: no [count, D] constant is stored in the model.
    const zeros = this.graph.op('ConstantOfShape', [this.graph.int64([count, d])], [count, d], 'float32');
    // int64 index column (ScatterND's indices): the Sym's dtype label is only bookkeeping here.
    const index = this.graph.op('Unsqueeze', [this.graph.op('Cast', [ids], ids.shape, 'int32', [int('to', 7)]), this.graph.int64([1])], [ids.shape[0]!, 1], 'int32');
    return this.graph.op('ScatterND', [zeros, index, rows], [count, d], 'float32', [str('reduction', 'add')]);
  }
  upsampleNearest2d(x: Sym, scale: number): Sym {
    if (x.shape.length !== 4 || !Number.isInteger(scale) || scale < 1) {
      throw new ShapeError('upsampleNearest2d', `needs NCHW input and an integer scale, got ${fmt(x.shape)} ×${scale}`);
    }
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const scales = this.graph.constant(Float32Array.from([1, 1, scale, scale]), [4], 'float32');
    return this.graph.op('Resize', [x, undefined, scales], [n, c, h * scale, w * scale], x.dtype, [
      str('coordinate_transformation_mode', 'asymmetric'),
      str('mode', 'nearest'),
      str('nearest_mode', 'floor'),
    ]);
  }

  // ---- attention

  attention(q: Sym, k: Sym, v: Sym, options: AttentionOptions = {}): Sym {
    const mask = options.keyPaddingMask as Sym | undefined;
    checkAttention(q.shape, k.shape, v.shape, mask?.shape, options.causal);
    const [b, , tq, d] = q.shape as [number, number, number, number];
    const tk = k.shape[2]!;
    // The scale is applied to q ([T, D]) rather than to the scores ([T, T]): the same product, far less work.
    let scores = this.matmul(this.mul(q, options.scale ?? 1 / Math.sqrt(d)), k, false, true);
    if (options.causal) {
      const bias = new Float32Array(tq * tk);
      for (let i = 0; i < tq; i++) for (let j = i + 1; j < tk; j++) bias[i * tk + j] = MASK_NEG;
      scores = this.add(scores, this.graph.constant(bias, [tq, tk], 'float32'));
    }
    if (mask) scores = this.add(scores, this.reshape(this.mul(this.toFloat(mask), MASK_NEG), [b, 1, 1, tk]));
    return this.matmul(this.softmax(scores, -1), v);
  }

  multiHeadAttention(q: Sym, k: Sym, v: Sym, heads: number, options: AttentionOptions = {}): Sym {
    const out = checkMultiHeadAttention(q.shape, k.shape, v.shape, heads);
    const fused = this.attentionTracing === 'auto' && !options.causal && !options.keyPaddingMask && k.shape[1]! >= FUSED_ATTENTION_MIN_KEYS;
    if (!fused) return attentionOverHeads(this, q, k, v, heads, options);
    // The CPU kernel runs MLAS's flash attention here (no mask, bias or past): the [B·H, Tq, Tk] scores are never
    // stored whole (1.07 GB each for the U-Net's first level at batch 2), and the heads stay packed.
    const scale = options.scale ?? 1 / Math.sqrt(q.shape[2]! / heads);
    return this.graph.op('MultiHeadAttention', [q, k, v], out, 'float32', [int('num_heads', heads), float('scale', scale)], 'com.microsoft');
  }
}
