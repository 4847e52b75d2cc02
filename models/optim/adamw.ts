// AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization"): Adam on the gradient, with the weight
// decay applied directly to the weights (p ← p − lr·λ·p) rather than added to the gradient. It works on the host
// copy of each Parameter, so it serves every backend: after a step the parameter's version is bumped and the
// backend re-uploads it on next use. Frozen parameters (trainable = false) and parameters without a gradient are
// skipped and keep no state.

import type { Parameter } from '../nn/module.ts';

export interface AdamWOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export interface AdamWState {
  step: number;
  /** Moments by parameter key. */
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
}

export class AdamW {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  step = 0;
  private readonly m = new Map<Parameter, Float32Array>();
  private readonly v = new Map<Parameter, Float32Array>();

  constructor(
    readonly params: readonly Parameter[],
    options: AdamWOptions = {},
  ) {
    this.lr = options.lr ?? 1e-3;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.01;
  }

  /** One update from host gradients; `lr` overrides the current learning rate (for schedules). */
  update(grads: ReadonlyMap<Parameter, Float32Array>, lr = this.lr): void {
    this.step++;
    const c1 = 1 - this.beta1 ** this.step;
    const c2 = 1 - this.beta2 ** this.step;
    const { beta1: b1, beta2: b2, eps } = this;
    const decay = 1 - lr * this.weightDecay;
    for (const p of this.params) {
      const g = grads.get(p);
      if (!p.trainable || !g) continue;
      if (g.length !== p.size) throw new Error(`AdamW: gradient of ${p.key} has ${g.length} values, parameter has ${p.size}`);
      let m = this.m.get(p);
      let v = this.v.get(p);
      if (!m || !v) {
        m = new Float32Array(p.size);
        v = new Float32Array(p.size);
        this.m.set(p, m);
        this.v.set(p, v);
      }
      const w = p.data;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i]!;
        const mi = (m[i] = b1 * m[i]! + (1 - b1) * gi);
        const vi = (v[i] = b2 * v[i]! + (1 - b2) * gi * gi);
        w[i] = w[i]! * decay - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
      }
      p.set(w);
    }
  }

  /** Optimiser state for a checkpoint (moments keyed by parameter key). */
  state(): AdamWState {
    const m: Record<string, Float32Array> = {};
    const v: Record<string, Float32Array> = {};
    for (const [p, a] of this.m) m[p.key] = a;
    for (const [p, a] of this.v) v[p.key] = a;
    return { step: this.step, m, v };
  }

  loadState(state: AdamWState): void {
    this.step = state.step;
    this.m.clear();
    this.v.clear();
    for (const p of this.params) {
      const m = state.m[p.key];
      const v = state.v[p.key];
      if (m && v) {
        if (m.length !== p.size || v.length !== p.size) {
          throw Object.assign(new Error(`AdamW: saved moments of ${p.key} have ${m.length} values, parameter has ${p.size}`), {
            code: 'OPTIMIZER_STATE_MISMATCH',
          });
        }
        this.m.set(p, Float32Array.from(m));
        this.v.set(p, Float32Array.from(v));
      }
    }
  }
}
