// The benchmark's workloads: a U-Net-like block (ResNet block + spatial transformer with self-attention,
// cross-attention to a 77×768 context and a GEGLU feed-forward, as in SD 1.5's first level) and a pre-norm causal
// transformer block (as in the MLLM). Written once against Ops, like every component.

import { Module } from '../../models/nn/module.ts';
import { Conv2d, GroupNorm, LayerNorm, Linear } from '../../models/nn/layers.ts';
import type { Rng } from '../../models/ops/random.ts';
import type { Ops } from '../../models/ops/ops.ts';

function heads<T>(o: Ops<T>, x: T, h: number): T {
  const [b, t, d] = o.shape(x) as [number, number, number];
  return o.transpose(o.reshape(x, [b, t, h, d / h]), [0, 2, 1, 3]);
}
function merge<T>(o: Ops<T>, x: T): T {
  const [b, h, t, d] = o.shape(x) as [number, number, number, number];
  return o.reshape(o.transpose(x, [0, 2, 1, 3]), [b, t, h * d]);
}

class Attention extends Module {
  to_q: Linear;
  to_k: Linear;
  to_v: Linear;
  to_out: Linear;
  constructor(
    dim: number,
    contextDim: number,
    readonly nHeads: number,
    rng: Rng,
  ) {
    super();
    this.to_q = new Linear(dim, dim, rng, false);
    this.to_k = new Linear(contextDim, dim, rng, false);
    this.to_v = new Linear(contextDim, dim, rng, false);
    this.to_out = new Linear(dim, dim, rng);
  }
  forward<T>(o: Ops<T>, x: T, context: T, causal = false): T {
    const q = heads(o, this.to_q.forward(o, x), this.nHeads);
    const k = heads(o, this.to_k.forward(o, context), this.nHeads);
    const v = heads(o, this.to_v.forward(o, context), this.nHeads);
    return this.to_out.forward(o, merge(o, o.attention(q, k, v, { causal })));
  }
}

export class UNetLikeBlock extends Module {
  norm1: GroupNorm;
  conv1: Conv2d;
  norm2: GroupNorm;
  conv2: Conv2d;
  norm: GroupNorm;
  proj_in: Linear;
  norm_attn1: LayerNorm;
  attn1: Attention;
  norm_attn2: LayerNorm;
  attn2: Attention;
  norm_ff: LayerNorm;
  ff_proj: Linear;
  ff_out: Linear;
  proj_out: Linear;
  constructor(
    readonly channels: number,
    readonly contextDim: number,
    rng: Rng,
  ) {
    super();
    const c = channels;
    this.norm1 = new GroupNorm(32, c);
    this.conv1 = new Conv2d(c, c, 3, rng, { padding: 1 });
    this.norm2 = new GroupNorm(32, c);
    this.conv2 = new Conv2d(c, c, 3, rng, { padding: 1 });
    this.norm = new GroupNorm(32, c, 1e-6);
    this.proj_in = new Linear(c, c, rng);
    this.norm_attn1 = new LayerNorm(c);
    this.attn1 = new Attention(c, c, 8, rng);
    this.norm_attn2 = new LayerNorm(c);
    this.attn2 = new Attention(c, contextDim, 8, rng);
    this.norm_ff = new LayerNorm(c);
    this.ff_proj = new Linear(c, 8 * c, rng);
    this.ff_out = new Linear(4 * c, c, rng);
    this.proj_out = new Linear(c, c, rng);
  }
  forward<T>(o: Ops<T>, x: T, context: T): T {
    const [b, c, h, w] = o.shape(x) as [number, number, number, number];
    // ResNet block
    let r = this.conv1.forward(o, o.silu(this.norm1.forward(o, x)));
    r = this.conv2.forward(o, o.silu(this.norm2.forward(o, r)));
    const hx = o.add(x, r);
    // spatial transformer
    let t = o.reshape(o.transpose(this.norm.forward(o, hx), [0, 2, 3, 1]), [b, h * w, c]);
    t = this.proj_in.forward(o, t);
    const n1 = this.norm_attn1.forward(o, t);
    t = o.add(t, this.attn1.forward(o, n1, n1));
    t = o.add(t, this.attn2.forward(o, this.norm_attn2.forward(o, t), context));
    const [val, gate] = o.split(this.ff_proj.forward(o, this.norm_ff.forward(o, t)), [4 * c, 4 * c], -1) as [T, T];
    t = o.add(t, this.ff_out.forward(o, o.mul(val, o.gelu(gate))));
    t = this.proj_out.forward(o, t);
    return o.add(hx, o.transpose(o.reshape(t, [b, h, w, c]), [0, 3, 1, 2]));
  }
}

export class DecoderBlock extends Module {
  self_attn_layer_norm: LayerNorm;
  self_attn: Attention;
  final_layer_norm: LayerNorm;
  fc1: Linear;
  fc2: Linear;
  constructor(
    readonly dim: number,
    nHeads: number,
    rng: Rng,
  ) {
    super();
    this.self_attn_layer_norm = new LayerNorm(dim);
    this.self_attn = new Attention(dim, dim, nHeads, rng);
    this.final_layer_norm = new LayerNorm(dim);
    this.fc1 = new Linear(dim, 4 * dim, rng);
    this.fc2 = new Linear(4 * dim, dim, rng);
  }
  forward<T>(o: Ops<T>, x: T): T {
    const n = this.self_attn_layer_norm.forward(o, x);
    const h = o.add(x, this.self_attn.forward(o, n, n, true));
    return o.add(h, this.fc2.forward(o, o.gelu(this.fc1.forward(o, this.final_layer_norm.forward(o, h)))));
  }
}
