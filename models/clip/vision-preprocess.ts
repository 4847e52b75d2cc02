// CLIP image preprocessing as KOSMOS-G does it (spec §1.3, `_build_image_transform['gpt']`): resize the shorter
// side to S with bicubic filtering (PIL's: Keys a = -0.5, widened support when shrinking, i.e. antialiased),
// centre-crop S×S, then normalise with CLIP's mean/std. Host-side, on NCHW [0, 1] float images.

import type { ImageValue } from '../image.ts';
import { hostTensor, type HostTensor } from '../ops/ops.ts';
import { CLIP_MEAN, CLIP_STD } from './vision-config.ts';

function bicubic(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** Per output index: first input index and normalised weights (PIL's `precompute_coeffs`). */
function coefficients(inSize: number, outSize: number): { start: Int32Array; weights: Float64Array[] } {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const start = new Int32Array(outSize);
  const weights: Float64Array[] = [];
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - support + 0.5));
    const hi = Math.min(inSize, Math.floor(center + support + 0.5));
    const w = new Float64Array(hi - lo);
    let total = 0;
    for (let j = lo; j < hi; j++) total += w[j - lo] = bicubic((j - center + 0.5) / filterScale);
    if (total !== 0) for (let j = 0; j < w.length; j++) w[j]! /= total;
    start[i] = lo;
    weights.push(w);
  }
  return { start, weights };
}

/** Separable bicubic resize of one [H, W] plane. */
function resizePlane(src: Float32Array, h: number, w: number, outH: number, outW: number): Float32Array {
  const cx = coefficients(w, outW);
  const tmp = new Float32Array(h * outW);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < outW; x++) {
      const ws = cx.weights[x]!;
      let acc = 0;
      for (let k = 0; k < ws.length; k++) acc += ws[k]! * src[y * w + cx.start[x]! + k]!;
      tmp[y * outW + x] = acc;
    }
  }
  const cy = coefficients(h, outH);
  const out = new Float32Array(outH * outW);
  for (let y = 0; y < outH; y++) {
    const ws = cy.weights[y]!;
    for (let x = 0; x < outW; x++) {
      let acc = 0;
      for (let k = 0; k < ws.length; k++) acc += ws[k]! * tmp[(cy.start[y]! + k) * outW + x]!;
      out[y * outW + x] = acc;
    }
  }
  return out;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** ImageValue [B, 3, H, W] in [0, 1] → normalised pixels [B, 3, size, size] for `CLIPVision.forward`. */
export function preprocessForCLIP(image: ImageValue, size = 224): HostTensor {
  const { batch, height: h, width: w } = image;
  if (h < 1 || w < 1) throw new Error(`preprocessForCLIP: empty image ${w}×${h}`);
  // torchvision Resize(int): the shorter side becomes `size`, the longer int(size·long/short).
  const outH = h <= w ? size : Math.floor((size * h) / w);
  const outW = h <= w ? Math.floor((size * w) / h) : size;
  // torchvision CenterCrop: int(round((H - S) / 2)), with Python's round-half-to-even.
  const top = roundHalfEven((outH - size) / 2);
  const left = roundHalfEven((outW - size) / 2);
  const out = new Float32Array(batch * 3 * size * size);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < 3; c++) {
      const plane = image.data.subarray((b * 3 + c) * h * w, (b * 3 + c + 1) * h * w);
      const resized = outH === h && outW === w ? plane : resizePlane(plane, h, w, outH, outW);
      const base = (b * 3 + c) * size * size;
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          // PIL works in uint8: clamp the filter's overshoot back into [0, 1] before normalising.
          const v = Math.min(1, Math.max(0, resized[(y + top) * outW + x + left]!));
          out[base + y * size + x] = (v - CLIP_MEAN[c]!) / CLIP_STD[c]!;
        }
      }
    }
  }
  return hostTensor(out, [batch, 3, size, size]);
}
