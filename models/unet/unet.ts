// UNet2DConditionModel (diffusers, spec §3.3): ε-prediction from a noisy latent, a timestep and the cross-attention
// condition ([B, 77, 768] for SD 1.5 — CLIP's or KOSMOS-G's AlignerNet output, spec §1.6). Optional ControlNet
// residuals (spec §5.1): one per down skip tensor, added after the whole down path, and one added after the mid
// block. Field paths are the diffusers state-dict keys.

import { Conv2d, GroupNorm } from '../nn/layers.ts';
import { Module, ModuleList } from '../nn/module.ts';
import { Rng } from '../ops/random.ts';
import type { Ops } from '../ops/ops.ts';
import { DownBlock, MidBlockCrossAttn, UpBlock, blockShape } from './blocks.ts';
import { checkUNetConfig, headsForBlock, type UNetConfig } from './config.ts';
import { blockEmbedding, pooledConditionEmbedding, TimestepEmbedding, type TextTimeEmbedding } from './embeddings.ts';

export interface ControlResiduals<T> {
  down: T[];
  mid: T;
}

export class UNet2DConditionModel extends Module {
  conv_in: Conv2d;
  time_embedding: TimestepEmbedding;
  down_blocks: ModuleList<DownBlock>;
  mid_block: MidBlockCrossAttn;
  up_blocks: ModuleList<UpBlock>;
  conv_norm_out: GroupNorm;
  conv_out: Conv2d;
  /** The pooled condition added to the timestep embedding, when the config asks for it (addition_embed_type 'text'). */
  add_embedding?: TextTimeEmbedding;
  readonly _config: UNetConfig;

  constructor(config: UNetConfig, seed = 0) {
    super();
    checkUNetConfig(config);
    this._config = config;
    const rng = new Rng(seed);
    const ch = config.blockOutChannels;
    const shape = blockShape(config);
    const { tembChannels } = shape;

    this.conv_in = new Conv2d(config.inChannels, ch[0], 3, rng, { padding: 1 });
    this.time_embedding = new TimestepEmbedding(ch[0], tembChannels, rng);

    this.down_blocks = new ModuleList<DownBlock>();
    let out = ch[0];
    config.downBlockTypes.forEach((type, i) => {
      const inC = out;
      out = ch[i];
      const heads = type === 'CrossAttnDownBlock2D' ? headsForBlock(config, i) : null;
      this.down_blocks.push(new DownBlock(inC, out, config.layersPerBlock, i < ch.length - 1, heads, shape, rng));
    });

    this.mid_block = new MidBlockCrossAttn(ch[ch.length - 1], headsForBlock(config, ch.length - 1), shape, rng);

    this.up_blocks = new ModuleList<UpBlock>();
    const reversed = [...ch].reverse();
    out = reversed[0];
    config.upBlockTypes.forEach((type, i) => {
      const prevOut = out;
      out = reversed[i];
      const inC = reversed[Math.min(i + 1, ch.length - 1)];
      const heads = type === 'CrossAttnUpBlock2D' ? headsForBlock(config, ch.length - 1 - i) : null;
      this.up_blocks.push(new UpBlock(inC, out, prevOut, config.layersPerBlock + 1, i < ch.length - 1, heads, shape, rng));
    });

    this.conv_norm_out = new GroupNorm(config.normNumGroups, ch[0], config.normEps);
    this.conv_out = new Conv2d(ch[0], config.outChannels, 3, rng, { padding: 1 });
    // Drawn last, so a U-Net without it initialises exactly as before.
    this.add_embedding = pooledConditionEmbedding(config, tembChannels, rng);
  }

  get config(): UNetConfig {
    return this._config;
  }

  /** How many skip tensors the down path yields (12 for SD 1.5): the number of ControlNet down residuals. */
  get skipCount(): number {
    const n = this._config.blockOutChannels.length;
    return 1 + n * this._config.layersPerBlock + (n - 1);
  }

  /** Latent height and width must be multiples of this (each downsampler halves them). */
  get sizeMultiple(): number {
    return 2 ** (this._config.blockOutChannels.length - 1);
  }

  /**
   * sample [B, C, h, w], timesteps [B] float, context [B, S, crossAttentionDim] → ε [B, C, h, w].
   */
  forward<T>(ops: Ops<T>, sample: T, timesteps: T, context: T, control?: ControlResiduals<T>): T {
    const c = this._config;
    const temb = blockEmbedding(ops, c, this.time_embedding, this.add_embedding, timesteps, context);

    let h = this.conv_in.forward(ops, sample);
    let skips: T[] = [h];
    for (const block of this.down_blocks) {
      const r = block.forward(ops, h, temb, context);
      h = r.out;
      skips.push(...r.skips);
    }
    if (control) {
      if (control.down.length !== skips.length) {
        throw new Error(`UNet: ${control.down.length} ControlNet down residuals for ${skips.length} skip tensors`);
      }
      skips = skips.map((s, i) => ops.add(s, control.down[i]));
    }

    h = this.mid_block.forward(ops, h, temb, context);
    if (control) h = ops.add(h, control.mid);

    for (const block of this.up_blocks) h = block.forward(ops, h, skips, temb, context);

    return this.conv_out.forward(ops, ops.silu(this.conv_norm_out.forward(ops, h)));
  }
}
