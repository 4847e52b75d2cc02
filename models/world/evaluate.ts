// Reads shapes and colours back out of an image by pixel analysis (no learned model): the background is the
// commonest border colour; every other pixel is given its nearest palette colour; connected regions of one
// colour are classified by their fill of the bounding box and where their widest row lies.

import { BACKGROUNDS, BACKGROUND_NAMES, nearestColor, type BackgroundName, type ColorName, type ShapeName } from './palette.ts';
import type { Raster } from './raster.ts';

export interface Detected {
  color: ColorName;
  shape: ShapeName;
  cx: number;
  cy: number;
  area: number;
}

export interface Reading {
  background: BackgroundName | undefined;
  objects: Detected[];
}

export function readImage(img: Raster, options: { minAreaFraction?: number } = {}): Reading {
  const { width: w, height: h, data } = img;
  const px = (i: number) => [data[i * 3], data[i * 3 + 1], data[i * 3 + 2]] as const;
  const bg = borderColour(img);
  const background = nearestBackground(bg);
  const label = new Int8Array(w * h).fill(-1);
  const colorIndex: ColorName[] = [];
  for (let i = 0; i < w * h; i++) {
    const c = px(i);
    if (Math.hypot(c[0] - bg[0], c[1] - bg[1], c[2] - bg[2]) < 70) continue;
    const near = nearestColor(c);
    if (near.distance > 90) continue;
    let k = colorIndex.indexOf(near.name);
    if (k < 0) k = colorIndex.push(near.name) - 1;
    label[i] = k;
  }
  const minArea = Math.max(6, (options.minAreaFraction ?? 0.01) * w * h);
  const seen = new Uint8Array(w * h);
  const objects: Detected[] = [];
  for (let start = 0; start < w * h; start++) {
    if (label[start] < 0 || seen[start]) continue;
    const pixels = flood(label, seen, w, h, start);
    if (pixels.length < minArea) continue;
    objects.push(describe(pixels, w, colorIndex[label[start]]));
  }
  objects.sort((a, b) => b.area - a.area);
  return { background, objects };
}

function flood(label: Int8Array, seen: Uint8Array, w: number, h: number, start: number): number[] {
  const k = label[start];
  const stack = [start];
  const out: number[] = [];
  seen[start] = 1;
  while (stack.length) {
    const i = stack.pop()!;
    out.push(i);
    const x = i % w;
    const y = (i - x) / w;
    for (const [nx, ny] of [
      [x + 1, y],
      [x - 1, y],
      [x, y + 1],
      [x, y - 1],
    ]) {
      if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
      const j = ny * w + nx;
      if (!seen[j] && label[j] === k) {
        seen[j] = 1;
        stack.push(j);
      }
    }
  }
  return out;
}

function describe(pixels: number[], w: number, color: ColorName): Detected {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity, sx = 0, sy = 0;
  for (const i of pixels) {
    const x = i % w;
    const y = (i - x) / w;
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    sx += x; sy += y;
  }
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const fill = pixels.length / (bw * bh);
  const rows = new Array<number>(bh).fill(0);
  for (const i of pixels) rows[Math.floor(i / w) - y0]++;
  const widest = rows.indexOf(Math.max(...rows)) / Math.max(1, bh - 1);
  let shape: ShapeName;
  if (fill > 0.9) shape = 'square';
  else if (fill > 0.66) shape = 'circle';
  // A triangle is widest at its base; a star across its arms, above the middle.
  else shape = widest > 0.6 ? 'triangle' : 'star';
  return { color, shape, cx: sx / pixels.length, cy: sy / pixels.length, area: pixels.length };
}

function borderColour(img: Raster): [number, number, number] {
  const counts = new Map<string, number>();
  const { width: w, height: h, data } = img;
  const add = (x: number, y: number) => {
    const o = (y * w + x) * 3;
    // Quantise so that anti-aliasing noise does not split the vote.
    const key = `${data[o] >> 3},${data[o + 1] >> 3},${data[o + 2] >> 3}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };
  for (let x = 0; x < w; x++) { add(x, 0); add(x, h - 1); }
  for (let y = 1; y < h - 1; y++) { add(0, y); add(w - 1, y); }
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0].split(',').map((v) => Number(v) * 8 + 4);
  return [top[0], top[1], top[2]];
}

function nearestBackground(rgb: readonly number[]): BackgroundName | undefined {
  let best: BackgroundName | undefined;
  let bestD = 40;
  for (const name of BACKGROUND_NAMES) {
    const c = BACKGROUNDS[name];
    const d = Math.hypot(rgb[0] - c[0], rgb[1] - c[1], rgb[2] - c[2]);
    if (d < bestD) { bestD = d; best = name; }
  }
  return best;
}

/** Does the image contain an object of this colour and shape? */
export function contains(reading: Reading, color: ColorName, shape: ShapeName): boolean {
  return reading.objects.some((o) => o.color === color && o.shape === shape);
}
