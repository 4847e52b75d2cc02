// KOSMOS-G's CLIP vision tower (`VisualTransformer4Seq2Seq` in `ClipVisualOnly`, spec §1.3, §1.11). Keys are
// relative to `img_model.` (`visual.conv1.weight`, `visual.transformer.resblocks.0.ts_attn.q_proj.weight`, …).
// conv1 (no bias) → class token + patches → + positional_embedding → ln_pre → pre-LN blocks (torchscale
// attention `ts_attn`, quick-GELU MLP c_fc/c_proj) → ln_post on ALL tokens, no projection → L2-normalised per token.

import { Conv2d, LayerNorm, Linear, normalParam } from '../nn/layers.ts';
import { Module, ModuleList, type Parameter } from '../nn/module.ts';
import type { Ops } from '../ops/ops.ts';
import type { Rng } from '../ops/random.ts';
import { MultiheadAttention } from '../mllm/magneto.ts';
import { visionTokens, type CLIPVisionConfig } from './vision-config.ts';

class VisionMLP extends Module {
  c_fc: Linear;
  c_proj: Linear;
  constructor(c: CLIPVisionConfig, rng: Rng) {
    super();
    this.c_fc = new Linear(c.width, c.mlpDim, rng);
    this.c_proj = new Linear(c.mlpDim, c.width, rng);
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return this.c_proj.forward(ops, ops.quickGelu(this.c_fc.forward(ops, x)));
  }
}

class ResidualAttentionBlock extends Module {
  ln_1: LayerNorm;
  ts_attn: MultiheadAttention;
  ln_2: LayerNorm;
  mlp: VisionMLP;
  constructor(c: CLIPVisionConfig, rng: Rng) {
    super();
    this.ln_1 = new LayerNorm(c.width, c.eps);
    this.ts_attn = new MultiheadAttention(c.width, c.heads, rng);
    this.ln_2 = new LayerNorm(c.width, c.eps);
    this.mlp = new VisionMLP(c, rng);
  }
  forward<T>(ops: Ops<T>, x: T): T {
    const h = this.ln_1.forward(ops, x);
    x = ops.add(x, this.ts_attn.forward(ops, h, h));
    return ops.add(x, this.mlp.forward(ops, this.ln_2.forward(ops, x)));
  }
}

class VisionTransformerStack extends Module {
  resblocks: ModuleList<ResidualAttentionBlock>;
  constructor(c: CLIPVisionConfig, rng: Rng) {
    super();
    this.resblocks = new ModuleList();
    for (let i = 0; i < c.layers; i++) this.resblocks.push(new ResidualAttentionBlock(c, rng));
  }
}

class VisualTransformer extends Module {
  conv1: Conv2d;
  class_embedding: Parameter;
  positional_embedding: Parameter;
  ln_pre: LayerNorm;
  transformer: VisionTransformerStack;
  ln_post: LayerNorm;
  constructor(c: CLIPVisionConfig, rng: Rng) {
    super();
    this.conv1 = new Conv2d(3, c.width, c.patchSize, rng, { stride: c.patchSize, bias: false });
    const scale = c.width ** -0.5;
    this.class_embedding = normalParam([c.width], scale, rng);
    this.positional_embedding = normalParam([visionTokens(c), c.width], scale, rng);
    this.ln_pre = new LayerNorm(c.width, c.eps);
    this.transformer = new VisionTransformerStack(c, rng);
    this.ln_post = new LayerNorm(c.width, c.eps);
  }
}

export class CLIPVision extends Module {
  visual: VisualTransformer;
  constructor(
    readonly config: CLIPVisionConfig,
    rng: Rng,
  ) {
    super();
    this.visual = new VisualTransformer(config, rng);
  }

  /**
   * pixels: preprocessed float [B, 3, S, S] (see `preprocessForCLIP`) → L2-normalised features of every token
   * [B, grid²+1, width] (batch-first; the reference is [T, B, C]).
   */
  forward<T>(ops: Ops<T>, pixels: T): T {
    const v = this.visual;
    const w = this.config.width;
    const [b, , hh, ww] = ops.shape(pixels);
    const s = this.config.imageSize;
    if (hh !== s || ww !== s) throw new Error(`CLIPVision: expected ${s}×${s} pixels, got ${hh}×${ww}`);
    let x = v.conv1.forward(ops, pixels);
    const grid = ops.shape(x)[2]! * ops.shape(x)[3]!;
    x = ops.transpose(ops.reshape(x, [b!, w, grid]), [0, 2, 1]);
    const cls = ops.reshape(ops.param(v.class_embedding), [1, 1, w]);
    const clsRows = b === 1 ? cls : ops.concat(Array.from({ length: b! }, () => cls), 0);
    x = ops.concat([clsRows, x], 1);
    x = ops.add(x, ops.param(v.positional_embedding));
    x = v.ln_pre.forward(ops, x);
    for (const block of v.transformer.resblocks) x = block.forward(ops, x);
    x = v.ln_post.forward(ops, x);
    // F.normalize(dim=-1): x / max(‖x‖, 1e-12).
    const norm = ops.clamp(ops.sqrt(ops.sum(ops.square(x), -1, true)), 1e-12);
    return ops.div(x, norm);
  }
}
