// Reverse-mode differentiation written once, over Ops: GradOps wraps any backend's Ops<T> and is itself an
// Ops<Var<T>>. A forward function run with it computes on the inner backend and records, for every op that depends
// on a differentiated parameter, a vector–Jacobian product written in inner Ops calls. `backward` replays them in
// reverse. On tfjs that is an eager backward pass; on the ONNX tracer it records the backward pass into the same
// graph as the forward pass, so ONNX Runtime runs forward and backward as one model.
//
// Only parameters in `wrt` are differentiated: every other parameter (frozen, or left out of this step) is a
// constant, so the ops that touch it alone record nothing and, e.g., a frozen convolution computes its input
// gradient only.
import type { AttentionOptions, Conv2dOptions, ConvTranspose2dOptions, DType, Ops } from '../ops/ops.ts';
import type { Parameter } from '../nn/module.ts';
import { MASK_NEG, checkAttention, convGeometry, convTransposeGeometry, normAxes, normAxis } from '../backends/shapes.ts';
import { attentionOverHeads } from '../ops/heads.ts';
import { convInputGrad, convWeightGrad } from './conv-grads.ts';
import { groupNormGrads, layerNormGrads } from './norm-grads.ts';
import { Var, type TapeEntry } from './var.ts';

type V<T> = Var<T>;
type G<T> = T | undefined;

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

export class GradOps<T> implements Ops<Var<T>> {
  readonly name: string;
  private readonly tape: TapeEntry<T>[] = [];
  private nextId = 0;
  private readonly params = new Map<Parameter, Var<T>>();

  constructor(
    readonly inner: Ops<T>,
    /** The parameters gradients are taken for. */
    readonly wrt: ReadonlySet<Parameter>,
  ) {
    this.name = `grad(${inner.name})`;
  }

  /** How many differentiable ops were recorded (for tests and diagnostics). */
  get recorded(): number {
    return this.tape.length;
  }

  // ---- recording

  private constant(value: T): V<T> {
    return new Var(value, -1);
  }

  private record(inputs: readonly V<T>[], value: T, vjp: (g: T) => readonly G<T>[]): V<T> {
    if (!inputs.some((v) => v.needsGrad)) return this.constant(value);
    const out = new Var(value, this.nextId++);
    this.tape.push({ inputs, outputs: [out], vjp: (gs) => vjp(gs[0]!) });
    return out;
  }

  private zeros(shape: readonly number[]): T {
    return this.inner.fill(shape, 0);
  }

  /** 1 − x. */
  private oneMinus(x: T): T {
    return this.inner.add(this.inner.neg(x), 1);
  }

  /** Sum g over the dimensions broadcasting added or stretched, back to `shape`. */
  private unbroadcast(g: T, shape: readonly number[]): T {
    const o = this.inner;
    const gs = o.shape(g);
    if (sameShape(gs, shape)) return g;
    const lead = gs.length - shape.length;
    const axes = gs.map((d, i) => i).filter((i) => i < lead || (shape[i - lead] === 1 && gs[i] !== 1));
    return o.reshape(axes.length ? o.sum(g, axes, true) : g, shape);
  }

  /**
   * Gradients of the scalar `loss` for every parameter in `wrt` (a parameter the loss does not reach gets zeros).
   * The tape is consumed: a GradOps serves one backward pass.
   */
  backward(loss: V<T>): Map<Parameter, T> {
    const o = this.inner;
    const shape = o.shape(loss.value);
    if (shape.length !== 0 && !(shape.length === 1 && shape[0] === 1)) {
      throw new Error(`backward: the loss must be a scalar, got shape [${shape.join(', ')}]`);
    }
    const grads = new Map<number, T>();
    if (loss.needsGrad) grads.set(loss.id, o.fill(shape, 1));
    for (let i = this.tape.length - 1; i >= 0; i--) {
      const e = this.tape[i]!;
      const outGrads = e.outputs.map((v) => grads.get(v.id));
      if (outGrads.every((g) => g === undefined)) continue;
      e.outputs.forEach((v) => grads.delete(v.id));
      const inGrads = e.vjp(outGrads);
      e.inputs.forEach((v, k) => {
        const g = inGrads[k];
        if (!v.needsGrad || g === undefined) return;
        const known = grads.get(v.id);
        grads.set(v.id, known === undefined ? g : o.add(known, g));
      });
    }
    this.tape.length = 0;
    const out = new Map<Parameter, T>();
    for (const p of this.wrt) {
      const v = this.params.get(p);
      out.set(p, (v && grads.get(v.id)) ?? this.zeros(p.shape));
    }
    return out;
  }

