// The SD 1.5 ControlNet (diffusers `controlnet.py`, spec §1.8, §5.1): a trainable copy of the U-Net's encoder
// half (conv_in, time_embedding, down_blocks, mid_block) whose input is the latent plus an embedding of the
// control image, and whose outputs are the 12 down + 1 mid residuals, each through its own zero-initialised 1×1
// conv. The residuals are added to the U-Net's skips and mid output (UNet2DConditionModel.forward). The
// conditioning scale multiplies them here; the start/end window is the sampler's job.

import { Conv2d, constantParam } from '../nn/layers.ts';
import { Module, ModuleList } from '../nn/module.ts';
import { Rng } from '../ops/random.ts';
import type { Ops } from '../ops/ops.ts';
import { DownBlock, MidBlockCrossAttn, blockShape } from '../unet/blocks.ts';
import { checkUNetConfig, headsForBlock, type UNetConfig } from '../unet/config.ts';
import { blockEmbedding, pooledConditionEmbedding, TimestepEmbedding, type TextTimeEmbedding } from '../unet/embeddings.ts';
import type { ControlResiduals } from '../unet/unet.ts';

export interface ControlNetConfig extends UNetConfig {
  /** Channels of the control-image embedding ladder (16, 32, 96, 256 for SD 1.5). */
  conditioningEmbeddingChannels: number[];
  conditioningChannels: number;
  /** diffusers `controlnet_conditioning_channel_order`: 'bgr' models get the control image's channels reversed. */
  channelOrder?: 'rgb' | 'bgr';
  /** diffusers `global_pool_conditions` (shuffle ControlNets): every residual is averaged over its pixels. */
  globalPoolConditions?: boolean;
}

export function controlNetConfigFor(unet: UNetConfig, embedding?: number[]): ControlNetConfig {
  const n = unet.blockOutChannels.length;
  // The ladder has one stride-2 step per pair, so it downsamples by 2^(len−1); it must match the VAE factor the
  // U-Net's latents come from (×8 for SD 1.5, 4 ladder entries).
  return { ...unet, conditioningEmbeddingChannels: embedding ?? (n === 4 ? [16, 32, 96, 256] : [8, 16, 16]), conditioningChannels: 3 };
}

function zeroConv(inC: number, outC: number, kernel: number, rng: Rng, padding = 0): Conv2d {
  const conv = new Conv2d(inC, outC, kernel, rng, { padding });
  conv.weight = constantParam(conv.weight.shape, 0);
  conv.bias = constantParam([outC], 0);
  return conv;
}

export class ControlNetConditioningEmbedding extends Module {
  conv_in: Conv2d;
  blocks: ModuleList<Conv2d>;
  conv_out: Conv2d;
  constructor(imageChannels: number, channels: number[], outChannels: number, rng: Rng) {
    super();
    this.conv_in = new Conv2d(imageChannels, channels[0], 3, rng, { padding: 1 });
    this.blocks = new ModuleList<Conv2d>();
    for (let i = 0; i < channels.length - 1; i++) {
      this.blocks.push(new Conv2d(channels[i], channels[i], 3, rng, { padding: 1 }));
      this.blocks.push(new Conv2d(channels[i], channels[i + 1], 3, rng, { padding: 1, stride: 2 }));
    }
    this.conv_out = zeroConv(channels[channels.length - 1], outChannels, 3, rng, 1);
  }
  forward<T>(ops: Ops<T>, image: T): T {
    let h = ops.silu(this.conv_in.forward(ops, image));
    for (const block of this.blocks) h = ops.silu(block.forward(ops, h));
    return this.conv_out.forward(ops, h);
  }
}

export class ControlNetModel extends Module {
  conv_in: Conv2d;
  time_embedding: TimestepEmbedding;
  controlnet_cond_embedding: ControlNetConditioningEmbedding;
  down_blocks: ModuleList<DownBlock>;
  controlnet_down_blocks: ModuleList<Conv2d>;
  mid_block: MidBlockCrossAttn;
  controlnet_mid_block: Conv2d;
  /** As in the U-Net it steers (addition_embed_type 'text'). */
  add_embedding?: TextTimeEmbedding;
  readonly _config: ControlNetConfig;

