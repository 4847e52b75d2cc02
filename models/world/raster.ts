// A tiny anti-aliased rasteriser for the world's shapes: each pixel is sampled on a k×k grid and the coverage
// blends the shape's colour over what is already there. Pure TypeScript, so the data set is the same everywhere.

import type { Rgb, ShapeName } from './palette.ts';

export interface ShapeInstance {
  shape: ShapeName;
  /** Centre and half-size, in pixels. */
  cx: number;
  cy: number;
  r: number;
}

/** RGB image, row-major HWC uint8. */
export interface Raster {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

export function blankRaster(width: number, height: number, fill: Rgb): Raster {
  const data = new Uint8ClampedArray(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(fill, i * 3);
  return { width, height, data };
}

/** Whether the point (x, y) lies inside the shape. */
export function inside(s: ShapeInstance, x: number, y: number): boolean {
  const dx = x - s.cx;
  const dy = y - s.cy;
  switch (s.shape) {
    case 'circle':
      return dx * dx + dy * dy <= s.r * s.r;
    case 'square':
      return Math.abs(dx) <= s.r * 0.88 && Math.abs(dy) <= s.r * 0.88;
    case 'triangle': {
      // Apex up, base down; the base is as wide as the shape is tall.
      const top = -s.r;
      const bottom = s.r * 0.9;
      if (dy < top || dy > bottom) return false;
      const halfWidth = ((dy - top) / (bottom - top)) * s.r;
      return Math.abs(dx) <= halfWidth;
    }
    case 'star':
      return insideStar(dx, dy, s.r);
  }
}

/** The world's star: five points, inner radius `inner`·r (0.45 as drawn; the shape reader also tries fatter ones). */
export function insideStar(dx: number, dy: number, r: number, innerRatio = 0.45): boolean {
  // Test against the star polygon by angle.
  const angle = Math.atan2(dx, -dy);
  const sector = (2 * Math.PI) / 5;
  let a = ((angle % sector) + sector) % sector;
  if (a > sector / 2) a = sector - a;
  // Edge from the outer point (angle 0, radius r) to the inner vertex (angle sector/2, radius 0.45r).
  const inner = innerRatio * r;
  const ox = 0;
  const oy = r;
  const ix = inner * Math.sin(sector / 2);
  const iy = inner * Math.cos(sector / 2);
  const px = Math.hypot(dx, dy) * Math.sin(a);
  const py = Math.hypot(dx, dy) * Math.cos(a);
  // Inside when on the origin's side of the edge line.
  const cross = (ix - ox) * (py - oy) - (iy - oy) * (px - ox);
  const crossOrigin = (ix - ox) * (0 - oy) - (iy - oy) * (0 - ox);
  return Math.sign(cross) === Math.sign(crossOrigin) || cross === 0;
}

export function drawShape(img: Raster, s: ShapeInstance, color: Rgb, samples = 4): void {
  const x0 = Math.max(0, Math.floor(s.cx - s.r - 1));
  const x1 = Math.min(img.width - 1, Math.ceil(s.cx + s.r + 1));
  const y0 = Math.max(0, Math.floor(s.cy - s.r - 1));
  const y1 = Math.min(img.height - 1, Math.ceil(s.cy + s.r + 1));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      let hits = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          if (inside(s, x + (sx + 0.5) / samples, y + (sy + 0.5) / samples)) hits++;
        }
      }
      if (hits === 0) continue;
      const a = hits / (samples * samples);
      const o = (y * img.width + x) * 3;
      for (let c = 0; c < 3; c++) img.data[o + c] = Math.round(img.data[o + c] * (1 - a) + color[c] * a);
    }
  }
}

/** Square crop [x, y, size] resampled (nearest, box-filtered) to `out`×`out`. */
export function cropResize(img: Raster, x: number, y: number, size: number, out: number, fill: Rgb): Raster {
  const res = blankRaster(out, out, fill);
  const k = 3;
  for (let oy = 0; oy < out; oy++) {
    for (let ox = 0; ox < out; ox++) {
      const acc = [0, 0, 0];
      for (let sy = 0; sy < k; sy++) {
        for (let sx = 0; sx < k; sx++) {
          const px = Math.floor(x + ((ox + (sx + 0.5) / k) / out) * size);
          const py = Math.floor(y + ((oy + (sy + 0.5) / k) / out) * size);
          const src = px >= 0 && py >= 0 && px < img.width && py < img.height ? (py * img.width + px) * 3 : -1;
          for (let c = 0; c < 3; c++) acc[c] += src < 0 ? fill[c] : img.data[src + c];
        }
      }
      const o = (oy * out + ox) * 3;
      for (let c = 0; c < 3; c++) res.data[o + c] = Math.round(acc[c] / (k * k));
    }
  }
  return res;
}
