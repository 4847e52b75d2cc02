// The U-Net's down, mid and up blocks (diffusers `unet_2d_blocks.py`, spec §3.3). A down block returns its output
// and the skip tensors it produced (one per layer, plus one after its downsampler); an up block consumes skips
// from the end of the list, concatenating each onto its input channels.

import { Module, ModuleList } from '../nn/module.ts';
import type { Rng } from '../ops/random.ts';
import type { Ops } from '../ops/ops.ts';
import { Transformer2DModel } from './attention.ts';
import { Downsample2D, ResnetBlock2D, Upsample2D } from './resnet.ts';

export interface BlockShape {
  tembChannels: number;
  groups: number;
  eps: number;
  contextDim: number;
}

/** The shape every block of a U-Net (or of the ControlNet copying its down path) is built with. */
export function blockShape(config: { blockOutChannels: number[]; normNumGroups: number; normEps: number; crossAttentionDim: number }): BlockShape {
  return {
    tembChannels: config.blockOutChannels[0]! * 4,
    groups: config.normNumGroups,
    eps: config.normEps,
    contextDim: config.crossAttentionDim,
  };
}

/** DownBlock2D (no attention) or CrossAttnDownBlock2D (`heads` given). */
export class DownBlock extends Module {
  resnets: ModuleList<ResnetBlock2D>;
  attentions?: ModuleList<Transformer2DModel>;
  downsamplers?: ModuleList<Downsample2D>;
  constructor(inC: number, outC: number, layers: number, addDownsample: boolean, heads: number | null, s: BlockShape, rng: Rng) {
    super();
    this.resnets = new ModuleList<ResnetBlock2D>();
    if (heads !== null) this.attentions = new ModuleList<Transformer2DModel>();
    for (let i = 0; i < layers; i++) {
      this.resnets.push(new ResnetBlock2D(i === 0 ? inC : outC, outC, s.tembChannels, s.groups, s.eps, rng));
      if (this.attentions && heads !== null) this.attentions.push(new Transformer2DModel(outC, heads, s.contextDim, s.groups, rng));
    }
    if (addDownsample) {
      this.downsamplers = new ModuleList<Downsample2D>();
      this.downsamplers.push(new Downsample2D(outC, rng));
    }
  }
  forward<T>(ops: Ops<T>, x: T, temb: T, context: T): { out: T; skips: T[] } {
    const skips: T[] = [];
    let h = x;
    this.resnets.forEach((resnet, i) => {
      h = resnet.forward(ops, h, temb);
      if (this.attentions) h = this.attentions[i].forward(ops, h, context);
      skips.push(h);
    });
    if (this.downsamplers) {
      h = this.downsamplers[0].forward(ops, h);
      skips.push(h);
    }
    return { out: h, skips };
  }
}

/** UNetMidBlock2DCrossAttn: resnets.0 → attentions.0 → resnets.1. */
export class MidBlockCrossAttn extends Module {
  resnets: ModuleList<ResnetBlock2D>;
  attentions: ModuleList<Transformer2DModel>;
  constructor(channels: number, heads: number, s: BlockShape, rng: Rng) {
    super();
    this.resnets = new ModuleList<ResnetBlock2D>();
    this.attentions = new ModuleList<Transformer2DModel>();
    this.resnets.push(new ResnetBlock2D(channels, channels, s.tembChannels, s.groups, s.eps, rng));
    this.attentions.push(new Transformer2DModel(channels, heads, s.contextDim, s.groups, rng));
    this.resnets.push(new ResnetBlock2D(channels, channels, s.tembChannels, s.groups, s.eps, rng));
  }
  forward<T>(ops: Ops<T>, x: T, temb: T, context: T): T {
    let h = this.resnets[0].forward(ops, x, temb);
    h = this.attentions[0].forward(ops, h, context);
    return this.resnets[1].forward(ops, h, temb);
  }
}

/** UpBlock2D or CrossAttnUpBlock2D: layers+1 resnets, each fed [h ‖ skip]. */
export class UpBlock extends Module {
  resnets: ModuleList<ResnetBlock2D>;
  attentions?: ModuleList<Transformer2DModel>;
  upsamplers?: ModuleList<Upsample2D>;
  constructor(
    inC: number,
    outC: number,
    prevOutC: number,
    layers: number,
    addUpsample: boolean,
    heads: number | null,
    s: BlockShape,
    rng: Rng,
  ) {
    super();
    this.resnets = new ModuleList<ResnetBlock2D>();
    if (heads !== null) this.attentions = new ModuleList<Transformer2DModel>();
    for (let i = 0; i < layers; i++) {
      const skipC = i === layers - 1 ? inC : outC;
      const resIn = i === 0 ? prevOutC : outC;
      this.resnets.push(new ResnetBlock2D(resIn + skipC, outC, s.tembChannels, s.groups, s.eps, rng));
      if (this.attentions && heads !== null) this.attentions.push(new Transformer2DModel(outC, heads, s.contextDim, s.groups, rng));
    }
    if (addUpsample) {
      this.upsamplers = new ModuleList<Upsample2D>();
      this.upsamplers.push(new Upsample2D(outC, rng));
    }
  }
  /** `skips` is the shared stack; this block pops one per resnet. */
  forward<T>(ops: Ops<T>, x: T, skips: T[], temb: T, context: T): T {
    let h = x;
    this.resnets.forEach((resnet, i) => {
      const skip = skips.pop();
      if (skip === undefined) throw new Error('UpBlock: skip stack exhausted (config mismatch)');
      h = resnet.forward(ops, ops.concat([h, skip], 1), temb);
      if (this.attentions) h = this.attentions[i].forward(ops, h, context);
    });
    if (this.upsamplers) h = this.upsamplers[0].forward(ops, h);
    return h;
  }
}
