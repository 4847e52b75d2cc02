// Gradient bookkeeping on the host: accumulation over micro-batches and clipping by global norm.
import type { Parameter } from '../nn/module.ts';

/** acc += g for every parameter (acc gains the entries it lacks). */
export function accumulateGrads(acc: Map<Parameter, Float32Array>, grads: Map<Parameter, Float32Array>): void {
  for (const [p, g] of grads) {
    const a = acc.get(p);
    if (!a) acc.set(p, Float32Array.from(g));
    else for (let i = 0; i < a.length; i++) a[i]! += g[i]!;
  }
}

export function scaleGrads(grads: Map<Parameter, Float32Array>, factor: number): void {
  if (factor === 1) return;
  for (const g of grads.values()) for (let i = 0; i < g.length; i++) g[i]! *= factor;
}

/** ‖g‖₂ over all parameters together. */
export function globalNorm(grads: Map<Parameter, Float32Array>): number {
  let sq = 0;
  for (const g of grads.values()) for (let i = 0; i < g.length; i++) sq += g[i]! * g[i]!;
  return Math.sqrt(sq);
}

/**
 * Clip by global norm (torch.nn.utils.clip_grad_norm_): when ‖g‖ > maxNorm, scale every gradient by
 * maxNorm / (‖g‖ + 1e-6). maxNorm ≤ 0 disables clipping. Returns the norm before clipping.
 */
export function clipGradNorm(grads: Map<Parameter, Float32Array>, maxNorm: number): number {
  const norm = globalNorm(grads);
  if (maxNorm > 0 && norm > maxNorm) scaleGrads(grads, maxNorm / (norm + 1e-6));
  return norm;
}
