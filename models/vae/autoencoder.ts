// AutoencoderKL (diffusers `autoencoder_kl.py`, `vae.py`, spec §3.4). Every GroupNorm uses eps 1e-6; the encoder
// downsamples with asymmetric (0, 1, 0, 1) padding; the mid block has one single-head attention. The encoder
// yields mean ‖ logvar after quant_conv; sampling the posterior happens on the host (see posterior.ts) so a seed
// gives the same latent on every backend.

import { Conv2d, GroupNorm, Linear } from '../nn/layers.ts';
import { Module, ModuleList } from '../nn/module.ts';
import { Rng } from '../ops/random.ts';
import type { Ops } from '../ops/ops.ts';
import { Downsample2D, ResnetBlock2D, Upsample2D } from '../unet/resnet.ts';
import type { VAEConfig } from './config.ts';

const EPS = 1e-6;

/** The VAE's single-head spatial self-attention with its own GroupNorm and a residual. */
export class VAEAttention extends Module {
  group_norm: GroupNorm;
  to_q: Linear;
  to_k: Linear;
  to_v: Linear;
  to_out: ModuleList<Linear>;
  constructor(channels: number, groups: number, rng: Rng) {
    super();
    this.group_norm = new GroupNorm(groups, channels, EPS);
    this.to_q = new Linear(channels, channels, rng);
    this.to_k = new Linear(channels, channels, rng);
    this.to_v = new Linear(channels, channels, rng);
    this.to_out = ModuleList.from([new Linear(channels, channels, rng)]) as ModuleList<Linear>;
  }
  forward<T>(ops: Ops<T>, x: T): T {
    const [b, c, h, w] = ops.shape(x);
    const tokens = ops.transpose(ops.reshape(this.group_norm.forward(ops, x), [b, c, h * w]), [0, 2, 1]);
    const heads = (t: T) => ops.reshape(t, [b, 1, h * w, c]);
    const q = heads(this.to_q.forward(ops, tokens));
    const k = heads(this.to_k.forward(ops, tokens));
    const v = heads(this.to_v.forward(ops, tokens));
    const attended = this.to_out[0].forward(ops, ops.reshape(ops.attention(q, k, v), [b, h * w, c]));
    return ops.add(ops.reshape(ops.transpose(attended, [0, 2, 1]), [b, c, h, w]), x);
  }
}

export class VAEMidBlock extends Module {
  resnets: ModuleList<ResnetBlock2D>;
  attentions: ModuleList<VAEAttention>;
  constructor(channels: number, groups: number, rng: Rng) {
    super();
    this.resnets = new ModuleList<ResnetBlock2D>();
    this.attentions = new ModuleList<VAEAttention>();
    this.resnets.push(new ResnetBlock2D(channels, channels, null, groups, EPS, rng));
    this.attentions.push(new VAEAttention(channels, groups, rng));
    this.resnets.push(new ResnetBlock2D(channels, channels, null, groups, EPS, rng));
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return this.resnets[1].forward(ops, this.attentions[0].forward(ops, this.resnets[0].forward(ops, x)));
  }
}

export class DownEncoderBlock2D extends Module {
  resnets: ModuleList<ResnetBlock2D>;
  downsamplers?: ModuleList<Downsample2D>;
  constructor(inC: number, outC: number, layers: number, addDownsample: boolean, groups: number, rng: Rng) {
    super();
    this.resnets = new ModuleList<ResnetBlock2D>();
    for (let i = 0; i < layers; i++) this.resnets.push(new ResnetBlock2D(i === 0 ? inC : outC, outC, null, groups, EPS, rng));
    if (addDownsample) {
      this.downsamplers = new ModuleList<Downsample2D>();
      this.downsamplers.push(new Downsample2D(outC, rng, true));
    }
  }
  forward<T>(ops: Ops<T>, x: T): T {
    let h = x;
    for (const r of this.resnets) h = r.forward(ops, h);
    return this.downsamplers ? this.downsamplers[0].forward(ops, h) : h;
  }
}

export class UpDecoderBlock2D extends Module {
  resnets: ModuleList<ResnetBlock2D>;
  upsamplers?: ModuleList<Upsample2D>;
  constructor(inC: number, outC: number, layers: number, addUpsample: boolean, groups: number, rng: Rng) {
    super();
    this.resnets = new ModuleList<ResnetBlock2D>();
    for (let i = 0; i < layers; i++) this.resnets.push(new ResnetBlock2D(i === 0 ? inC : outC, outC, null, groups, EPS, rng));
    if (addUpsample) {
      this.upsamplers = new ModuleList<Upsample2D>();
      this.upsamplers.push(new Upsample2D(outC, rng));
    }
  }
  forward<T>(ops: Ops<T>, x: T): T {
    let h = x;
    for (const r of this.resnets) h = r.forward(ops, h);
    return this.upsamplers ? this.upsamplers[0].forward(ops, h) : h;
  }
}

