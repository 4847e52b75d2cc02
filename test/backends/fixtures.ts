// Tiny modules that between them use every op of the interface, for the parity (tfjs vs ONNX) and gradient
// (tfjs vs finite differences) tests. Each fixture: a module, a forward function, and host inputs.

import { Module } from '../../models/nn/module.ts';
import { Conv2d, Embedding, GroupNorm, LayerNorm, Linear } from '../../models/nn/layers.ts';
import { Rng, randn } from '../../models/ops/random.ts';
import { hostTensor, type HostTensor, type Ops } from '../../models/ops/ops.ts';
import type { ForwardFn } from '../../models/runtime/runner.ts';

export interface Fixture {
  name: string;
  model: Module;
  forward: ForwardFn;
  inputs: HostTensor[];
}

/** MLP exercising the elementwise ops, activations and reductions. */
class Mlp extends Module {
  fc1: Linear;
  fc2: Linear;
  fc3: Linear;
  constructor(rng: Rng) {
    super();
    this.fc1 = new Linear(6, 16, rng);
    this.fc2 = new Linear(16, 16, rng);
    this.fc3 = new Linear(16, 5, rng, false);
  }
  forward<T>(o: Ops<T>, x: T): T[] {
    if (o.dtype(x) !== 'float32') throw new Error('Mlp: float input expected');
    // a host constant (as models use for fixed tables): a per-feature gain
    const gain = o.tensor(Float32Array.from({ length: 16 }, (_, i) => 0.5 + i / 16), [16]);
    let h = o.mul(o.gelu(this.fc1.forward(o, x)), gain);
    h = o.add(h, o.mul(o.sin(h), 0.3));
    h = o.sub(h, o.div(o.cos(h), 4));
    h = o.mul(o.tanh(h), o.sigmoid(o.neg(h)));
    h = o.add(h, o.sqrt(o.add(o.abs(h), 1)));
    h = o.add(h, o.log(o.add(o.square(h), 1)));
    h = o.add(h, o.mul(o.exp(o.clamp(h, -3, 1)), 0.1));
    h = o.add(o.relu(o.clamp(h, -1)), o.clamp(h, undefined, 0.5));
    h = o.add(o.silu(this.fc2.forward(o, h)), o.quickGelu(h));
    h = o.gelu(h, 'tanh');
    h = o.div(h, o.add(o.mean(o.square(h), -1, true), 1));
    const logits = this.fc3.forward(o, h);
    const logp = o.logSoftmax(logits, -1);
    const p = o.softmax(logits, 0);
    const stats = o.concat([o.sum(logits, 1, true), o.max(logits, [1], true), o.mean(logits, 1, true)], 1);
    return [logp, p, stats, o.sum(o.mul(o.max(logits), o.mean(logits)), undefined, false)];
  }
}

/** Conv net with group norm, stride, asymmetric padding, dilation, groups, upsampling and a skip concat. */
class ConvNet extends Module {
  conv_in: Conv2d;
  norm: GroupNorm;
  down: Conv2d;
  dilated: Conv2d;
  /** stride 2 on 8×8 with padding 1: the last padded row and column are never read (the gradient must know). */
  skip_down: Conv2d;
  conv_out: Conv2d;
  constructor(rng: Rng) {
    super();
    this.conv_in = new Conv2d(3, 8, 3, rng, { padding: 1 });
    this.norm = new GroupNorm(4, 8, 1e-6);
    this.down = new Conv2d(8, 8, 3, rng, { stride: 2, padding: [0, 1, 0, 1] });
    this.dilated = new Conv2d(8, 8, 3, rng, { padding: 2, dilation: 2, groups: 2 });
    this.skip_down = new Conv2d(8, 8, 3, rng, { stride: 2, padding: 1 });
    this.conv_out = new Conv2d(16, 4, 1, rng, { bias: false });
  }
  forward<T>(o: Ops<T>, x: T): T[] {
    const h = o.silu(this.norm.forward(o, this.conv_in.forward(o, x)));
    const d = o.add(this.dilated.forward(o, this.down.forward(o, h)), this.skip_down.forward(o, h));
    const up = o.upsampleNearest2d(d, 2);
    const y = this.conv_out.forward(o, o.concat([h, up], 1));
    return [y, o.mean(y, [2, 3])];
  }
}

function heads<T>(o: Ops<T>, x: T, h: number): T {
  const [b, t, d] = o.shape(x) as [number, number, number];
  return o.transpose(o.reshape(x, [b, t, h, d / h]), [0, 2, 1, 3]);
}
function merge<T>(o: Ops<T>, x: T): T {
  const [b, h, t, d] = o.shape(x) as [number, number, number, number];
  return o.reshape(o.transpose(x, [0, 2, 1, 3]), [b, t, h * d]);
}

