// Shape rules shared by every backend, so that a bad shape fails the same way (same code, both shapes named) on
// tfjs and on the ONNX tracer, before any kernel runs. The tracer also uses these rules to know every shape
// statically.

import type { Conv2dOptions, ConvTranspose2dOptions } from '../ops/ops.ts';

/** A shape error raised inside an op; `where` names the op (and the module path when the caller adds it). */
export class ShapeError extends Error {
  readonly code = 'SHAPE_MISMATCH';
  constructor(
    readonly op: string,
    detail: string,
  ) {
    super(`${op}: ${detail}`);
  }
}

/**
 * Run a shape check; if it fails and one operand is a module parameter, name the module it belongs to
 * (`down.1.conv1` from the key `down.1.conv1.weight`), so the error points into the model.
 */
export function located<R>(paramKeys: readonly (string | undefined)[], check: () => R): R {
  try {
    return check();
  } catch (err) {
    const key = paramKeys.find((k) => k);
    if (err instanceof ShapeError && key && !err.message.includes(' (in module ')) {
      const module = key.includes('.') ? key.slice(0, key.lastIndexOf('.')) : key;
      err.message = `${err.message} (in module ${module})`;
    }
    throw err;
  }
}

export const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** numpy broadcasting of two shapes. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(op, `shapes ${fmt(a)} and ${fmt(b)} do not broadcast (dim ${i}: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Normalise a possibly negative axis against a rank. */
export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank || !Number.isInteger(a)) throw new ShapeError(op, `axis ${axis} out of range for rank ${rank}`);
  return a;
}

export function normAxes(op: string, axes: number | number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === 'number' ? [axes] : axes;
  return [...new Set(list.map((a) => normAxis(op, a, rank)))].sort((x, y) => x - y);
}

export function reduceShape(shape: readonly number[], axes: number[], keepDims: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepDims) out.push(1);
  });
  return out;
}

/** [..., m, k] × [..., k, n] with broadcast batch dims; returns the output shape and the broadcast batch shape. */
export function matmulShape(
  a: readonly number[],
  b: readonly number[],
  transposeA = false,
  transposeB = false,
): { out: number[]; batch: number[] } {
  if (a.length < 2 || b.length < 2) {
    throw new ShapeError('matmul', `operands need rank >= 2, got ${fmt(a)} and ${fmt(b)}`);
  }
  const [m, ka] = transposeA ? [a[a.length - 1]!, a[a.length - 2]!] : [a[a.length - 2]!, a[a.length - 1]!];
  const [kb, n] = transposeB ? [b[b.length - 1]!, b[b.length - 2]!] : [b[b.length - 2]!, b[b.length - 1]!];
  if (ka !== kb) {
    throw new ShapeError(
      'matmul',
      `inner dimensions differ: ${fmt(a)}${transposeA ? 'ᵀ' : ''} × ${fmt(b)}${transposeB ? 'ᵀ' : ''} (${ka} vs ${kb})`,
    );
  }
  const batch = broadcastShapes('matmul', a.slice(0, -2), b.slice(0, -2));
  return { out: [...batch, m, n], batch };
}

export function linearShape(x: readonly number[], w: readonly number[], bias?: readonly number[]): number[] {
  if (w.length !== 2) throw new ShapeError('linear', `weight must be [out, in], got ${fmt(w)}`);
  const inF = x[x.length - 1];
  if (x.length < 1 || inF !== w[1]) {
    throw new ShapeError('linear', `input ${fmt(x)} has ${inF} features, weight ${fmt(w)} expects ${w[1]}`);
  }
  if (bias && (bias.length !== 1 || bias[0] !== w[0])) {
    throw new ShapeError('linear', `bias ${fmt(bias)} does not match weight ${fmt(w)}`);
  }
  return [...x.slice(0, -1), w[0]!];
}

export interface ConvGeometry {
  stride: [number, number];
  /** top, bottom, left, right */
  pad: [number, number, number, number];
  dilation: [number, number];
  groups: number;
  out: number[];
}

const pair = (v: number | [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === 'number' ? [v, v] : v;

/** Groups, stride, dilation and [top, bottom, left, right] padding of conv options, with their defaults. */
function convOptions(o: Conv2dOptions): Omit<ConvGeometry, 'out'> {
  const p = o.padding ?? 0;
  const pad: [number, number, number, number] =
    typeof p === 'number' ? [p, p, p, p] : p.length === 2 ? [p[0], p[0], p[1], p[1]] : [p[0], p[1], p[2], p[3]];
  return { groups: o.groups ?? 1, stride: pair(o.stride, 1), dilation: pair(o.dilation, 1), pad };
}

export function convGeometry(x: readonly number[], w: readonly number[], o: Conv2dOptions = {}, bias?: readonly number[]): ConvGeometry {
  if (x.length !== 4) throw new ShapeError('conv2d', `input must be NCHW, got ${fmt(x)}`);
  if (w.length !== 4) throw new ShapeError('conv2d', `weight must be [out, in/groups, kh, kw], got ${fmt(w)}`);
  const { groups, stride, dilation, pad } = convOptions(o);
  const [n, c, h, wd] = x as [number, number, number, number];
  const [oc, icg, kh, kw] = w as [number, number, number, number];
  if (c % groups !== 0 || oc % groups !== 0 || c / groups !== icg) {
    throw new ShapeError('conv2d', `input ${fmt(x)} with groups=${groups} does not fit weight ${fmt(w)}`);
  }
  if (bias && (bias.length !== 1 || bias[0] !== oc)) {
    throw new ShapeError('conv2d', `bias ${fmt(bias)} does not match weight ${fmt(w)}`);
  }
  const oh = Math.floor((h + pad[0] + pad[1] - dilation[0] * (kh - 1) - 1) / stride[0]) + 1;
  const ow = Math.floor((wd + pad[2] + pad[3] - dilation[1] * (kw - 1) - 1) / stride[1]) + 1;
  if (oh < 1 || ow < 1) throw new ShapeError('conv2d', `input ${fmt(x)} is smaller than the kernel ${fmt(w)}`);
  return { stride, pad, dilation, groups, out: [n, oc, oh, ow] };
}

export interface ConvTransposeGeometry extends ConvGeometry {
  outputPadding: [number, number];
}

/**
 * Geometry of a transposed convolution (weight [in, out/groups, kh, kw]): the output is the input of the conv2d
 * with the same options whose output has x's shape, out = (h − 1)·s − pads + d·(k − 1) + 1 + outputPadding.
 */
export function convTransposeGeometry(x: readonly number[], w: readonly number[], o: ConvTranspose2dOptions = {}): ConvTransposeGeometry {
  if (x.length !== 4) throw new ShapeError('conv2dTranspose', `input must be NCHW, got ${fmt(x)}`);
  if (w.length !== 4) throw new ShapeError('conv2dTranspose', `weight must be [in, out/groups, kh, kw], got ${fmt(w)}`);
  const { groups, stride, dilation, pad } = convOptions(o);
  const outputPadding = pair(o.outputPadding, 0);
  const [n, c, h, wd] = x as [number, number, number, number];
  const [ic, ocg, kh, kw] = w as [number, number, number, number];
  if (c !== ic || c % groups !== 0) throw new ShapeError('conv2dTranspose', `input ${fmt(x)} with groups=${groups} does not fit weight ${fmt(w)}`);
  if (outputPadding[0] >= Math.max(stride[0], dilation[0]) || outputPadding[1] >= Math.max(stride[1], dilation[1])) {
    throw new ShapeError('conv2dTranspose', `output padding ${fmt(outputPadding)} must be smaller than the stride or dilation`);
  }
  const oh = (h - 1) * stride[0] - pad[0] - pad[1] + dilation[0] * (kh - 1) + 1 + outputPadding[0];
  const ow = (wd - 1) * stride[1] - pad[2] - pad[3] + dilation[1] * (kw - 1) + 1 + outputPadding[1];
  if (oh < 1 || ow < 1) throw new ShapeError('conv2dTranspose', `input ${fmt(x)} and weight ${fmt(w)} give no output`);
  return { stride, pad, dilation, groups, outputPadding, out: [n, ocg * groups, oh, ow] };
}

export function checkReshape(x: readonly number[], shape: readonly number[]): number[] {
  const total = numel(x);
  const free = shape.filter((d) => d === -1).length;
  if (free > 1) throw new ShapeError('reshape', `at most one -1 allowed, got ${fmt(shape)}`);
  const known = numel(shape.filter((d) => d !== -1));
  const out = shape.map((d) => (d === -1 ? total / known : d));
  if (numel(out) !== total || out.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError('reshape', `cannot reshape ${fmt(x)} (${total} values) to ${fmt(shape)}`);
  }
  return out;
}

export function checkTranspose(x: readonly number[], perm: readonly number[]): number[] {
  const ok = perm.length === x.length && [...perm].sort((a, b) => a - b).every((p, i) => p === i);
  if (!ok) throw new ShapeError('transpose', `perm ${fmt(perm)} is not a permutation of rank ${x.length} (${fmt(x)})`);
  return perm.map((p) => x[p]!);
}

export function concatShape(shapes: readonly (readonly number[])[], axis: number): { out: number[]; axis: number } {
  if (shapes.length === 0) throw new ShapeError('concat', 'needs at least one tensor');
  const first = shapes[0]!;
  const a = normAxis('concat', axis, first.length);
  let total = 0;
  for (const s of shapes) {
    if (s.length !== first.length || s.some((d, i) => i !== a && d !== first[i])) {
      throw new ShapeError('concat', `shapes ${fmt(first)} and ${fmt(s)} differ outside axis ${axis}`);
    }
    total += s[a]!;
  }
  const out = [...first];
  out[a] = total;
  return { out, axis: a };
}

export function checkSplit(x: readonly number[], sizes: readonly number[], axis: number): number {
  const a = normAxis('split', axis, x.length);
  const sum = sizes.reduce((p, q) => p + q, 0);
  if (sum !== x[a] || sizes.some((s) => s < 0)) {
    throw new ShapeError('split', `sizes ${fmt(sizes)} do not add up to dim ${axis} of ${fmt(x)}`);
  }
  return a;
}

/** Resolves -1 sizes and checks bounds; returns concrete sizes. */
export function sliceSizes(x: readonly number[], begin: readonly number[], size: readonly number[]): number[] {
  if (begin.length !== x.length || size.length !== x.length) {
    throw new ShapeError('slice', `begin ${fmt(begin)} / size ${fmt(size)} must have rank ${x.length} (${fmt(x)})`);
  }
  return x.map((d, i) => {
    const b = begin[i]!;
    const s = size[i] === -1 ? d - b : size[i]!;
    if (b < 0 || s < 0 || b + s > d) {
      throw new ShapeError('slice', `begin ${fmt(begin)} size ${fmt(size)} out of bounds for ${fmt(x)}`);
    }
    return s;
  });
}

export function checkNorm(op: string, channels: number, weight?: readonly number[], bias?: readonly number[]): void {
  for (const [name, s] of [
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (s && (s.length !== 1 || s[0] !== channels)) {
      throw new ShapeError(op, `${name} ${fmt(s)} does not match ${channels} channels`);
    }
  }
}

export function checkAttention(q: readonly number[], k: readonly number[], v: readonly number[], mask?: readonly number[], causal?: boolean): number[] {
  if (q.length !== 4 || k.length !== 4 || v.length !== 4) {
    throw new ShapeError('attention', `q, k, v must be [B, H, T, D], got ${fmt(q)}, ${fmt(k)}, ${fmt(v)}`);
  }
  if (q[0] !== k[0] || q[1] !== k[1] || q[3] !== k[3] || k[0] !== v[0] || k[1] !== v[1] || k[2] !== v[2]) {
    throw new ShapeError('attention', `q ${fmt(q)}, k ${fmt(k)}, v ${fmt(v)} do not agree`);
  }
  if (causal && q[2] !== k[2]) throw new ShapeError('attention', `causal needs Tq == Tk, got q ${fmt(q)} k ${fmt(k)}`);
  if (mask && (mask.length !== 2 || mask[0] !== k[0] || mask[1] !== k[2])) {
    throw new ShapeError('attention', `keyPaddingMask ${fmt(mask)} must be [B, Tk] = [${k[0]}, ${k[2]}]`);
  }
  return [q[0]!, q[1]!, q[2]!, v[3]!];
}

/** Multi-head attention on head-packed [B, T, H·D] tensors: q [B, Tq, H·Dk], k [B, Tk, H·Dk], v [B, Tk, H·Dv]. */
export function checkMultiHeadAttention(q: readonly number[], k: readonly number[], v: readonly number[], heads: number): number[] {
  if (q.length !== 3 || k.length !== 3 || v.length !== 3) {
    throw new ShapeError('multiHeadAttention', `q, k, v must be [B, T, H·D], got ${fmt(q)}, ${fmt(k)}, ${fmt(v)}`);
  }
  if (!Number.isInteger(heads) || heads < 1 || q[2]! % heads !== 0 || v[2]! % heads !== 0) {
    throw new ShapeError('multiHeadAttention', `${heads} heads do not divide the channels of q ${fmt(q)} and v ${fmt(v)}`);
  }
  if (q[0] !== k[0] || q[2] !== k[2] || k[0] !== v[0] || k[1] !== v[1]) {
    throw new ShapeError('multiHeadAttention', `q ${fmt(q)}, k ${fmt(k)}, v ${fmt(v)} do not agree`);
  }
  return [q[0]!, q[1]!, v[2]!];
}

/** A large negative added to masked scores: finite, so a fully masked row gives a uniform row, not NaN. */
export const MASK_NEG = -1e9;
