// AlignerNet (KOSMOS-G `unilm/models/aligner.py`, spec §1.5). Keys are relative to `aligner.`.
//   M (used at inference): encoder_proj (torchscale Encoder over Linear(2048→768)(MLLM states) + learned
//   positions from 2, pad rows zeroed, key-padding mask) → encoder (non-causal Decoder whose input is the 77
//   encoder_query rows, cross-attending to encoder_proj with the padding mask) → [B, 77, 768].
//   N (stage-2 reconstruction): decoder (the first T decoder_query rows cross-attending to M's output, no mask)
//   → decoder_proj (Encoder with learned positions, then output_projection 768→2048) → [B, T, 2048].

import { Embedding, LayerNorm, Linear, normalParam } from '../nn/layers.ts';
import { Module, ModuleList, type Parameter } from '../nn/module.ts';
import { hostTensor, type HostTensor, type Ops } from '../ops/ops.ts';
import type { Rng } from '../ops/random.ts';
import { applyMagnetoGain, DecoderLayer, EncoderLayer, magnetoGain, type BlockDims } from '../mllm/magneto.ts';
import type { AlignerConfig } from './config.ts';

/** torchscale Encoder: optional token projection, learned positions, Sub-LN layers, final LN, optional output projection. */
export class TransformerEncoder extends Module {
  embed_tokens?: Linear;
  embed_positions: Embedding;
  layers: ModuleList<EncoderLayer>;
  layer_norm: LayerNorm;
  output_projection?: Linear;
  constructor(c: AlignerConfig, rng: Rng, options: { inputDim?: number; outputDim?: number }) {
    super();
    if (options.inputDim) this.embed_tokens = new Linear(options.inputDim, c.dim, rng);
    this.embed_positions = new Embedding(c.maxPositions, c.dim, rng);
    this.layers = new ModuleList();
    for (let i = 0; i < c.layers; i++) this.layers.push(new EncoderLayer(dims(c), rng));
    this.layer_norm = new LayerNorm(c.dim, c.eps);
    if (options.outputDim) this.output_projection = new Linear(c.dim, options.outputDim, rng);
  }
  /** x [B, T, in]; positionIds int32 [B, T]; padMask float [B, T] (1 = pad) or undefined. */
  forward<T>(ops: Ops<T>, x: T, positionIds: T, padMask?: T): T {
    if (this.embed_tokens) x = this.embed_tokens.forward(ops, x);
    x = ops.add(x, this.embed_positions.forward(ops, positionIds));
    if (padMask !== undefined) {
      const [b, t] = ops.shape(padMask);
      x = ops.mul(x, ops.add(ops.neg(ops.reshape(padMask, [b!, t!, 1])), 1));
    }
    for (const layer of this.layers) x = layer.forward(ops, x, { keyPaddingMask: padMask });
    x = this.layer_norm.forward(ops, x);
    return this.output_projection ? this.output_projection.forward(ops, x) : x;
  }
}

/** torchscale Decoder (encoder-decoder, causal_mask=False, no embeddings): query rows in, cross-attention. */
export class TransformerDecoder extends Module {
  layers: ModuleList<DecoderLayer>;
  layer_norm: LayerNorm;
  constructor(c: AlignerConfig, rng: Rng) {
    super();
    this.layers = new ModuleList();
    for (let i = 0; i < c.layers; i++) this.layers.push(new DecoderLayer(dims(c), rng, true));
    this.layer_norm = new LayerNorm(c.dim, c.eps);
  }
  forward<T>(ops: Ops<T>, queries: T, encoderOut: T, encoderPaddingMask?: T): T {
    let x = queries;
    for (const layer of this.layers) x = layer.forward(ops, x, {}, encoderOut, encoderPaddingMask);
    return this.layer_norm.forward(ops, x);
  }
}

export class AlignerNet extends Module {
  encoder_proj: TransformerEncoder;
  encoder_query: Parameter;
  encoder: TransformerDecoder;
  decoder_query?: Parameter;
  decoder?: TransformerDecoder;
  decoder_proj?: TransformerEncoder;