  // ---- creation and inspection

  param(p: Parameter): V<T> {
    let v = this.params.get(p);
    if (!v) {
      v = new Var(this.inner.param(p), this.wrt.has(p) ? this.nextId++ : -1);
      this.params.set(p, v);
    }
    return v;
  }
  tensor(data: Float32Array | Int32Array, shape: readonly number[], dtype?: DType): V<T> {
    return this.constant(this.inner.tensor(data, shape, dtype));
  }
  fill(shape: readonly number[], value: number): V<T> {
    return this.constant(this.inner.fill(shape, value));
  }
  shape(x: V<T>): number[] {
    return this.inner.shape(x.value);
  }
  dtype(x: V<T>): DType {
    return this.inner.dtype(x.value);
  }
  toFloat(x: V<T>): V<T> {
    return this.dtype(x) === 'float32' ? x : this.constant(this.inner.toFloat(x.value));
  }

  // ---- elementwise

  private operand(b: V<T> | number): T | number {
    return typeof b === 'number' ? b : b.value;
  }
  private binaryInputs(a: V<T>, b: V<T> | number): V<T>[] {
    return typeof b === 'number' ? [a] : [a, b];
  }
  add(a: V<T>, b: V<T> | number): V<T> {
    const o = this.inner;
    return this.record(this.binaryInputs(a, b), o.add(a.value, this.operand(b)), (g) => [
      a.needsGrad ? this.unbroadcast(g, o.shape(a.value)) : undefined,
      typeof b !== 'number' && b.needsGrad ? this.unbroadcast(g, o.shape(b.value)) : undefined,
    ]);
  }
  sub(a: V<T>, b: V<T> | number): V<T> {
    const o = this.inner;
    return this.record(this.binaryInputs(a, b), o.sub(a.value, this.operand(b)), (g) => [
      a.needsGrad ? this.unbroadcast(g, o.shape(a.value)) : undefined,
      typeof b !== 'number' && b.needsGrad ? this.unbroadcast(o.neg(g), o.shape(b.value)) : undefined,
    ]);
  }
  mul(a: V<T>, b: V<T> | number): V<T> {
    const o = this.inner;
    const bv = this.operand(b);
    return this.record(this.binaryInputs(a, b), o.mul(a.value, bv), (g) => [
      a.needsGrad ? this.unbroadcast(o.mul(g, bv), o.shape(a.value)) : undefined,
      typeof b !== 'number' && b.needsGrad ? this.unbroadcast(o.mul(g, a.value), o.shape(b.value)) : undefined,
    ]);
  }
  div(a: V<T>, b: V<T> | number): V<T> {
    const o = this.inner;
    const bv = this.operand(b);
    const y = o.div(a.value, bv);
    return this.record(this.binaryInputs(a, b), y, (g) => [
      a.needsGrad ? this.unbroadcast(o.div(g, bv), o.shape(a.value)) : undefined,
      typeof b !== 'number' && b.needsGrad ? this.unbroadcast(o.neg(o.div(o.mul(g, y), b.value)), o.shape(b.value)) : undefined,
    ]);
  }

