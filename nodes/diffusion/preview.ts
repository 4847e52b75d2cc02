// Sampler previews: a cheap RGB picture of x̂₀ straight from the latent, without running the VAE. For 4-channel
// SD latents the linear latent→RGB factors commonly used for SD 1.x previews; for other channel counts the
// first three channels, each stretched to [0, 1].

import sharp from 'sharp';
import type { HostTensor } from '../../models/ops/ops.ts';

const SD15_LATENT_RGB = [
  [0.298, 0.207, 0.208],
  [0.187, 0.286, 0.173],
  [-0.158, 0.189, 0.264],
  [-0.184, -0.271, -0.473],
];

/** First image of the batch as 8-bit RGB, interleaved. */
export function latentToRgb(latent: HostTensor): { rgb: Uint8Array; width: number; height: number } {
  const [, c, h, w] = latent.shape;
  const plane = h * w;
  const rgb = new Uint8Array(plane * 3);
  const d = latent.data;
  if (c === 4) {
    for (let p = 0; p < plane; p++) {
      for (let k = 0; k < 3; k++) {
        let v = 0;
        for (let ch = 0; ch < 4; ch++) v += d[ch * plane + p] * SD15_LATENT_RGB[ch][k];
        rgb[p * 3 + k] = Math.round(Math.min(1, Math.max(0, (v + 1) / 2)) * 255);
      }
    }
  } else {
    for (let k = 0; k < 3; k++) {
      const ch = Math.min(k, c - 1);
      let lo = Infinity;
      let hi = -Infinity;
      for (let p = 0; p < plane; p++) {
        lo = Math.min(lo, d[ch * plane + p]);
        hi = Math.max(hi, d[ch * plane + p]);
      }
      for (let p = 0; p < plane; p++) rgb[p * 3 + k] = Math.round(((d[ch * plane + p] - lo) / (hi - lo || 1)) * 255);
    }
  }
  return { rgb, width: w, height: h };
}

export async function latentPreviewPng(latent: HostTensor, minSide = 64): Promise<Uint8Array> {
  const { rgb, width, height } = latentToRgb(latent);
  const scale = Math.max(1, Math.ceil(minSide / Math.min(width, height)));
  const png = await sharp(Buffer.from(rgb), { raw: { width, height, channels: 3 } })
    .resize(width * scale, height * scale, { kernel: 'nearest' })
    .png()
    .toBuffer();
  return new Uint8Array(png);
}
