// The U-Net's attention (diffusers `attention.py`, `attention_processor.py`, `transformer_2d.py`, spec §3.3):
// multi-head Attention with bias-free q/k/v, the GEGLU feed-forward, BasicTransformerBlock (self-attn, cross-attn,
// FF, each pre-LayerNorm with a residual) and Transformer2DModel (GroupNorm eps 1e-6, 1×1 proj_in/proj_out).

import { Conv2d, GroupNorm, LayerNorm, Linear } from '../nn/layers.ts';
import { Module, ModuleList } from '../nn/module.ts';
import type { Rng } from '../ops/random.ts';
import type { Ops } from '../ops/ops.ts';
import { Identity } from './resnet.ts';

export class Attention extends Module {
  to_q: Linear;
  to_k: Linear;
  to_v: Linear;
  to_out: ModuleList<Linear>;
  readonly _heads: number;

  /** `contextDim` null: self-attention. */
  constructor(queryDim: number, contextDim: number | null, heads: number, headDim: number, rng: Rng) {
    super();
    const inner = heads * headDim;
    this._heads = heads;
    this.to_q = new Linear(queryDim, inner, rng, false);
    this.to_k = new Linear(contextDim ?? queryDim, inner, rng, false);
    this.to_v = new Linear(contextDim ?? queryDim, inner, rng, false);
    this.to_out = ModuleList.from([new Linear(inner, queryDim, rng)]) as ModuleList<Linear>;
  }

  /** x [B, T, C]; context [B, S, Cc] (defaults to x). */
  forward<T>(ops: Ops<T>, x: T, context?: T): T {
    const ctx = context ?? x;
    const q = this.to_q.forward(ops, x);
    const k = this.to_k.forward(ops, ctx);
    const v = this.to_v.forward(ops, ctx);
    return this.to_out[0].forward(ops, ops.multiHeadAttention(q, k, v, this._heads));
  }
}

/** GEGLU: proj to 2·inner, split into (h, gate), h·GELU(gate) with exact erf GELU. */
export class GEGLU extends Module {
  proj: Linear;
  readonly _inner: number;
  constructor(dim: number, inner: number, rng: Rng) {
    super();
    this._inner = inner;
    this.proj = new Linear(dim, inner * 2, rng);
  }
  forward<T>(ops: Ops<T>, x: T): T {
    const [h, gate] = ops.split(this.proj.forward(ops, x), [this._inner, this._inner], -1);
    return ops.mul(h, ops.gelu(gate, 'none'));
  }
}

/** `ff.net.0` GEGLU, `ff.net.1` dropout (no weights), `ff.net.2` Linear 4C → C. */
export class FeedForward extends Module {
  net: ModuleList;
  constructor(dim: number, rng: Rng, mult = 4) {
    super();
    const inner = dim * mult;
    this.net = ModuleList.from([new GEGLU(dim, inner, rng), new Identity(), new Linear(inner, dim, rng)]) as ModuleList;
  }
  forward<T>(ops: Ops<T>, x: T): T {
    const h = (this.net[0] as GEGLU).forward(ops, x);
    return (this.net[2] as Linear).forward(ops, h);
  }
}

export class BasicTransformerBlock extends Module {
  norm1: LayerNorm;
  attn1: Attention;
  norm2: LayerNorm;
  attn2: Attention;
  norm3: LayerNorm;
  ff: FeedForward;
  constructor(dim: number, heads: number, headDim: number, contextDim: number, rng: Rng) {
    super();
    this.norm1 = new LayerNorm(dim, 1e-5);
    this.attn1 = new Attention(dim, null, heads, headDim, rng);
    this.norm2 = new LayerNorm(dim, 1e-5);
    this.attn2 = new Attention(dim, contextDim, heads, headDim, rng);
    this.norm3 = new LayerNorm(dim, 1e-5);
    this.ff = new FeedForward(dim, rng);
  }
  forward<T>(ops: Ops<T>, x: T, context: T): T {
    let h = ops.add(x, this.attn1.forward(ops, this.norm1.forward(ops, x)));
    h = ops.add(h, this.attn2.forward(ops, this.norm2.forward(ops, h), context));
    return ops.add(h, this.ff.forward(ops, this.norm3.forward(ops, h)));
  }
}

export class Transformer2DModel extends Module {
  norm: GroupNorm;
  proj_in: Conv2d;
  transformer_blocks: ModuleList<BasicTransformerBlock>;
  proj_out: Conv2d;
  constructor(channels: number, heads: number, contextDim: number, groups: number, rng: Rng, depth = 1) {
    super();
    const headDim = channels / heads;
    this.norm = new GroupNorm(groups, channels, 1e-6);
    this.proj_in = new Conv2d(channels, channels, 1, rng);
    this.transformer_blocks = ModuleList.from(
      Array.from({ length: depth }, () => new BasicTransformerBlock(channels, heads, headDim, contextDim, rng)),
    ) as ModuleList<BasicTransformerBlock>;
    this.proj_out = new Conv2d(channels, channels, 1, rng);
  }
  /** x [B, C, H, W], context [B, S, D]. */
  forward<T>(ops: Ops<T>, x: T, context: T): T {
    const [b, c, hh, ww] = ops.shape(x);
    let h = this.proj_in.forward(ops, this.norm.forward(ops, x));
    h = ops.reshape(ops.transpose(h, [0, 2, 3, 1]), [b, hh * ww, c]);
    for (const block of this.transformer_blocks) h = block.forward(ops, h, context);
    h = ops.transpose(ops.reshape(h, [b, hh, ww, c]), [0, 3, 1, 2]);
    return ops.add(this.proj_out.forward(ops, h), x);
  }
}