  /** An elementwise op y = f(x) with ∂L/∂x = d(g, x, y). */
  private unary(x: V<T>, y: T, d: (g: T, x: T, y: T) => T): V<T> {
    return this.record([x], y, (g) => [d(g, x.value, y)]);
  }
  neg(x: V<T>): V<T> {
    return this.unary(x, this.inner.neg(x.value), (g) => this.inner.neg(g));
  }
  exp(x: V<T>): V<T> {
    return this.unary(x, this.inner.exp(x.value), (g, _x, y) => this.inner.mul(g, y));
  }
  log(x: V<T>): V<T> {
    return this.unary(x, this.inner.log(x.value), (g, xv) => this.inner.div(g, xv));
  }
  sqrt(x: V<T>): V<T> {
    return this.unary(x, this.inner.sqrt(x.value), (g, _x, y) => this.inner.div(g, this.inner.mul(y, 2)));
  }
  sin(x: V<T>): V<T> {
    return this.unary(x, this.inner.sin(x.value), (g, xv) => this.inner.mul(g, this.inner.cos(xv)));
  }
  cos(x: V<T>): V<T> {
    return this.unary(x, this.inner.cos(x.value), (g, xv) => this.inner.neg(this.inner.mul(g, this.inner.sin(xv))));
  }
  tanh(x: V<T>): V<T> {
    const o = this.inner;
    return this.unary(x, o.tanh(x.value), (g, _x, y) => o.mul(g, this.oneMinus(o.square(y))));
  }
  sigmoid(x: V<T>): V<T> {
    const o = this.inner;
    return this.unary(x, o.sigmoid(x.value), (g, _x, y) => o.mul(g, o.mul(y, this.oneMinus(y))));
  }
  square(x: V<T>): V<T> {
    return this.unary(x, this.inner.square(x.value), (g, xv) => this.inner.mul(g, this.inner.mul(xv, 2)));
  }
  abs(x: V<T>): V<T> {
    return this.unary(x, this.inner.abs(x.value), (g, xv) => this.inner.mul(g, this.inner.sign(xv)));
  }
  /** 1 where x ≥ lo (inclusive, as PyTorch's clamp passes the gradient at the bound), else 0. */
  private atLeast(x: T, lo: number): T {
    const o = this.inner;
    return this.oneMinus(o.sign(o.relu(o.add(o.neg(x), lo))));
  }
  clamp(x: V<T>, lo?: number, hi?: number): V<T> {
    const o = this.inner;
    if (lo === undefined && hi === undefined) return x;
    return this.unary(x, o.clamp(x.value, lo, hi), (g, xv) => {
      let mask: T | undefined;
      if (lo !== undefined) mask = this.atLeast(xv, lo);
      if (hi !== undefined) {
        const below = this.atLeast(o.neg(xv), -hi);
        mask = mask === undefined ? below : o.mul(mask, below);
      }
      return o.mul(g, mask!);
    });
  }
  erf(x: V<T>): V<T> {
    const o = this.inner;
    return this.unary(x, o.erf(x.value), (g, xv) => o.mul(g, o.mul(o.exp(o.neg(o.square(xv))), 2 / Math.sqrt(Math.PI))));
  }
  sign(x: V<T>): V<T> {
    // Zero almost everywhere: no gradient flows through it.
    return this.constant(this.inner.sign(x.value));
  }

  // ---- activations

  relu(x: V<T>): V<T> {
    return this.unary(x, this.inner.relu(x.value), (g, _x, y) => this.inner.mul(g, this.inner.sign(y)));
  }
  silu(x: V<T>): V<T> {
    const o = this.inner;
    // d/dx x·σ(x) = σ(x)·(1 + x·(1 − σ(x)))
    return this.unary(x, o.silu(x.value), (g, xv) => {
      const s = o.sigmoid(xv);
      return o.mul(g, o.mul(s, o.add(o.mul(xv, this.oneMinus(s)), 1)));
    });
  }
  gelu(x: V<T>, approximate: 'none' | 'tanh' = 'none'): V<T> {
    const o = this.inner;
    return this.unary(x, o.gelu(x.value, approximate), (g, xv) => {
      if (approximate === 'tanh') {
        const c = Math.sqrt(2 / Math.PI);
        const th = o.tanh(o.mul(o.add(xv, o.mul(o.mul(o.square(xv), xv), 0.044715)), c));
        const du = o.mul(o.add(o.mul(o.square(xv), 3 * 0.044715), 1), c);
        const d = o.add(o.mul(o.add(th, 1), 0.5), o.mul(o.mul(o.mul(xv, 0.5), this.oneMinus(o.square(th))), du));
        return o.mul(g, d);
      }
      // Φ(x) + x·φ(x)
      const cdf = o.mul(o.add(o.erf(o.mul(xv, Math.SQRT1_2)), 1), 0.5);
      const pdf = o.mul(o.exp(o.mul(o.square(xv), -0.5)), 1 / Math.sqrt(2 * Math.PI));
      return o.mul(g, o.add(cdf, o.mul(xv, pdf)));
    });
  }
  quickGelu(x: V<T>): V<T> {
    const o = this.inner;
    return this.unary(x, o.quickGelu(x.value), (g, xv) => {
      const s = o.sigmoid(o.mul(xv, 1.702));
      return o.mul(g, o.add(s, o.mul(o.mul(xv, 1.702), o.mul(s, this.oneMinus(s)))));
    });
  }
  softmax(x: V<T>, axis = -1): V<T> {
    const o = this.inner;
    const a = normAxis('softmax', axis, this.shape(x).length);
    return this.unary(x, o.softmax(x.value, a), (g, _x, y) => o.mul(y, o.sub(g, o.sum(o.mul(g, y), a, true))));
  }
  logSoftmax(x: V<T>, axis = -1): V<T> {
    const o = this.inner;
    const a = normAxis('logSoftmax', axis, this.shape(x).length);
    return this.unary(x, o.logSoftmax(x.value, a), (g, _x, y) => o.sub(g, o.mul(o.exp(y), o.sum(g, a, true))));
  }

