// The convolutional pieces shared by the U-Net, the VAE and the ControlNet (diffusers `resnet.py`, spec §3.3–§3.4):
// ResnetBlock2D, Downsample2D and Upsample2D. Field names are the checkpoint's key segments.

import { Conv2d, GroupNorm, Linear } from '../nn/layers.ts';
import { Module } from '../nn/module.ts';
import type { Rng } from '../ops/random.ts';
import type { Ops } from '../ops/ops.ts';

export class ResnetBlock2D extends Module {
  norm1: GroupNorm;
  conv1: Conv2d;
  time_emb_proj?: Linear;
  norm2: GroupNorm;
  conv2: Conv2d;
  conv_shortcut?: Conv2d;

  /** `tembChannels` null: no time embedding (the VAE's blocks). */
  constructor(inChannels: number, outChannels: number, tembChannels: number | null, groups: number, eps: number, rng: Rng) {
    super();
    this.norm1 = new GroupNorm(groups, inChannels, eps);
    this.conv1 = new Conv2d(inChannels, outChannels, 3, rng, { padding: 1 });
    if (tembChannels !== null) this.time_emb_proj = new Linear(tembChannels, outChannels, rng);
    this.norm2 = new GroupNorm(groups, outChannels, eps);
    this.conv2 = new Conv2d(outChannels, outChannels, 3, rng, { padding: 1 });
    if (inChannels !== outChannels) this.conv_shortcut = new Conv2d(inChannels, outChannels, 1, rng);
  }

  forward<T>(ops: Ops<T>, x: T, temb?: T): T {
    let h = this.conv1.forward(ops, ops.silu(this.norm1.forward(ops, x)));
    if (this.time_emb_proj && temb !== undefined) {
      const t = this.time_emb_proj.forward(ops, ops.silu(temb));
      const [b, c] = ops.shape(t);
      h = ops.add(h, ops.reshape(t, [b, c, 1, 1]));
    }
    h = this.conv2.forward(ops, ops.silu(this.norm2.forward(ops, h)));
    const skip = this.conv_shortcut ? this.conv_shortcut.forward(ops, x) : x;
    return ops.add(skip, h);
  }
}

export class Downsample2D extends Module {
  conv: Conv2d;
  /**
   * `asymmetric`: the VAE encoder pads (0, 1, 0, 1) and convolves with no padding; the U-Net pads 1 all round.
   */
  constructor(channels: number, rng: Rng, asymmetric = false) {
    super();
    this.conv = new Conv2d(channels, channels, 3, rng, { stride: 2, padding: asymmetric ? [0, 1, 0, 1] : 1 });
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return this.conv.forward(ops, x);
  }
}

export class Upsample2D extends Module {
  conv: Conv2d;
  constructor(channels: number, rng: Rng) {
    super();
    this.conv = new Conv2d(channels, channels, 3, rng, { padding: 1 });
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return this.conv.forward(ops, ops.upsampleNearest2d(x, 2));
  }
}

/** A parameterless placeholder that keeps list indices equal to the checkpoint's (`ff.net.1` is dropout). */
export class Identity extends Module {
  forward<T>(_ops: Ops<T>, x: T): T {
    return x;
  }
}