class SelfAttention extends Module {
  qkv_proj: Linear;
  out_proj: Linear;
  constructor(
    dim: number,
    readonly nHeads: number,
    rng: Rng,
  ) {
    super();
    this.qkv_proj = new Linear(dim, 3 * dim, rng);
    this.out_proj = new Linear(dim, dim, rng);
  }
  forward<T>(o: Ops<T>, x: T, padding: T): T {
    const d = o.shape(x)[2]!;
    const [q, k, v] = o.split(this.qkv_proj.forward(o, x), [d, d, d], -1) as [T, T, T];
    const a = o.attention(heads(o, q, this.nHeads), heads(o, k, this.nHeads), heads(o, v, this.nHeads), {
      causal: true,
      keyPaddingMask: padding,
    });
    return this.out_proj.forward(o, merge(o, a));
  }
}

/** Decoder block: token embedding, pre-norm causal self-attention with key padding, GELU MLP, tied logits. */
class CausalBlock extends Module {
  embed_tokens: Embedding;
  self_attn: SelfAttention;
  self_attn_layer_norm: LayerNorm;
  final_layer_norm: LayerNorm;
  fc1: Linear;
  fc2: Linear;
  constructor(rng: Rng) {
    super();
    this.embed_tokens = new Embedding(11, 8, rng);
    this.self_attn = new SelfAttention(8, 2, rng);
    this.self_attn_layer_norm = new LayerNorm(8);
    this.final_layer_norm = new LayerNorm(8);
    this.fc1 = new Linear(8, 16, rng);
    this.fc2 = new Linear(16, 8, rng);
  }
  forward<T>(o: Ops<T>, ids: T, padding: T): T[] {
    let x = o.mul(this.embed_tokens.forward(o, ids), Math.sqrt(8));
    x = o.add(x, this.self_attn.forward(o, this.self_attn_layer_norm.forward(o, x), padding));
    x = o.add(x, this.fc2.forward(o, o.gelu(this.fc1.forward(o, this.final_layer_norm.forward(o, x)))));
    const logits = o.matmul(x, o.param(this.embed_tokens.weight), false, true);
    const last = o.slice(logits, [0, 3, 0], [-1, 1, -1]);
    return [logits, o.reshape(last, [-1, 11])];
  }
}

/** Cross-attention block with a GEGLU feed-forward, as in the U-Net's transformer blocks. */
class CrossAttentionBlock extends Module {
  norm: LayerNorm;
  to_q: Linear;
  to_k: Linear;
  to_v: Linear;
  to_out: Linear;
  ff_proj: Linear;
  ff_out: Linear;
  constructor(rng: Rng) {
    super();
    this.norm = new LayerNorm(8);
    this.to_q = new Linear(8, 8, rng, false);
    this.to_k = new Linear(6, 8, rng, false);
    this.to_v = new Linear(6, 8, rng, false);
    this.to_out = new Linear(8, 8, rng);
    this.ff_proj = new Linear(8, 32, rng);
    this.ff_out = new Linear(16, 8, rng);
  }
  forward<T>(o: Ops<T>, x: T, context: T, padding: T): T[] {
    const h = this.norm.forward(o, x);
    const q = heads(o, this.to_q.forward(o, h), 2);
    const k = heads(o, this.to_k.forward(o, context), 2);
    const v = heads(o, this.to_v.forward(o, context), 2);
    const a = o.attention(q, k, v, { keyPaddingMask: padding, scale: 0.3 });
    const y = o.add(x, this.to_out.forward(o, merge(o, a)));
    const [val, gate] = o.split(this.ff_proj.forward(o, y), [16, 16], 2) as [T, T];
    const scores = o.matmul(o.toFloat(o.reshape(o.sum(q, 3), [2, 2, 3, 1])), o.mean(o.reshape(o.sum(k, 3), [2, 2, 1, 5]), 1, true));
    // (a broadcast batched matmul: [2, 2, 3, 1] × [2, 1, 1, 5])
    return [o.add(y, this.ff_out.forward(o, o.mul(val, o.gelu(gate)))), scores];
  }
}

/**
 * Attention on head-packed [B, T, H·D] tensors: self-attention over 256 tokens (enough keys for the tracer's fused
 * com.microsoft MultiHeadAttention) and cross-attention to 5 keys with a padding mask and a scale (the traced
 * split → attend → merge), as the U-Net's transformer blocks use them.
 */
class PackedAttention extends Module {
  norm: LayerNorm;
  to_q: Linear;
  to_k: Linear;
  to_v: Linear;
  to_out: Linear;
  ctx_k: Linear;
  ctx_v: Linear;
  constructor(rng: Rng) {
    super();
    this.norm = new LayerNorm(8);
    this.to_q = new Linear(8, 8, rng, false);
    this.to_k = new Linear(8, 8, rng, false);
    this.to_v = new Linear(8, 8, rng, false);
    this.to_out = new Linear(8, 8, rng);
    this.ctx_k = new Linear(6, 8, rng, false);
    this.ctx_v = new Linear(6, 8, rng, false);
  }
  forward<T>(o: Ops<T>, x: T, context: T, padding: T): T[] {
    const h = this.norm.forward(o, x);
    const self = o.multiHeadAttention(this.to_q.forward(o, h), this.to_k.forward(o, h), this.to_v.forward(o, h), 2);
    const y = o.add(x, this.to_out.forward(o, self));
    const cross = o.multiHeadAttention(y, this.ctx_k.forward(o, context), this.ctx_v.forward(o, context), 4, { keyPaddingMask: padding, scale: 0.3 });
    return [y, cross];
  }
}

