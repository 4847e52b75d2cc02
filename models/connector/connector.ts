// KOSMOS-G's XConnector (`unilm/models/connector.py`, spec §1.3). Keys relative to `img_connector.`.
// Not a Perceiver stack: the 64 learned latents attend once (32 heads) over concat(dense(image tokens), latents);
// no LayerNorm, no FFN. Output: 64 rows of MLLM width per image.

import { Linear, normalParam } from '../nn/layers.ts';
import { Module, type Parameter } from '../nn/module.ts';
import type { Ops } from '../ops/ops.ts';
import type { Rng } from '../ops/random.ts';
import { MultiheadAttention } from '../mllm/magneto.ts';
import type { ConnectorConfig } from './config.ts';

export class XConnector extends Module {
  dense: Linear;
  latent_query: Parameter;
  x_attn: MultiheadAttention;
  constructor(
    readonly config: ConnectorConfig,
    rng: Rng,
  ) {
    super();
    this.dense = new Linear(config.visionDim, config.dim, rng);
    this.latent_query = normalParam([config.latentQueries, config.dim], 1, rng);
    this.x_attn = new MultiheadAttention(config.dim, config.heads, rng);
  }

  /** Image tokens [B, N, visionDim] → features [B·latents, dim], in the order the MLLM's image slots take them. */
  forward<T>(ops: Ops<T>, imageTokens: T): T {
    const b = ops.shape(imageTokens)[0]!;
    const { dim, latentQueries: l } = this.config;
    const x = this.dense.forward(ops, imageTokens);
    const one = ops.reshape(ops.param(this.latent_query), [1, l, dim]);
    const latents = b === 1 ? one : ops.concat(Array.from({ length: b }, () => one), 0);
    const kv = ops.concat([x, latents], 1);
    return ops.reshape(this.x_attn.forward(ops, latents, kv), [b * l, dim]);
  }
}
