// Timestep embedding (diffusers `embeddings.py`, spec §3.3): sinusoidal features of the timestep, with
// freq_i = exp(−ln(10000)·i/(half − shift)), emitted as [cos, sin] when flip_sin_to_cos, then an MLP
// linear_1 → SiLU → linear_2. Also the pooled-condition embedding some U-Nets add to it (`addition_embed_type: "text"`).

import { LayerNorm, Linear, normalParam } from '../nn/layers.ts';
import { Module, type Parameter } from '../nn/module.ts';
import { additionEmbedHeads, type UNetConfig } from './config.ts';
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

/**
 * diffusers `AttentionPooling`: one query — the mean of the sequence plus a learnt `positional_embedding` — attends
 * over [that query; the sequence] with multi-head attention (q/k/v with bias, no output projection); the result is
 * the query's row, [B, D].
 */
export class AttentionPooling extends Module {
  positional_embedding: Parameter;
  k_proj: Linear;
  q_proj: Linear;
  v_proj: Linear;
  readonly _heads: number;
  constructor(heads: number, dim: number, rng: Rng) {
    super();
    if (dim % heads !== 0) throw Object.assign(new Error(`AttentionPooling: ${dim} channels not divisible by ${heads} heads`), { code: 'UNET_CONFIG' });
    this._heads = heads;
    this.positional_embedding = normalParam([1, dim], 1 / Math.sqrt(dim), rng);
    this.k_proj = new Linear(dim, dim, rng);
    this.q_proj = new Linear(dim, dim, rng);
    this.v_proj = new Linear(dim, dim, rng);
  }
  /** x [B, S, D] → [B, D]. */
  forward<T>(ops: Ops<T>, x: T): T {
    const [b, , d] = ops.shape(x);
    const query = ops.add(ops.mean(x, 1, true), ops.reshape(ops.param(this.positional_embedding), [1, 1, d]));
    const seq = ops.concat([query, x], 1);
    const q = this.q_proj.forward(ops, query);
    const k = this.k_proj.forward(ops, seq);
    const v = this.v_proj.forward(ops, seq);
    return ops.reshape(ops.multiHeadAttention(q, k, v, this._heads), [b, d]);
  }
}

/**
 * diffusers `TextTimeEmbedding` (`addition_embed_type: "text"`, as in DeepFloyd IF): the condition sequence pooled
 * into one vector that is added to the timestep embedding, so every ResNet block sees what the prompt asks for as a
 * whole, beside what cross-attention gives each position. norm1 → pool → proj → norm2.
 */
export class TextTimeEmbedding extends Module {
  norm1: LayerNorm;
  pool: AttentionPooling;
  proj: Linear;
  norm2: LayerNorm;
  constructor(encoderDim: number, timeEmbedDim: number, heads: number, rng: Rng) {
    super();
    this.norm1 = new LayerNorm(encoderDim);
    this.pool = new AttentionPooling(heads, encoderDim, rng);
    this.proj = new Linear(encoderDim, timeEmbedDim, rng);
    this.norm2 = new LayerNorm(timeEmbedDim);
  }
  /** context [B, S, D] → [B, timeEmbedDim]. */
  forward<T>(ops: Ops<T>, context: T): T {
    return this.norm2.forward(ops, this.proj.forward(ops, this.pool.forward(ops, this.norm1.forward(ops, context))));
  }
}

/** The pooled-condition embedding a config asks for (addition_embed_type 'text'), else none. */
export function pooledConditionEmbedding(config: UNetConfig, timeEmbedDim: number, rng: Rng): TextTimeEmbedding | undefined {
  return config.additionEmbedType === 'text' ? new TextTimeEmbedding(config.crossAttentionDim, timeEmbedDim, additionEmbedHeads(config), rng) : undefined;
}

/** The embedding every ResNet block receives: the timestep's, plus the pooled condition's where the model has one. */
export function blockEmbedding<T>(
  ops: Ops<T>,
  config: { blockOutChannels: number[]; flipSinToCos: boolean; freqShift: number },
  time: TimestepEmbedding,
  added: TextTimeEmbedding | undefined,
  timesteps: T,
  context: T,
): T {
  const t = time.forward(ops, timestepFeatures(ops, timesteps, config.blockOutChannels[0]!, config.flipSinToCos, config.freqShift));
  return added ? ops.add(t, added.forward(ops, context)) : t;
}
