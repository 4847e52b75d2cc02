// The MAGNETO (Sub-LN) building blocks as torchscale implements them (spec §2), shared by the MLLM decoder and
// the four AlignerNet stacks: multi-head attention with an optional inner LayerNorm before out_proj, the FFN with
// its LayerNorm before fc2, and the encoder / decoder layers. Field names are torchscale's, so keys load by name.

import { LayerNorm, Linear } from '../nn/layers.ts';
import { Module, Parameter } from '../nn/module.ts';
import type { Ops } from '../ops/ops.ts';
import type { Rng } from '../ops/random.ts';

export interface AttentionCall<T> {
  causal?: boolean;
  /** [B, Tk] float, 1 where the key is padding. */
  keyPaddingMask?: T;
}

/** torchscale / fairseq MultiheadAttention: q, k, v, out projections with bias; q scaled by 1/√head_dim. */
export class MultiheadAttention extends Module {
  q_proj: Linear;
  k_proj: Linear;
  v_proj: Linear;
  out_proj: Linear;
  /** Sub-LN: LayerNorm over the attention output before out_proj (self-attention only, spec §2). */
  inner_attn_ln?: LayerNorm;

  constructor(
    readonly dim: number,
    readonly heads: number,
    rng: Rng,
    options: { subln?: boolean; kdim?: number; eps?: number } = {},
  ) {
    super();
    if (dim % heads !== 0) throw new Error(`MultiheadAttention: dim ${dim} is not divisible by ${heads} heads`);
    const kdim = options.kdim ?? dim;
    this.q_proj = new Linear(dim, dim, rng);
    this.k_proj = new Linear(kdim, dim, rng);
    this.v_proj = new Linear(kdim, dim, rng);
    this.out_proj = new Linear(dim, dim, rng);
    if (options.subln) this.inner_attn_ln = new LayerNorm(dim, options.eps ?? 1e-5);
  }

  /** query [B, Tq, D], keyValue [B, Tk, kdim] → [B, Tq, D]. */
  forward<T>(ops: Ops<T>, query: T, keyValue: T, call: AttentionCall<T> = {}): T {
    const [b, tq] = ops.shape(query);
    const tk = ops.shape(keyValue)[1];
    const h = this.heads;
    const hd = this.dim / h;
    const split = (x: T, t: number): T => ops.transpose(ops.reshape(x, [b, t, h, hd]), [0, 2, 1, 3]);
    const q = split(this.q_proj.forward(ops, query), tq);
    const k = split(this.k_proj.forward(ops, keyValue), tk);
    const v = split(this.v_proj.forward(ops, keyValue), tk);
    const attn = ops.attention(q, k, v, { causal: call.causal, keyPaddingMask: call.keyPaddingMask });
    let x = ops.reshape(ops.transpose(attn, [0, 2, 1, 3]), [b, tq, this.dim]);
    if (this.inner_attn_ln) x = this.inner_attn_ln.forward(ops, x);
    return this.out_proj.forward(ops, x);
  }
}

export type Activation = 'gelu' | 'quick_gelu';

export function activate<T>(ops: Ops<T>, x: T, act: Activation): T {
  return act === 'gelu' ? ops.gelu(x, 'none') : ops.quickGelu(x);
}

/** torchscale FeedForwardNetwork: fc1 → GELU → ffn_layernorm (Sub-LN) → fc2. */
export class FeedForwardNetwork extends Module {
  fc1: Linear;
  ffn_layernorm?: LayerNorm;
  fc2: Linear;
  constructor(dim: number, ffnDim: number, rng: Rng, options: { subln?: boolean; eps?: number; activation?: Activation } = {}) {
    super();
    this.fc1 = new Linear(dim, ffnDim, rng);
    if (options.subln ?? true) this.ffn_layernorm = new LayerNorm(ffnDim, options.eps ?? 1e-5);
    this.fc2 = new Linear(ffnDim, dim, rng);
    this._activation = options.activation ?? 'gelu';
  }
  private _activation: Activation;
  forward<T>(ops: Ops<T>, x: T): T {
    let y = activate(ops, this.fc1.forward(ops, x), this._activation);
    if (this.ffn_layernorm) y = this.ffn_layernorm.forward(ops, y);
    return this.fc2.forward(ops, y);
  }
}

export interface BlockDims {
  dim: number;
  heads: number;
  ffnDim: number;
  eps: number;
}

