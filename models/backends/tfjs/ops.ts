// Ops<tf.Tensor>: the tfjs implementation of the ops interface, eager and differentiable on every tfjs backend.
// Shapes are checked with the shared rules (../shapes.ts) before any kernel runs, so errors read the same as on
// the ONNX tracer. Written only with ops that have gradients on wasm: no einsum, slice (never stridedSlice),
// broadcasts made explicit before batched matmul (tfjs's BatchMatMul gradient does not reduce broadcast dims),
// softmax moved to the last axis (tfjs's softmax only supports it). Products go through matmul.ts, which keeps to
// the wasm backend's fast path (plain 2-D products, explicit transposes).

import * as tf from '@tensorflow/tfjs';
import type { AttentionOptions, Conv2dOptions, ConvTranspose2dOptions, DType, HostTensor, Ops } from '../../ops/ops.ts';
import type { Parameter } from '../../nn/module.ts';
import {
  MASK_NEG,
  located,
  ShapeError,
  broadcastShapes,
  checkAttention,
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
  sliceSizes,
} from '../shapes.ts';
import { attentionOverHeads } from '../../ops/heads.ts';
import { conv2dNCHW } from './conv2d.ts';
import { embeddingLookup } from './embedding.ts';
import { linear2d, matMul } from './matmul.ts';

interface ParamSlot {
  variable: tf.Variable;
  version: number;
}

export class TfjsOps implements Ops<tf.Tensor> {
  private readonly slots = new Map<Parameter, ParamSlot>();
  /** Variable → parameter, to name the module in shape errors (keys are read late: naming may come after use). */
  private readonly owners = new WeakMap<tf.Tensor, Parameter>();
  private keyOf = (...ts: (tf.Tensor | undefined)[]): (string | undefined)[] => ts.map((t) => (t && this.owners.get(t)?.key) || undefined);

  constructor(readonly name: string) {}

  // ---- parameters

  param(p: Parameter): tf.Tensor {
    let slot = this.slots.get(p);
    if (!slot) {
      const init = tf.tensor(p.data, p.shape, 'float32');
      slot = { variable: tf.variable(init, p.trainable), version: p.version };
      init.dispose();
      this.slots.set(p, slot);
      this.owners.set(slot.variable, p);
    } else if (slot.version !== p.version) {
      const fresh = tf.tensor(p.data, p.shape, 'float32');
      slot.variable.assign(fresh);
      fresh.dispose();
      slot.version = p.version;
    }
    slot.variable.trainable = p.trainable && (!this.differentiating || this.differentiating.has(p));
    return slot.variable;
  }

  /**
   * The parameters a gradient is being taken for (parameterGrads sets it for the duration of the call). Every other
   * parameter's variable reads as non-trainable meanwhile, so kernels can skip gradients nobody asked for: e.g. the
   * frozen U-Net's weight gradients in instruction tuning, as costly as its forward pass.
   */
  differentiating: ReadonlySet<Parameter> | undefined;

  /** The variable of a parameter (created on first use), e.g. to take gradients with respect to it. */
  variableOf(p: Parameter): tf.Variable {
    return this.param(p) as tf.Variable;
  }

  /** Free the variables of these parameters (or of all) on the backend. */
  release(params?: Iterable<Parameter>): void {
    for (const p of params ?? [...this.slots.keys()]) {
      this.slots.get(p)?.variable.dispose();
      this.slots.delete(p);
    }
  }

  // ---- host transfer

  toHost(t: tf.Tensor): HostTensor {
    const raw = t.dataSync();
    // Always a copy: some backends hand out views of their own memory.
    if (t.dtype === 'float32') return { data: Float32Array.from(raw as Float32Array), shape: [...t.shape], dtype: 'float32' };
    return { data: Int32Array.from(raw as ArrayLike<number>), shape: [...t.shape], dtype: 'int32' };
  }

  fromHost(h: HostTensor): tf.Tensor {
    return this.tensor(h.data, h.shape, h.dtype);
  }

  tidy<R extends tf.TensorContainer>(fn: () => R): R {
    return tf.tidy(fn);
  }

  // ---- creation and inspection

