// The SD 1.5 CLIP text encoder, with transformers' key names (`text_model.embeddings.token_embedding.weight`, …,
// `text_model.final_layer_norm.*`; spec §3.1, §4.1): token + position embeddings (positions 0…T-1), pre-LN
// layers (causal self-attention, quick-GELU MLP), final LayerNorm. Output: last_hidden_state [B, T, D].

import { Embedding, LayerNorm, Linear } from '../nn/layers.ts';
import { Module, ModuleList } from '../nn/module.ts';
import type { Ops } from '../ops/ops.ts';
import type { Rng } from '../ops/random.ts';
import { MultiheadAttention } from '../mllm/magneto.ts';
import type { CLIPActivation, CLIPTextConfig } from './text-config.ts';

class CLIPTextEmbeddings extends Module {
  token_embedding: Embedding;
  position_embedding: Embedding;
  constructor(c: CLIPTextConfig, rng: Rng) {
    super();
    // transformers' CLIP init: N(0, 0.02) tokens, N(0, 0.01) positions.
    this.token_embedding = new Embedding(c.vocabSize, c.hiddenSize, rng, 0.02);
    this.position_embedding = new Embedding(c.maxPositions, c.hiddenSize, rng, 0.01);
  }
}

class CLIPMLP extends Module {
  fc1: Linear;
  fc2: Linear;
  private readonly _act: CLIPActivation;
  constructor(c: CLIPTextConfig, rng: Rng) {
    super();
    this.fc1 = new Linear(c.hiddenSize, c.intermediateSize, rng);
    this.fc2 = new Linear(c.intermediateSize, c.hiddenSize, rng);
    this._act = c.hiddenAct ?? 'quick_gelu';
  }
  forward<T>(ops: Ops<T>, x: T): T {
    const h = this.fc1.forward(ops, x);
    const a = this._act === 'quick_gelu' ? ops.quickGelu(h) : ops.gelu(h, this._act === 'gelu' ? 'none' : 'tanh');
    return this.fc2.forward(ops, a);
  }
}

class CLIPEncoderLayer extends Module {
  self_attn: MultiheadAttention;
  layer_norm1: LayerNorm;
  mlp: CLIPMLP;
  layer_norm2: LayerNorm;
  constructor(c: CLIPTextConfig, rng: Rng) {
    super();
    this.self_attn = new MultiheadAttention(c.hiddenSize, c.heads, rng);
    this.layer_norm1 = new LayerNorm(c.hiddenSize, c.eps);
    this.mlp = new CLIPMLP(c, rng);
    this.layer_norm2 = new LayerNorm(c.hiddenSize, c.eps);
  }
  forward<T>(ops: Ops<T>, x: T): T {
    const h = this.layer_norm1.forward(ops, x);
    x = ops.add(x, this.self_attn.forward(ops, h, h, { causal: true }));
    return ops.add(x, this.mlp.forward(ops, this.layer_norm2.forward(ops, x)));
  }
}

class CLIPEncoder extends Module {
  layers: ModuleList<CLIPEncoderLayer>;
  constructor(c: CLIPTextConfig, rng: Rng) {
    super();
    this.layers = new ModuleList();
    for (let i = 0; i < c.layers; i++) this.layers.push(new CLIPEncoderLayer(c, rng));
  }
}

class CLIPTextTransformer extends Module {
  embeddings: CLIPTextEmbeddings;
  encoder: CLIPEncoder;
  final_layer_norm: LayerNorm;
  constructor(c: CLIPTextConfig, rng: Rng) {
    super();
    this.embeddings = new CLIPTextEmbeddings(c, rng);
    this.encoder = new CLIPEncoder(c, rng);
    this.final_layer_norm = new LayerNorm(c.hiddenSize, c.eps);
  }
}

export class CLIPTextModel extends Module {
  text_model: CLIPTextTransformer;
  constructor(
    readonly config: CLIPTextConfig,
    rng: Rng,
  ) {
    super();
    this.text_model = new CLIPTextTransformer(config, rng);
  }

  /** Buffers older checkpoints carry that are not parameters (spec §3.1). */
  static ignoredKey(key: string): boolean {
    return key.endsWith('embeddings.position_ids');
  }

  /** ids int32 [B, T] (T ≤ maxPositions) → last_hidden_state [B, T, D]. */
  forward<T>(ops: Ops<T>, ids: T): T {
    const m = this.text_model;
    const t = ops.shape(ids)[1]!;
    if (t > this.config.maxPositions) throw new Error(`CLIPTextModel: ${t} tokens exceed ${this.config.maxPositions} positions`);
    const positions = ops.slice(ops.param(m.embeddings.position_embedding.weight), [0, 0], [t, this.config.hiddenSize]);
    let x = ops.add(m.embeddings.token_embedding.forward(ops, ids), positions);
    for (const layer of m.encoder.layers) x = layer.forward(ops, x);
    return m.final_layer_norm.forward(ops, x);
  }
}