/**
 * The ops backward passes need, used forward: transposed convolutions (stride, asymmetric padding, output padding,
 * dilation, groups), erf, sign, broadcastTo and scatterAdd (a scatter of rows into a table).
 */
class Extras extends Module {
  up: Conv2d;
  widen: Conv2d;
  rows: Linear;
  constructor(rng: Rng) {
    super();
    // Transposed-convolution weights are [in, out/groups, kh, kw]: Conv2d(out, in) holds [in, out/groups, k, k].
    this.up = new Conv2d(4, 4, 3, rng, { groups: 2 }); // [4, 2, 3, 3], 2 groups: 4 → 4 channels
    this.widen = new Conv2d(3, 4, 3, rng); // [4, 3, 3, 3]: 4 → 3 channels
    this.rows = new Linear(6, 5, rng);
  }
  forward<T>(o: Ops<T>, x: T, ids: T): T[] {
    // [2, 4, 5, 5] → stride 2, pads [1, 0, 1, 0], output padding 1, 2 groups → [2, 4, 11, 11]
    let y = o.conv2dTranspose(x, o.param(this.up.weight), { stride: 2, padding: [1, 0, 1, 0], outputPadding: 1, groups: 2 });
    // dilation 2, padding 2 → [2, 3, 11, 11]
    y = o.conv2dTranspose(y, o.param(this.widen.weight), { padding: 2, dilation: 2 });
    y = o.add(y, o.mul(o.erf(y), 0.5));
    y = o.add(y, o.mul(y, o.mul(o.sign(o.add(o.abs(y), 1)), 0.3))); // sign of a positive value: 1.3·y, smooth
    const pooled = o.reshape(o.mean(y, [2, 3]), [2, 1, 3]);
    const rows = o.reshape(o.broadcastTo(pooled, [2, 2, 3]), [4, 3]);
    const table = this.rows.forward(o, o.concat([rows, o.mul(o.square(rows), o.fill([1, 3], 0.5))], 1)); // [4, 5]
    return [y, o.scatterAdd(table, ids, 3)]; // rows 0…3 into 3 slots, two of them shared
  }
}

const randHost = (shape: number[], seed: number): HostTensor => hostTensor(randn(shape.reduce((a, b) => a * b, 1), seed), shape);

export function fixtures(): Fixture[] {
  const mlp = new Mlp(new Rng(1));
  const conv = new ConvNet(new Rng(2));
  const block = new CausalBlock(new Rng(3));
  const cross = new CrossAttentionBlock(new Rng(4));
  const extras = new Extras(new Rng(5));
  const packed = new PackedAttention(new Rng(6));
  // Group norm's affine parameters start at 1/0; perturb them so their gradients are not trivially symmetric.
  for (const m of [conv, block, cross, packed]) {
    for (const [key, p] of m.namedParameters()) if (/norm/.test(key)) p.set(randn(p.size, key.length).map((v) => 1 + 0.2 * v));
  }
  return [
    {
      name: 'mlp',
      model: mlp,
      forward: (o, [x]) => mlp.forward(o, x!),
      inputs: [randHost([3, 6], 10)],
    },
    {
      name: 'conv-net',
      model: conv,
      forward: (o, [x]) => conv.forward(o, x!),
      inputs: [randHost([2, 3, 8, 8], 11)],
    },
    {
      name: 'causal-block',
      model: block,
      forward: (o, [ids, pad]) => block.forward(o, ids!, pad!),
      inputs: [
        hostTensor(Int32Array.from([1, 5, 7, 2, 9, 10, 0, 3, 4, 4]), [2, 5]),
        hostTensor(Float32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1, 1]), [2, 5]),
      ],
    },
    {
      name: 'cross-attention',
      model: cross,
      forward: (o, [x, ctx, pad]) => cross.forward(o, x!, ctx!, pad!),
      inputs: [
        randHost([2, 3, 8], 12),
        randHost([2, 5, 6], 13),
        hostTensor(Float32Array.from([0, 0, 0, 1, 1, 0, 0, 0, 0, 0]), [2, 5]),
      ],
    },
    {
      name: 'packed-attention',
      model: packed,
      forward: (o, [x, ctx, pad]) => packed.forward(o, x!, ctx!, pad!),
      inputs: [
        randHost([2, 256, 8], 15),
        randHost([2, 5, 6], 16),
        hostTensor(Float32Array.from([0, 0, 1, 1, 1, 0, 0, 0, 0, 1]), [2, 5]),
      ],
    },
    {
      name: 'backward-ops',
      model: extras,
      forward: (o, [x, ids]) => extras.forward(o, x!, ids!),
      inputs: [randHost([2, 4, 5, 5], 14), hostTensor(Int32Array.from([2, 0, 2, 1]), [4])],
    },
  ];
}