  tensor(data: Float32Array | Int32Array, shape: readonly number[], dtype?: DType): tf.Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new ShapeError('tensor', `shape ${fmt(shape)} holds ${n} values, data has ${data.length}`);
    return tf.tensor(data, [...shape], dtype ?? (data instanceof Int32Array ? 'int32' : 'float32'));
  }
  fill(shape: readonly number[], value: number): tf.Tensor {
    return tf.fill([...shape], value, 'float32');
  }
  shape(x: tf.Tensor): number[] {
    return [...x.shape];
  }
  dtype(x: tf.Tensor): DType {
    return x.dtype === 'float32' ? 'float32' : 'int32';
  }
  toFloat(x: tf.Tensor): tf.Tensor {
    return x.dtype === 'float32' ? x : tf.cast(x, 'float32');
  }

  // ---- elementwise

  private binary(op: string, a: tf.Tensor, b: tf.Tensor | number, f: (x: tf.Tensor, y: tf.Tensor | number) => tf.Tensor): tf.Tensor {
    if (typeof b !== 'number') broadcastShapes(op, a.shape, b.shape);
    return f(a, typeof b === 'number' ? tf.scalar(b, a.dtype === 'int32' && Number.isInteger(b) ? 'int32' : 'float32') : b);
  }
  add(a: tf.Tensor, b: tf.Tensor | number): tf.Tensor {
    return this.binary('add', a, b, tf.add);
  }
  sub(a: tf.Tensor, b: tf.Tensor | number): tf.Tensor {
    return this.binary('sub', a, b, tf.sub);
  }
  mul(a: tf.Tensor, b: tf.Tensor | number): tf.Tensor {
    return this.binary('mul', a, b, tf.mul);
  }
  div(a: tf.Tensor, b: tf.Tensor | number): tf.Tensor {
    return this.binary('div', this.toFloat(a), b, tf.div);
  }
  neg(x: tf.Tensor): tf.Tensor {
    return tf.neg(x);
  }
  exp(x: tf.Tensor): tf.Tensor {
    return tf.exp(x);
  }
  log(x: tf.Tensor): tf.Tensor {
    return tf.log(x);
  }
  sqrt(x: tf.Tensor): tf.Tensor {
    return tf.sqrt(x);
  }
  sin(x: tf.Tensor): tf.Tensor {
    return tf.sin(x);
  }
  cos(x: tf.Tensor): tf.Tensor {
    return tf.cos(x);
  }
  tanh(x: tf.Tensor): tf.Tensor {
    return tf.tanh(x);
  }
  sigmoid(x: tf.Tensor): tf.Tensor {
    return tf.sigmoid(x);
  }
  square(x: tf.Tensor): tf.Tensor {
    return tf.square(x);
  }
  abs(x: tf.Tensor): tf.Tensor {
    return tf.abs(x);
  }
  clamp(x: tf.Tensor, lo?: number, hi?: number): tf.Tensor {
    if (lo !== undefined && hi !== undefined) return tf.clipByValue(x, lo, hi);
    if (lo !== undefined) return tf.maximum(x, tf.scalar(lo, x.dtype));
    if (hi !== undefined) return tf.minimum(x, tf.scalar(hi, x.dtype));
    return x;
  }
  erf(x: tf.Tensor): tf.Tensor {
    return tf.erf(x);
  }
  sign(x: tf.Tensor): tf.Tensor {
    return tf.sign(x);
  }

  // ---- activations

  relu(x: tf.Tensor): tf.Tensor {
    return tf.relu(x);
  }
  silu(x: tf.Tensor): tf.Tensor {
    return tf.mul(x, tf.sigmoid(x));
  }
  gelu(x: tf.Tensor, approximate: 'none' | 'tanh' = 'none'): tf.Tensor {
    if (approximate === 'tanh') {
      // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
      const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, tf.scalar(3)), 0.044715)), Math.sqrt(2 / Math.PI));
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
    }
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
  }
  quickGelu(x: tf.Tensor): tf.Tensor {
    return tf.mul(x, tf.sigmoid(tf.mul(x, 1.702)));
  }
  private onLastAxis(x: tf.Tensor, axis: number, op: string, f: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
    const a = normAxis(op, axis, x.rank);
    if (a === x.rank - 1) return f(x);
    const perm = [...Array(x.rank).keys()];
    perm[a] = x.rank - 1;
    perm[x.rank - 1] = a;
    return tf.transpose(f(tf.transpose(x, perm)), perm);
  }
  softmax(x: tf.Tensor, axis = -1): tf.Tensor {
    return this.onLastAxis(x, axis, 'softmax', (t) => tf.softmax(t));
  }
  logSoftmax(x: tf.Tensor, axis = -1): tf.Tensor {
    return this.onLastAxis(x, axis, 'logSoftmax', (t) => tf.logSoftmax(t));
  }

  // ---- reductions

  sum(x: tf.Tensor, axes?: number | number[], keepDims = false): tf.Tensor {
    return tf.sum(x, normAxes('sum', axes, x.rank), keepDims);
  }
  mean(x: tf.Tensor, axes?: number | number[], keepDims = false): tf.Tensor {
    return tf.mean(this.toFloat(x), normAxes('mean', axes, x.rank), keepDims);
  }
  max(x: tf.Tensor, axes?: number | number[], keepDims = false): tf.Tensor {
    return tf.max(x, normAxes('max', axes, x.rank), keepDims);
  }

  // ---- linear algebra

  matmul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
    const { batch } = located(this.keyOf(b, a), () => matmulShape(a.shape, b.shape, transposeA, transposeB));
    const full = (t: tf.Tensor): tf.Tensor => {
      const target = [...batch, ...t.shape.slice(-2)];
      // Adding zeros rather than tf.broadcastTo: broadcastTo's gradient is a tile gradient, missing above rank 4.
      return t.rank === target.length && t.shape.every((d, i) => d === target[i]) ? t : tf.add(t, tf.zeros(target));
    };
    return matMul(full(a), full(b), transposeA, transposeB);
  }
  linear(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
    const out = located(this.keyOf(weight), () => linearShape(x.shape, weight.shape, bias?.shape));
    const x2 = x.rank === 2 ? x : tf.reshape(x, [-1, weight.shape[1]!]);
    let y = linear2d(x2, weight);
    if (bias) y = tf.add(y, bias);
    return x.rank === 2 ? y : tf.reshape(y, out);
  }
  conv2d(x: tf.Tensor, weight: tf.Tensor, bias?: tf.Tensor, options?: Conv2dOptions): tf.Tensor {
    const g = located(this.keyOf(weight), () => convGeometry(x.shape, weight.shape, options, bias?.shape));
    return conv2dNCHW(x, weight, bias, g);
  }

  conv2dTranspose(x: tf.Tensor, weight: tf.Tensor, options?: ConvTranspose2dOptions): tf.Tensor {
    const g = located(this.keyOf(weight), () => convTransposeGeometry(x.shape, weight.shape, options));
    return tf.tidy(() => {
      const [n, c, h, w] = x.shape as [number, number, number, number];
      const [, ocg, kh, kw] = weight.shape as [number, number, number, number];
      const [sh, sw] = g.stride;
      const [dh, dw] = g.dilation;
      // Spread the input by the stride (zeros between rows and columns) …
      let spread = x;
      if (sh > 1 || sw > 1) {
        const grid = tf.mul(tf.reshape(x, [n * c, h, 1, w, 1]), tf.tensor([1, ...Array(sh * sw - 1).fill(0)], [1, 1, sh, 1, sw]));
        spread = tf.slice(tf.reshape(grid, [n, c, h * sh, w * sw]), [0, 0, 0, 0], [n, c, (h - 1) * sh + 1, (w - 1) * sw + 1]);
      }
      // … pad it to the full correlation (negative padding crops) …
      const [t, b, l, r] = g.pad;
      const [oph, opw] = g.outputPadding;
      const edges = [dh * (kh - 1) - t, dh * (kh - 1) - b + oph, dw * (kw - 1) - l, dw * (kw - 1) - r + opw];
      const [eh, ew] = [spread.shape[2]!, spread.shape[3]!];
      const crop = edges.map((e) => Math.max(0, -e));
      spread = tf.slice(spread, [0, 0, crop[0]!, crop[2]!], [n, c, eh - crop[0]! - crop[1]!, ew - crop[2]! - crop[3]!]);
      const pad = edges.map((e) => Math.max(0, e)) as [number, number, number, number];
      // … and correlate with the kernel flipped in space and transposed in channels, group by group.
      const groups = g.groups;
      const flipped = tf.reverse(weight, [2, 3]);
      const perGroup = tf.transpose(tf.reshape(flipped, [groups, c / groups, ocg, kh, kw]), [0, 2, 1, 3, 4]);
      const kernel = tf.reshape(perGroup, [groups * ocg, c / groups, kh, kw]);
      return conv2dNCHW(spread, kernel, undefined, convGeometry(spread.shape, kernel.shape, { padding: pad, dilation: g.dilation, groups }));
    });
  }

  // ---- normalisation

  private normalize(x: tf.Tensor, eps: number): tf.Tensor {
    const mu = tf.mean(x, -1, true);
    const centred = tf.sub(x, mu);
    const variance = tf.mean(tf.square(centred), -1, true);
    return tf.mul(centred, tf.rsqrt(tf.add(variance, eps)));
  }
  layerNorm(x: tf.Tensor, weight: tf.Tensor | undefined, bias: tf.Tensor | undefined, eps: number): tf.Tensor {
    located(this.keyOf(weight, bias), () => checkNorm('layerNorm', x.shape[x.rank - 1]!, weight?.shape, bias?.shape));
    let y = this.normalize(x, eps);
    if (weight) y = tf.mul(y, weight);
    if (bias) y = tf.add(y, bias);
    return y;
  }
  groupNorm(x: tf.Tensor, groups: number, weight: tf.Tensor | undefined, bias: tf.Tensor | undefined, eps: number): tf.Tensor {
    const [n, c] = x.shape as [number, number];
    located(this.keyOf(weight, bias), () => {
      if (x.rank < 2 || c % groups !== 0) throw new ShapeError('groupNorm', `${groups} groups do not divide the channels of ${fmt(x.shape)}`);
      checkNorm('groupNorm', c, weight?.shape, bias?.shape);
    });
    let y = tf.reshape(this.normalize(tf.reshape(x, [n, groups, -1]), eps), x.shape);
    const affine = [1, c, ...Array(x.rank - 2).fill(1)];
    if (weight) y = tf.mul(y, tf.reshape(weight, affine));
    if (bias) y = tf.add(y, tf.reshape(bias, affine));
    return y;
  }

  // ---- indexing and shape

  embedding(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
    return located(this.keyOf(table), () => embeddingLookup(table, ids));
  }
  reshape(x: tf.Tensor, shape: readonly number[]): tf.Tensor {
    return tf.reshape(x, checkReshape(x.shape, shape));
  }
  transpose(x: tf.Tensor, perm: readonly number[]): tf.Tensor {
    checkTranspose(x.shape, perm);
    return tf.transpose(x, [...perm]);
  }
  concat(xs: readonly tf.Tensor[], axis: number): tf.Tensor {
    const { axis: a } = concatShape(
      xs.map((t) => t.shape),
      axis,
    );
    return xs.length === 1 ? xs[0]! : tf.concat([...xs], a);
  }
  split(x: tf.Tensor, sizes: readonly number[], axis: number): tf.Tensor[] {
    const a = checkSplit(x.shape, sizes, axis);
    return tf.split(x, [...sizes], a);
  }
  slice(x: tf.Tensor, begin: readonly number[], size: readonly number[]): tf.Tensor {
    return tf.slice(x, [...begin], sliceSizes(x.shape, begin, size));
  }
  broadcastTo(x: tf.Tensor, shape: readonly number[]): tf.Tensor {
    const out = broadcastShapes('broadcastTo', x.shape, shape);
    if (out.length !== shape.length || out.some((d, i) => d !== shape[i])) {
      throw new ShapeError('broadcastTo', `cannot broadcast ${fmt(x.shape)} to ${fmt(shape)}`);
    }
    return tf.add(x, tf.zeros([...shape], x.dtype));
  }
  scatterAdd(rows: tf.Tensor, ids: tf.Tensor, count: number): tf.Tensor {
    if (rows.rank !== 2 || ids.rank !== 1 || ids.shape[0] !== rows.shape[0]) {
      throw new ShapeError('scatterAdd', `needs rows [N, D] and ids [N], got ${fmt(rows.shape)} and ${fmt(ids.shape)}`);
    }
    // On the host: wasm has no UnsortedSegmentSum kernel. Its gradient picks the rows back out (a gather).
    const d = rows.shape[1]!;
    const idx = Int32Array.from(ids.dataSync() as ArrayLike<number>);
    idx.forEach((k, i) => {
      if (k < 0 || k >= count) throw new ShapeError('scatterAdd', `id ${k} at position ${i} is outside ${count} rows`);
    });
    const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const src = (args[0] as tf.Tensor).dataSync() as Float32Array;
      const acc = new Float32Array(count * d);
      for (let i = 0; i < idx.length; i++) for (let j = 0; j < d; j++) acc[idx[i]! * d + j]! += src[i * d + j]!;
      return { value: tf.tensor(acc, [count, d]), gradFunc: (dy: tf.Tensor) => [tf.gather(dy, tf.tensor1d(idx, 'int32'))] };
    });
    return f(rows);
  }
  upsampleNearest2d(x: tf.Tensor, scale: number): tf.Tensor {
    if (x.rank !== 4 || !Number.isInteger(scale) || scale < 1) {
      throw new ShapeError('upsampleNearest2d', `needs NCHW input and an integer scale, got ${fmt(x.shape)} ×${scale}`);
    }
    const [n, c, h, w] = x.shape as [number, number, number, number];
    // A broadcasting multiply by ones (its gradient sums over the copies); rank 4 keeps every backend happy.
    const spread = tf.mul(tf.reshape(x, [n * c * h, 1, w, 1]), tf.ones([1, scale, 1, scale]));
    return tf.reshape(spread, [n, c, h * scale, w * scale]);
  }

  // ---- attention

  multiHeadAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, heads: number, options?: AttentionOptions): tf.Tensor {
    return attentionOverHeads(this, q, k, v, heads, options);
  }

  attention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: AttentionOptions = {}): tf.Tensor {
    const mask = options.keyPaddingMask as tf.Tensor | undefined;
    const out = checkAttention(q.shape, k.shape, v.shape, mask?.shape, options.causal);
    const [b, h, tq, d] = q.shape as [number, number, number, number];
    const tk = k.shape[2]!;
    // The scale is applied to q ([T, D]) rather than to the scores ([T, T]): the same product, far less work.
    const scale = options.scale ?? 1 / Math.sqrt(d);
    let causal: tf.Tensor | undefined;
    if (options.causal) {
      const bias = new Float32Array(tq * tk);
      for (let i = 0; i < tq; i++) for (let j = i + 1; j < tk; j++) bias[i * tk + j] = MASK_NEG;
      causal = tf.tensor(bias, [tq, tk]);
    }
    const padding = mask && tf.reshape(tf.mul(this.toFloat(mask), MASK_NEG), [b, 1, 1, tk]);
    if (tf.getBackend() === 'wasm' && b * h <= 256) {
      // One head at a time: the [Tq, Tk] scores stay 2-D (wasm's fast product), and no [B·H, Tq, Tk] tensor is
      // ever sliced apart (slicing those cost more than the products themselves).
      const [qs, ks, vs] = [q, k, v].map((t) => tf.unstack(tf.reshape(t, [b * h, ...t.shape.slice(2)])));
      const rows = padding && tf.unstack(tf.reshape(padding, [b, 1, tk]));
      const heads = qs!.map((qi, i) => {
        let s = matMul(tf.mul(qi, scale), ks![i]!, false, true);
        if (causal) s = tf.add(s, causal);
        if (rows) s = tf.add(s, rows[Math.floor(i / h)]!);
        return matMul(tf.softmax(s), vs![i]!);
      });
      return tf.reshape(tf.stack(heads), out);
    }
    let scores = matMul(tf.mul(q, scale), k, false, true);
    if (causal) scores = tf.add(scores, causal);
    if (padding) scores = tf.add(scores, padding);
    return matMul(tf.softmax(scores), v);
  }
}
