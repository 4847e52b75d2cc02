// Timestep embedding (diffusers `embeddings.py`, spec §3.3): sinusoidal features of the timestep, with
// freq_i = exp(−ln(10000)·i/(half − shift)), emitted as [cos, sin] when flip_sin_to_cos, then an MLP
// linear_1 → SiLU → linear_2.

import { Linear } from '../nn/layers.ts';
import { Module } from '../nn/module.ts';
import type { Rng } from '../ops/random.ts';
import type { Ops } from '../ops/ops.ts';

/** Sinusoidal features of `timesteps` [B] (float) → [B, dim]. The frequencies are host constants. */
export function timestepFeatures<T>(ops: Ops<T>, timesteps: T, dim: number, flipSinToCos: boolean, freqShift: number): T {
  const half = Math.floor(dim / 2);
  const freqs = new Float32Array(half);
  for (let i = 0; i < half; i++) freqs[i] = Math.exp((-Math.log(10000) * i) / (half - freqShift));
  const [b] = ops.shape(timesteps);
  const args = ops.mul(ops.reshape(ops.toFloat(timesteps), [b, 1]), ops.tensor(freqs, [1, half]));
  const sin = ops.sin(args);
  const cos = ops.cos(args);
  return ops.concat(flipSinToCos ? [cos, sin] : [sin, cos], 1);
}

export class TimestepEmbedding extends Module {
  linear_1: Linear;
  linear_2: Linear;
  constructor(inChannels: number, embedDim: number, rng: Rng) {
    super();
    this.linear_1 = new Linear(inChannels, embedDim, rng);
    this.linear_2 = new Linear(embedDim, embedDim, rng);
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return this.linear_2.forward(ops, ops.silu(this.linear_1.forward(ops, x)));
  }
}
