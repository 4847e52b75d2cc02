// The KOSMOS-G MLLM: fairseq LMDecoder on torchscale's MAGNETO decoder (spec §1.3, §1.4, §2). Keys are relative
// to `gpt_model.decoder.` (the composite loader strips that prefix). Forward, as executed:
//   embed tokens → overwrite the image slots with connector features → × √D (image features too) →
//   + fairseq sinusoidal positions (from 2, pads zero) → N Sub-LN layers, causal, no padding mask → final LN.
// The output projection is tied to embed_tokens (stage-1 LM logits).

import { Embedding, LayerNorm } from '../nn/layers.ts';
import { Module, ModuleList } from '../nn/module.ts';
import { hostTensor, type HostTensor, type Ops } from '../ops/ops.ts';
import type { Rng } from '../ops/random.ts';
import type { MLLMConfig } from './config.ts';
import { applyMagnetoGain, DecoderLayer, magnetoGain } from './magneto.ts';
import { makePositions, sinusoidFrequencies } from './sinusoid.ts';

export class MLLM extends Module {
  embed_tokens: Embedding;
  layers: ModuleList<DecoderLayer>;
  layer_norm: LayerNorm;

  constructor(
    readonly config: MLLMConfig,
    rng: Rng,
  ) {
    super();
    const c = config;
    // fairseq's Embedding init: N(0, D^-1/2).
    this.embed_tokens = new Embedding(c.vocabSize, c.embedDim, rng, c.embedDim ** -0.5);
    this.layers = new ModuleList();
    const dims = { dim: c.embedDim, heads: c.heads, ffnDim: c.ffnDim, eps: c.eps };
    for (let i = 0; i < c.layers; i++) this.layers.push(new DecoderLayer(dims, rng, false));
    this.layer_norm = new LayerNorm(c.embedDim, c.eps);
    applyMagnetoGain(this, magnetoGain.decoderOnly(c.layers));
  }

  /** Checkpoint keys this module does not hold: the tied projection and buffers (spec §1.11). */
  static ignoredKey(key: string): boolean {
    return key === 'output_projection.weight' || key.endsWith('_float_tensor') || key.startsWith('self_attn_sope.') || key.endsWith('.version') || key === 'version';
  }

  /**
   * tokens int32 [B, T]; positions float [B, T, 1] and notPad float [B, T, 1] from `mllmHostInputs`;
   * with images, features [N, D] and spliceIndex int32 [B·T] (row r of the embedded sequence takes row
   * spliceIndex[r] of concat(embedded, features)). Returns the final-LN hidden states [B, T, D].
   */
  forward<T>(ops: Ops<T>, tokens: T, positions: T, notPad: T, image?: { features: T; spliceIndex: T }): T {
    const [b, t] = ops.shape(tokens);
    const d = this.config.embedDim;
    let x = this.embed_tokens.forward(ops, tokens);
    if (image) {
      // A gather over [embedded rows; feature rows] is the splice `x[mask] = features`, differentiable in both.
      const table = ops.concat([ops.reshape(x, [b * t, d]), image.features], 0);
      x = ops.reshape(ops.embedding(table, image.spliceIndex), [b, t, d]);
    }
    x = ops.mul(x, Math.sqrt(d));
    x = ops.add(x, this.positionalEmbedding(ops, positions, notPad));
    for (const layer of this.layers) x = layer.forward(ops, x, { causal: true });
    return this.layer_norm.forward(ops, x);
  }

  /** Sinusoids computed in the graph from the positions, so no 2048-row table is stored. */
  positionalEmbedding<T>(ops: Ops<T>, positions: T, notPad: T): T {
    const freq = ops.tensor(sinusoidFrequencies(this.config.embedDim), [this.config.embedDim / 2]);
    const angle = ops.mul(positions, freq);
    return ops.mul(ops.concat([ops.sin(angle), ops.cos(angle)], -1), notPad);
  }

  /** LM logits through the projection tied to embed_tokens: [B, T, D] → [B, T, V]. */
  logits<T>(ops: Ops<T>, hidden: T): T {
    return ops.linear(hidden, ops.param(this.embed_tokens.weight));
  }
}

export interface MLLMHostInputs {
  tokens: HostTensor;
  positions: HostTensor;
  notPad: HostTensor;
  /** Present when the image mask marks any slot. */
  spliceIndex?: HostTensor;
  /** Number of image-feature rows the mask asks for. */
  imageSlots: number;
}

/** Host-side inputs for `MLLM.forward` from right-padded tokens [B, T] and the image-slot mask. */
export function mllmHostInputs(
  tokens: Int32Array,
  batch: number,
  length: number,
  padIdx: number,
  imageMask?: ArrayLike<number>,
): MLLMHostInputs {
  if (tokens.length !== batch * length) throw new Error(`mllmHostInputs: ${tokens.length} tokens do not fill [${batch}, ${length}]`);
  const pos = makePositions(tokens, batch, length, padIdx);
  const positions = new Float32Array(pos.length);
  const notPad = new Float32Array(pos.length);
  for (let i = 0; i < pos.length; i++) {
    positions[i] = pos[i]!;
    notPad[i] = pos[i] === padIdx ? 0 : 1;
  }
  const out: MLLMHostInputs = {
    tokens: hostTensor(tokens, [batch, length]),
    positions: hostTensor(positions, [batch, length, 1]),
    notPad: hostTensor(notPad, [batch, length, 1]),
    imageSlots: 0,
  };
  if (imageMask) {
    if (imageMask.length !== tokens.length) throw new Error(`mllmHostInputs: image mask has ${imageMask.length} entries, tokens ${tokens.length}`);
    const index = new Int32Array(tokens.length);
    let k = 0;
    for (let i = 0; i < tokens.length; i++) index[i] = imageMask[i] ? batch * length + k++ : i;
    out.imageSlots = k;
    if (k > 0) out.spliceIndex = hostTensor(index, [batch * length]);
  }
  return out;
}