export class Encoder extends Module {
  conv_in: Conv2d;
  down_blocks: ModuleList<DownEncoderBlock2D>;
  mid_block: VAEMidBlock;
  conv_norm_out: GroupNorm;
  conv_out: Conv2d;
  constructor(c: VAEConfig, rng: Rng) {
    super();
    const ch = c.blockOutChannels;
    const top = ch[ch.length - 1];
    this.conv_in = new Conv2d(c.inChannels, ch[0], 3, rng, { padding: 1 });
    this.down_blocks = new ModuleList<DownEncoderBlock2D>();
    ch.forEach((out, i) => {
      const inC = i === 0 ? ch[0] : ch[i - 1];
      this.down_blocks.push(new DownEncoderBlock2D(inC, out, c.layersPerBlock, i < ch.length - 1, c.normNumGroups, rng));
    });
    this.mid_block = new VAEMidBlock(top, c.normNumGroups, rng);
    this.conv_norm_out = new GroupNorm(c.normNumGroups, top, EPS);
    this.conv_out = new Conv2d(top, 2 * c.latentChannels, 3, rng, { padding: 1 });
  }
  forward<T>(ops: Ops<T>, x: T): T {
    let h = this.conv_in.forward(ops, x);
    for (const b of this.down_blocks) h = b.forward(ops, h);
    h = this.mid_block.forward(ops, h);
    return this.conv_out.forward(ops, ops.silu(this.conv_norm_out.forward(ops, h)));
  }
}

export class Decoder extends Module {
  conv_in: Conv2d;
  mid_block: VAEMidBlock;
  up_blocks: ModuleList<UpDecoderBlock2D>;
  conv_norm_out: GroupNorm;
  conv_out: Conv2d;
  constructor(c: VAEConfig, rng: Rng) {
    super();
    const reversed = [...c.blockOutChannels].reverse();
    this.conv_in = new Conv2d(c.latentChannels, reversed[0], 3, rng, { padding: 1 });
    this.mid_block = new VAEMidBlock(reversed[0], c.normNumGroups, rng);
    this.up_blocks = new ModuleList<UpDecoderBlock2D>();
    reversed.forEach((out, i) => {
      const inC = i === 0 ? reversed[0] : reversed[i - 1];
      this.up_blocks.push(new UpDecoderBlock2D(inC, out, c.layersPerBlock + 1, i < reversed.length - 1, c.normNumGroups, rng));
    });
    const bottom = c.blockOutChannels[0];
    this.conv_norm_out = new GroupNorm(c.normNumGroups, bottom, EPS);
    this.conv_out = new Conv2d(bottom, c.outChannels, 3, rng, { padding: 1 });
  }
  forward<T>(ops: Ops<T>, z: T): T {
    let h = this.mid_block.forward(ops, this.conv_in.forward(ops, z));
    for (const b of this.up_blocks) h = b.forward(ops, h);
    return this.conv_out.forward(ops, ops.silu(this.conv_norm_out.forward(ops, h)));
  }
}

export class AutoencoderKL extends Module {
  encoder: Encoder;
  decoder: Decoder;
  quant_conv: Conv2d;
  post_quant_conv: Conv2d;
  readonly _config: VAEConfig;
  constructor(config: VAEConfig, seed = 0) {
    super();
    this._config = config;
    const rng = new Rng(seed);
    this.encoder = new Encoder(config, rng);
    this.decoder = new Decoder(config, rng);
    const l = config.latentChannels;
    this.quant_conv = new Conv2d(2 * l, 2 * l, 1, rng);
    this.post_quant_conv = new Conv2d(l, l, 1, rng);
  }
  get config(): VAEConfig {
    return this._config;
  }
  /** Image [B, 3, H, W] in [−1, 1] → posterior moments [B, 2L, H/f, W/f] (mean ‖ logvar, unclamped). */
  encodeMoments<T>(ops: Ops<T>, image: T): T {
    return this.quant_conv.forward(ops, this.encoder.forward(ops, image));
  }
  /** Unscaled latent [B, L, h, w] → image [B, 3, H, W] in about [−1, 1]. */
  decode<T>(ops: Ops<T>, latent: T): T {
    return this.decoder.forward(ops, this.post_quant_conv.forward(ops, latent));
  }
}