  // ---- reductions

  /** The reduced result's gradient with the reduced axes kept as 1s, ready to broadcast against x. */
  private kept(g: T, xShape: readonly number[], axes: number[], keepDims: boolean): T {
    return keepDims ? g : this.inner.reshape(g, xShape.map((d, i) => (axes.includes(i) ? 1 : d)));
  }
  sum(x: V<T>, axes?: number | number[], keepDims = false): V<T> {
    const o = this.inner;
    const shape = this.shape(x);
    const list = normAxes('sum', axes, shape.length);
    return this.unary(x, o.sum(x.value, list, keepDims), (g) => o.broadcastTo(this.kept(g, shape, list, keepDims), shape));
  }
  mean(x: V<T>, axes?: number | number[], keepDims = false): V<T> {
    const o = this.inner;
    const shape = this.shape(x);
    const list = normAxes('mean', axes, shape.length);
    const count = list.reduce((n, a) => n * shape[a]!, 1);
    return this.unary(x, o.mean(x.value, list, keepDims), (g) => o.broadcastTo(o.div(this.kept(g, shape, list, keepDims), count), shape));
  }
  max(x: V<T>, axes?: number | number[], keepDims = false): V<T> {
    const o = this.inner;
    const shape = this.shape(x);
    const list = normAxes('max', axes, shape.length);
    return this.unary(x, o.max(x.value, list, keepDims), (g, xv, y) => {
      // The gradient goes to the maxima: max − x ≥ 0, and its sign is 0 exactly there.
      const atMax = this.oneMinus(o.sign(o.sub(this.kept(y, shape, list, keepDims), xv)));
      return o.mul(atMax, this.kept(g, shape, list, keepDims));
    });
  }

  // ---- linear algebra

