// Gradients of layer norm and group norm, written with Ops calls. The forward pass runs the backend's fused kernel;
// the backward pass recomputes x̂ and σ (cheap, elementwise) instead of keeping them from the forward pass, which a
// fused kernel does not expose.
import type { Ops } from '../ops/ops.ts';

interface Normalised<T> {
  xhat: T;
  sigma: T;
}

/** x̂ = (x − μ)/σ and σ = √(var + ε) over the last axis (σ kept as [..., 1]). */
function normalise<T>(o: Ops<T>, x: T, eps: number): Normalised<T> {
  const centred = o.sub(x, o.mean(x, -1, true));
  const sigma = o.sqrt(o.add(o.mean(o.square(centred), -1, true), eps));
  return { xhat: o.div(centred, sigma), sigma };
}

/** ∂L/∂x from ∂L/∂x̂ over the last axis: (ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) / σ. */
function normInputGrad<T>(o: Ops<T>, gxhat: T, n: Normalised<T>): T {
  const centred = o.sub(gxhat, o.mean(gxhat, -1, true));
  return o.div(o.sub(centred, o.mul(n.xhat, o.mean(o.mul(gxhat, n.xhat), -1, true))), n.sigma);
}

export interface NormGrads<T> {
  x?: T;
  weight?: T;
  bias?: T;
}

export interface NormNeeds {
  x: boolean;
  weight: boolean;
  bias: boolean;
}

/** Gradients of y = x̂·w + b, normalised over the last axis of x [..., D]. */
export function layerNormGrads<T>(o: Ops<T>, g: T, x: T, weight: T | undefined, eps: number, need: NormNeeds): NormGrads<T> {
  const shape = o.shape(x);
  const d = shape[shape.length - 1]!;
  const n = normalise(o, x, eps);
  const rows = (t: T) => o.reshape(t, [-1, d]);
  return {
    x: need.x ? normInputGrad(o, weight ? o.mul(g, weight) : g, n) : undefined,
    weight: need.weight ? o.sum(rows(o.mul(g, n.xhat)), 0) : undefined,
    bias: need.bias ? o.sum(rows(g), 0) : undefined,
  };
}

/** Gradients of y = x̂·w + b with x [N, C, ...] normalised over groups of C/G channels and the spatial axes. */
export function groupNormGrads<T>(o: Ops<T>, g: T, x: T, groups: number, weight: T | undefined, eps: number, need: NormNeeds): NormGrads<T> {
  const shape = o.shape(x);
  const [batch, c] = shape as [number, number];
  const grouped = (t: T) => o.reshape(t, [batch, groups, -1]);
  const n = normalise(o, grouped(x), eps);
  const affine = [c, ...Array(shape.length - 2).fill(1)];
  const perChannel = [0, ...shape.slice(2).map((_, i) => i + 2)];
  const xhat = () => o.reshape(n.xhat, shape);
  return {
    x: need.x ? o.reshape(normInputGrad(o, grouped(weight ? o.mul(g, o.reshape(weight, affine)) : g), n), shape) : undefined,
    weight: need.weight ? o.sum(o.mul(g, xhat()), perChannel) : undefined,
    bias: need.bias ? o.sum(g, perChannel) : undefined,
  };
}