  constructor(config: ControlNetConfig, seed = 0) {
    super();
    checkUNetConfig(config);
    this._config = config;
    const rng = new Rng(seed);
    const ch = config.blockOutChannels;
    const shape = blockShape(config);
    const { tembChannels } = shape;

    this.conv_in = new Conv2d(config.inChannels, ch[0], 3, rng, { padding: 1 });
    this.time_embedding = new TimestepEmbedding(ch[0], tembChannels, rng);
    this.controlnet_cond_embedding = new ControlNetConditioningEmbedding(
      config.conditioningChannels,
      config.conditioningEmbeddingChannels,
      ch[0],
      rng,
    );

    this.down_blocks = new ModuleList<DownBlock>();
    this.controlnet_down_blocks = new ModuleList<Conv2d>();
    this.controlnet_down_blocks.push(zeroConv(ch[0], ch[0], 1, rng));
    let out = ch[0];
    config.downBlockTypes.forEach((type, i) => {
      const inC = out;
      out = ch[i];
      const last = i === ch.length - 1;
      const heads = type === 'CrossAttnDownBlock2D' ? headsForBlock(config, i) : null;
      this.down_blocks.push(new DownBlock(inC, out, config.layersPerBlock, !last, heads, shape, rng));
      for (let l = 0; l < config.layersPerBlock; l++) this.controlnet_down_blocks.push(zeroConv(out, out, 1, rng));
      if (!last) this.controlnet_down_blocks.push(zeroConv(out, out, 1, rng));
    });

    const top = ch[ch.length - 1];
    this.mid_block = new MidBlockCrossAttn(top, headsForBlock(config, ch.length - 1), shape, rng);
    this.controlnet_mid_block = zeroConv(top, top, 1, rng);
    this.add_embedding = pooledConditionEmbedding(config, tembChannels, rng);
  }

  get config(): ControlNetConfig {
    return this._config;
  }

  /** The control image's side / the latent's side. */
  get imageDownscale(): number {
    return 2 ** (this._config.conditioningEmbeddingChannels.length - 1);
  }

  /**
   * sample [B, 4, h, w], timesteps [B], context [B, S, D], control image [B, 3, h·f, w·f] in [0, 1],
   * scale [1] → the residuals, already multiplied by `scale`.
   */
  forward<T>(ops: Ops<T>, sample: T, timesteps: T, context: T, image: T, scale: T): ControlResiduals<T> {
    const c = this._config;
    const temb = blockEmbedding(ops, c, this.time_embedding, this.add_embedding, timesteps, context);
    const control = c.channelOrder === 'bgr' ? reverseChannels(ops, image, c.conditioningChannels) : image;
    let h = ops.add(this.conv_in.forward(ops, sample), this.controlnet_cond_embedding.forward(ops, control));
    const skips: T[] = [h];
    for (const block of this.down_blocks) {
      const r = block.forward(ops, h, temb, context);
      h = r.out;
      skips.push(...r.skips);
    }
    h = this.mid_block.forward(ops, h, temb, context);
    // Pooled residuals [B, C, 1, 1] broadcast over the U-Net's pixels when they are added.
    const pool = (r: T): T => (c.globalPoolConditions ? ops.mean(r, [2, 3], true) : r);
    return {
      down: skips.map((s, i) => pool(ops.mul(this.controlnet_down_blocks[i].forward(ops, s), scale))),
      mid: pool(ops.mul(this.controlnet_mid_block.forward(ops, h), scale)),
    };
  }
}

/** x [B, C, H, W] with its channels in reverse order (torch.flip(x, dims=[1])). */
function reverseChannels<T>(ops: Ops<T>, x: T, channels: number): T {
  if (channels === 1) return x;
  return ops.concat(ops.split(x, new Array<number>(channels).fill(1), 1).reverse(), 1);
}