/** Pre-LN Sub-LN encoder layer: self-attention (with inner LN) and FFN, each with a residual. */
export class EncoderLayer extends Module {
  self_attn: MultiheadAttention;
  self_attn_layer_norm: LayerNorm;
  ffn: FeedForwardNetwork;
  final_layer_norm: LayerNorm;
  constructor(d: BlockDims, rng: Rng) {
    super();
    this.self_attn = new MultiheadAttention(d.dim, d.heads, rng, { subln: true, eps: d.eps });
    this.self_attn_layer_norm = new LayerNorm(d.dim, d.eps);
    this.ffn = new FeedForwardNetwork(d.dim, d.ffnDim, rng, { eps: d.eps });
    this.final_layer_norm = new LayerNorm(d.dim, d.eps);
  }
  forward<T>(ops: Ops<T>, x: T, call: AttentionCall<T> = {}): T {
    const h = this.self_attn_layer_norm.forward(ops, x);
    x = ops.add(x, this.self_attn.forward(ops, h, h, call));
    return ops.add(x, this.ffn.forward(ops, this.final_layer_norm.forward(ops, x)));
  }
}

/**
 * Pre-LN Sub-LN decoder layer. Decoder-only (the MLLM): self-attention + FFN. Encoder-decoder (AlignerNet's
 * `encoder` and `decoder`): plus cross-attention, which has no inner LN (spec §2).
 */
export class DecoderLayer extends Module {
  self_attn: MultiheadAttention;
  self_attn_layer_norm: LayerNorm;
  encoder_attn?: MultiheadAttention;
  encoder_attn_layer_norm?: LayerNorm;
  ffn: FeedForwardNetwork;
  final_layer_norm: LayerNorm;
  constructor(d: BlockDims, rng: Rng, crossAttention: boolean) {
    super();
    this.self_attn = new MultiheadAttention(d.dim, d.heads, rng, { subln: true, eps: d.eps });
    this.self_attn_layer_norm = new LayerNorm(d.dim, d.eps);
    if (crossAttention) {
      this.encoder_attn = new MultiheadAttention(d.dim, d.heads, rng, { subln: false });
      this.encoder_attn_layer_norm = new LayerNorm(d.dim, d.eps);
    }
    this.ffn = new FeedForwardNetwork(d.dim, d.ffnDim, rng, { eps: d.eps });
    this.final_layer_norm = new LayerNorm(d.dim, d.eps);
  }
  forward<T>(ops: Ops<T>, x: T, self: AttentionCall<T>, encoderOut?: T, encoderPaddingMask?: T): T {
    const h = this.self_attn_layer_norm.forward(ops, x);
    x = ops.add(x, this.self_attn.forward(ops, h, h, self));
    if (this.encoder_attn && this.encoder_attn_layer_norm) {
      if (encoderOut === undefined) throw new Error('DecoderLayer: cross-attention needs the encoder output');
      const c = this.encoder_attn_layer_norm.forward(ops, x);
      x = ops.add(x, this.encoder_attn.forward(ops, c, encoderOut, { keyPaddingMask: encoderPaddingMask }));
    }
    return ops.add(x, this.ffn.forward(ops, this.final_layer_norm.forward(ops, x)));
  }
}

/** MAGNETO init gains γ (spec §2), by the stack's role. */
export const magnetoGain = {
  decoderOnly: (layers: number) => Math.sqrt(Math.log(2 * layers)),
  encoderOnly: (layers: number) => Math.sqrt(Math.log(2 * layers)),
  encDecEncoder: (encLayers: number, decLayers: number) => Math.sqrt((Math.log(3 * decLayers) * Math.log(2 * encLayers)) / 3),
  encDecDecoder: (decLayers: number) => Math.sqrt(Math.log(3 * decLayers)),
};

/**
 * Multiply by γ every parameter whose key contains fc1, fc2, out_proj or v_proj, skipping cross-attention
 * (`encoder_attn`), as torchscale does after PyTorch's default init (spec §2). Lazy: the scaled initialiser
 * runs on first access, so real-size models stay unallocated.
 */
export function applyMagnetoGain(module: Module, gain: number): void {
  const pattern = /(^|\.)(fc1|fc2|out_proj|v_proj)\./;
  for (const [key, p] of module.namedParameters()) {
    if (!pattern.test(key) || key.includes('encoder_attn')) continue;
    replaceParameter(module, key, new Parameter([...p.shape], () => {
      const d = Float32Array.from(p.data);
      for (let i = 0; i < d.length; i++) d[i] *= gain;
      return d;
    }, p.trainable));
  }
}

function replaceParameter(root: Module, key: string, next: Parameter): void {
  const path = key.split('.');
  let owner: Record<string, unknown> = root as unknown as Record<string, unknown>;
  for (const seg of path.slice(0, -1)) owner = owner[seg] as Record<string, unknown>;
  owner[path[path.length - 1]!] = next;
}