  matmul(a: V<T>, b: V<T>, transposeA = false, transposeB = false): V<T> {
    const o = this.inner;
    return this.record([a, b], o.matmul(a.value, b.value, transposeA, transposeB), (g) => [
      a.needsGrad
        ? this.unbroadcast(transposeA ? o.matmul(b.value, g, transposeB, true) : o.matmul(g, b.value, false, !transposeB), o.shape(a.value))
        : undefined,
      b.needsGrad
        ? this.unbroadcast(transposeB ? o.matmul(g, a.value, true, transposeA) : o.matmul(a.value, g, !transposeA, false), o.shape(b.value))
        : undefined,
    ]);
  }
  linear(x: V<T>, weight: V<T>, bias?: V<T>): V<T> {
    const o = this.inner;
    const inputs = bias ? [x, weight, bias] : [x, weight];
    return this.record(inputs, o.linear(x.value, weight.value, bias?.value), (g) => {
      const [outF, inF] = o.shape(weight.value) as [number, number];
      const g2 = o.reshape(g, [-1, outF]);
      return [
        x.needsGrad ? o.reshape(o.matmul(g2, weight.value), o.shape(x.value)) : undefined,
        weight.needsGrad ? o.matmul(g2, o.reshape(x.value, [-1, inF]), true, false) : undefined,
        bias?.needsGrad ? o.sum(g2, 0) : undefined,
      ];
    });
  }
  conv2d(x: V<T>, weight: V<T>, bias?: V<T>, options?: Conv2dOptions): V<T> {
    const o = this.inner;
    const inputs = bias ? [x, weight, bias] : [x, weight];
    const y = o.conv2d(x.value, weight.value, bias?.value, options);
    return this.record(inputs, y, (g) => {
      const geo = convGeometry(o.shape(x.value), o.shape(weight.value), options);
      return [
        x.needsGrad ? convInputGrad(o, g, weight.value, o.shape(x.value), geo) : undefined,
        weight.needsGrad ? convWeightGrad(o, x.value, g, o.shape(weight.value), geo) : undefined,
        bias?.needsGrad ? o.sum(g, [0, 2, 3]) : undefined,
      ];
    });
  }
  conv2dTranspose(x: V<T>, weight: V<T>, options?: ConvTranspose2dOptions): V<T> {
    const o = this.inner;
    const y = o.conv2dTranspose(x.value, weight.value, options);
    return this.record([x, weight], y, (g) => {
      // y = Cᵀx for the convolution C with these options taking y's shape to x's; so ∂x = C·g and ∂w is C's weight
      // gradient with g as its input and x as its output gradient.
      const geo = convGeometry(o.shape(y), o.shape(weight.value), options);
      const wt = convTransposeGeometry(o.shape(x.value), o.shape(weight.value), options);
      return [
        x.needsGrad ? o.conv2d(g, weight.value, undefined, { stride: wt.stride, padding: wt.pad, dilation: wt.dilation, groups: wt.groups }) : undefined,
        weight.needsGrad ? convWeightGrad(o, g, x.value, o.shape(weight.value), geo) : undefined,
      ];
    });
  }

  // ---- normalisation

  layerNorm(x: V<T>, weight: V<T> | undefined, bias: V<T> | undefined, eps: number): V<T> {
    const o = this.inner;
    const inputs = [x, weight ?? this.constant(x.value), bias ?? this.constant(x.value)];
    return this.record(inputs, o.layerNorm(x.value, weight?.value, bias?.value, eps), (g) => {
      const r = layerNormGrads(o, g, x.value, weight?.value, eps, { x: x.needsGrad, weight: !!weight?.needsGrad, bias: !!bias?.needsGrad });
      return [r.x, r.weight, r.bias];
    });
  }
  groupNorm(x: V<T>, groups: number, weight: V<T> | undefined, bias: V<T> | undefined, eps: number): V<T> {
    const o = this.inner;
    const inputs = [x, weight ?? this.constant(x.value), bias ?? this.constant(x.value)];
    return this.record(inputs, o.groupNorm(x.value, groups, weight?.value, bias?.value, eps), (g) => {
      const r = groupNormGrads(o, g, x.value, groups, weight?.value, eps, { x: x.needsGrad, weight: !!weight?.needsGrad, bias: !!bias?.needsGrad });
      return [r.x, r.weight, r.bias];
    });
  }

  // ---- indexing and shape