  /** `reconstruction` builds N too (stage 2); without it this is `Aligner_encoder` (M only). */
  constructor(
    readonly config: AlignerConfig,
    rng: Rng,
    options: { reconstruction?: boolean } = {},
  ) {
    super();
    const c = config;
    this.encoder_proj = new TransformerEncoder(c, rng, { inputDim: c.mllmDim });
    this.encoder_query = normalParam([c.queries, c.dim], 1, rng);
    this.encoder = new TransformerDecoder(c, rng);
    applyMagnetoGain(this.encoder_proj, magnetoGain.encDecEncoder(c.layers, c.layers));
    applyMagnetoGain(this.encoder, magnetoGain.encDecDecoder(c.layers));
    if (options.reconstruction) {
      this.decoder_query = normalParam([c.maxPositions, c.dim], 1, rng);
      this.decoder = new TransformerDecoder(c, rng);
      this.decoder_proj = new TransformerEncoder(c, rng, { outputDim: c.mllmDim });
      applyMagnetoGain(this.decoder, magnetoGain.encDecDecoder(c.layers));
      applyMagnetoGain(this.decoder_proj, magnetoGain.encoderOnly(c.layers));
    }
  }

  get hasReconstruction(): boolean {
    return this.decoder !== undefined;
  }

  /** M: states [B, T, mllmDim], positionIds int32 [B, T] (2…T+1), padMask float [B, T] → [B, queries, dim]. */
  encode<T>(ops: Ops<T>, states: T, positionIds: T, padMask: T): T {
    const b = ops.shape(states)[0]!;
    const enc = this.encoder_proj.forward(ops, states, positionIds, padMask);
    const queries = repeatBatch(ops, ops.param(this.encoder_query), b);
    return this.encoder.forward(ops, queries, enc, padMask);
  }

  /** N: condition [B, queries, dim] and positionIds int32 [B, T] → reconstructed states [B, T, mllmDim]. */
  reconstruct<T>(ops: Ops<T>, condition: T, positionIds: T): T {
    if (!this.decoder || !this.decoder_proj || !this.decoder_query) {
      throw new Error('AlignerNet.reconstruct: this AlignerNet has no N (built without reconstruction)');
    }
    const [b, t] = ops.shape(positionIds);
    const rows = ops.slice(ops.param(this.decoder_query), [0, 0], [t!, this.config.dim]);
    const x = this.decoder.forward(ops, repeatBatch(ops, rows, b!), condition);
    return this.decoder_proj.forward(ops, x, positionIds);
  }
}

function dims(c: AlignerConfig): BlockDims {
  return { dim: c.dim, heads: c.heads, ffnDim: c.ffnDim, eps: c.eps };
}

/** [L, D] → [B, L, D] (`unsqueeze(0).expand(B, …)`). */
function repeatBatch<T>(ops: Ops<T>, rows: T, batch: number): T {
  const [l, d] = ops.shape(rows);
  const one = ops.reshape(rows, [1, l!, d!]);
  return batch === 1 ? one : ops.concat(Array.from({ length: batch }, () => one), 0);
}

/** Learned positions start at 2 whatever the padding (torchscale PositionalEmbedding): int32 [B, T]. */
export function alignerPositionIds(batch: number, length: number): HostTensor {
  const ids = new Int32Array(batch * length);
  for (let b = 0; b < batch; b++) for (let t = 0; t < length; t++) ids[b * length + t] = t + 2;
  return hostTensor(ids, [batch, length]);
}

/** Key-padding mask from the MLLM's tokens: float [B, T], 1 where token == pad. */
export function alignerPadMask(tokens: Int32Array, batch: number, length: number, padIdx: number): HostTensor {
  const m = new Float32Array(batch * length);
  for (let i = 0; i < m.length; i++) m[i] = tokens[i] === padIdx ? 1 : 0;
  return hostTensor(m, [batch, length]);
}