  embedding(table: V<T>, ids: V<T>): V<T> {
    const o = this.inner;
    return this.record([table], o.embedding(table.value, ids.value), (g) => {
      const [rows, dim] = o.shape(table.value) as [number, number];
      return [o.scatterAdd(o.reshape(g, [-1, dim]), o.reshape(ids.value, [-1]), rows)];
    });
  }
  reshape(x: V<T>, shape: readonly number[]): V<T> {
    const y = this.inner.reshape(x.value, shape);
    return y === x.value ? x : this.unary(x, y, (g) => this.inner.reshape(g, this.inner.shape(x.value)));
  }
  transpose(x: V<T>, perm: readonly number[]): V<T> {
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return this.unary(x, this.inner.transpose(x.value, perm), (g) => this.inner.transpose(g, inverse));
  }
  concat(xs: readonly V<T>[], axis: number): V<T> {
    const o = this.inner;
    if (xs.length === 1) return xs[0]!;
    const shapes = xs.map((x) => o.shape(x.value));
    const a = normAxis('concat', axis, shapes[0]!.length);
    return this.record(xs, o.concat(xs.map((x) => x.value), a), (g) => o.split(g, shapes.map((s) => s[a]!), a));
  }
  split(x: V<T>, sizes: readonly number[], axis: number): V<T>[] {
    const o = this.inner;
    const values = o.split(x.value, sizes, axis);
    if (!x.needsGrad) return values.map((v) => this.constant(v));
    const outs = values.map((v) => new Var(v, this.nextId++));
    const a = normAxis('split', axis, this.shape(x).length);
    this.tape.push({
      inputs: [x],
      outputs: outs,
      vjp: (gs) => [o.concat(gs.map((g, i) => g ?? this.zeros(o.shape(values[i]!))), a)],
    });
    return outs;
  }
  slice(x: V<T>, begin: readonly number[], size: readonly number[]): V<T> {
    const o = this.inner;
    const y = o.slice(x.value, begin, size);
    return this.unary(x, y, (g) => {
      // Zeros around the slice, one axis at a time.
      const full = o.shape(x.value);
      const got = o.shape(y);
      let out = g;
      const cur = [...got];
      for (let i = 0; i < full.length; i++) {
        const before = begin[i]!;
        const after = full[i]! - before - got[i]!;
        if (before === 0 && after === 0) continue;
        const parts: T[] = [];
        if (before > 0) parts.push(this.zeros(cur.map((d, k) => (k === i ? before : d))));
        parts.push(out);
        if (after > 0) parts.push(this.zeros(cur.map((d, k) => (k === i ? after : d))));
        out = o.concat(parts, i);
        cur[i] = full[i]!;
      }
      return out;
    });
  }
  broadcastTo(x: V<T>, shape: readonly number[]): V<T> {
    return this.unary(x, this.inner.broadcastTo(x.value, shape), (g) => this.unbroadcast(g, this.inner.shape(x.value)));
  }
  scatterAdd(rows: V<T>, ids: V<T>, count: number): V<T> {
    return this.unary(rows, this.inner.scatterAdd(rows.value, ids.value, count), (g) => this.inner.embedding(g, ids.value));
  }
  upsampleNearest2d(x: V<T>, scale: number): V<T> {
    const o = this.inner;
    return this.unary(x, o.upsampleNearest2d(x.value, scale), (g) => {
      const [n, c, h, w] = o.shape(x.value) as [number, number, number, number];
      return o.sum(o.reshape(g, [n, c, h, scale, w, scale]), [3, 5]);
    });
  }

  // ---- attention

  attention(q: V<T>, k: V<T>, v: V<T>, options: AttentionOptions = {}): V<T> {
    const mask = options.keyPaddingMask as V<T> | undefined;
    if (!q.needsGrad && !k.needsGrad && !v.needsGrad) {
      return this.constant(this.inner.attention(q.value, k.value, v.value, { ...options, keyPaddingMask: mask?.value }));
    }
    // Differentiated: the same decomposition the ONNX tracer records, so its gradient comes from the ops above.
    const qs = this.shape(q);
    checkAttention(qs, this.shape(k), this.shape(v), mask && this.shape(mask), options.causal);
    const [b, , tq, d] = qs as [number, number, number, number];
    const tk = this.shape(k)[2]!;
    let scores = this.matmul(this.mul(q, options.scale ?? 1 / Math.sqrt(d)), k, false, true);
    if (options.causal) {
      const bias = new Float32Array(tq * tk);
      for (let i = 0; i < tq; i++) for (let j = i + 1; j < tk; j++) bias[i * tk + j] = MASK_NEG;
      scores = this.add(scores, this.tensor(bias, [tq, tk]));
    }
    if (mask) scores = this.add(scores, this.reshape(this.mul(this.toFloat(mask), MASK_NEG), [b, 1, 1, tk]));
    return this.matmul(this.softmax(scores, -1), v);
  }

  multiHeadAttention(q: V<T>, k: V<T>, v: V<T>, heads: number, options: AttentionOptions = {}): V<T> {
    if (!q.needsGrad && !k.needsGrad && !v.needsGrad) {
      const mask = options.keyPaddingMask as V<T> | undefined;
      return this.constant(this.inner.multiHeadAttention(q.value, k.value, v.value, heads, { ...options, keyPaddingMask: mask?.value }));
    }
    // Differentiated: split, attend, merge, each with its gradient (a fused kernel has none).
    return attentionOverHeads(this, q, k, v, heads, options);
  }
}
