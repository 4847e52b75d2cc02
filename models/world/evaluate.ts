// Reads shapes and colours back out of an image by pixel analysis (no learned model): the background is the
// commonest border colour; every other pixel is given its nearest palette colour; each connected region of one
// colour is compared with the world's four shapes drawn to fit its bounding box (raster.ts `inside`, the same
// geometry the world draws with), and takes the shape it overlaps best — or none ('blob') when no shape overlaps it
// well enough. A lumpy blob is a blob, not a circle: the threshold is set on hand-labelled generated pictures
// (test/fixtures/shape-reader/, test/world/shape-reader.test.ts).

import { BACKGROUNDS, BACKGROUND_NAMES, nearestColor, type BackgroundName, type ColorName, type ShapeName } from './palette.ts';
import { inside, type Raster } from './raster.ts';
import { SHAPES } from './palette.ts';

/** What a region is read as: one of the world's shapes, or a blob that matches none of them. */
export type ReadShape = ShapeName | 'blob';

/**
 * The least overlap (intersection over union) with a fitted shape for a region to be read as that shape; below it
 * the region is a blob. Drawn world shapes overlap their fit by at least 0.99 (square), 0.90 (circle), 0.83
 * (triangle), 0.75 (star: its thin arms lose their anti-aliased edge pixels at small sizes) over 4,500 rendered
 * entities; a circle fitted to a square's box overlaps it by only π/4 ≈ 0.79, a triangle inscribed in a circle by
 * 0.41 and a star any convex blob by ~0.5. Set between those on hand-labelled generated pictures
 * (test/world/shape-reader.test.ts), where lumpy round blobs overlap a circle by 0.85–0.9.
 */
export const SHAPE_FIT_MIN: Record<ShapeName, number> = { circle: 0.9, square: 0.85, triangle: 0.7, star: 0.62 };
/**
 * A circle must overlap its region this much better than a square does, and a square this much better than a
 * circle (a drawn circle: 0.97 vs 0.79; a drawn square: 1.0 vs 0.79); a region both fit about equally is a lumpy,
 * rounded blob.
 */
export const ROUND_VS_SQUARE_MARGIN = { circle: 0.05, square: 0.03 };
/**
 * The world's shapes are as wide as they are tall (within 5 %); a region whose bounding box is further than this
 * from its shape's proportions (width / height, either way) is a blob: a 4:5 rectangle is no square. Triangles
 * are fitted by their own corners and may lean, so they get more room.
 */
export const SHAPE_ASPECT_TOLERANCE: Record<ShapeName, number> = { circle: 1.15, square: 1.15, triangle: 1.5, star: 1.2 };

export interface Detected {
  color: ColorName;
  shape: ReadShape;
  /** Overlap with the shape read (with the best-fitting shape for a blob), 0..1. */
  fit: number;
  /** Overlap with each of the world's shapes fitted to the region. */
  fits: Record<ShapeName, number>;
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
  const { shape, fit, fits } = classify(pixels, w, x0, x1, y0, y1);
  return { color, shape, fit, fits, cx: sx / pixels.length, cy: sy / pixels.length, area: pixels.length };
}

/**
 * Where each shape's extremes lie, in units of its half-size r, relative to its centre (raster.ts `inside`): left,
 * right, top, bottom. A shape fitted to a bounding box takes r and the centre from these.
 */
const EXTENTS: Record<ShapeName, [number, number, number, number]> = {
  circle: [-1, 1, -1, 1],
  square: [-0.88, 0.88, -0.88, 0.88],
  triangle: [-1, 1, -1, 0.9],
  star: [-Math.sin((2 * Math.PI) / 5), Math.sin((2 * Math.PI) / 5), -1, Math.cos(Math.PI / 5)],
};

/** The shape the region is read as, with its overlap with each of the world's shapes fitted to it. */
function classify(pixels: number[], w: number, x0: number, x1: number, y0: number, y1: number): { shape: ReadShape; fit: number; fits: Record<ShapeName, number> } {
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const fits = shapeFits(pixels, w, x0, y0, bw, bh);
  // Of the shapes the region overlaps well enough and whose proportions it has, the one it overlaps best.
  let read: ReadShape = 'blob';
  for (const shape of SHAPES) {
    const [l, r, t, b] = EXTENTS[shape];
    const aspect = bw / bh / ((r - l) / (b - t));
    const tolerance = SHAPE_ASPECT_TOLERANCE[shape];
    if (fits[shape] < SHAPE_FIT_MIN[shape] || aspect > tolerance || aspect < 1 / tolerance) continue;
    if (shape === 'circle' && fits.circle - fits.square < ROUND_VS_SQUARE_MARGIN.circle) continue;
    if (shape === 'square' && fits.square - fits.circle < ROUND_VS_SQUARE_MARGIN.square) continue;
    if (read === 'blob' || fits[shape] > fits[read]) read = shape;
  }
  return { shape: read, fit: read === 'blob' ? Math.max(...Object.values(fits)) : fits[read], fits };
}

/**
 * Overlap (intersection over union) of a region with each shape: circle, square and star drawn by the world's
 * geometry stretched to the region's bounding box; the triangle as the largest triangle on the region's convex
 * hull, so a leaning or lopsided triangle still reads as one.
 */
function shapeFits(pixels: number[], w: number, x0: number, y0: number, bw: number, bh: number): Record<ShapeName, number> {
  const mask = new Uint8Array(bw * bh);
  for (const i of pixels) mask[(Math.floor(i / w) - y0) * bw + (i % w) - x0] = 1;
  const overlap = (isInside: (x: number, y: number) => boolean) => {
    let both = 0, either = 0;
    for (let y = 0; y < bh; y++) {
      for (let x = 0; x < bw; x++) {
        const a = isInside(x + 0.5, y + 0.5);
        const b = mask[y * bw + x] === 1;
        if (a && b) both++;
        if (a || b) either++;
      }
    }
    return either ? both / either : 0;
  };
  const stretched = (shape: ShapeName) => {
    const [l, r, t, b] = EXTENTS[shape];
    const sx = bw / (r - l), sy = bh / (b - t);
    const cx = bw / 2 - ((l + r) / 2) * sx, cy = bh / 2 - ((t + b) / 2) * sy;
    return overlap((x, y) => inside({ shape, cx: 0, cy: 0, r: 1 }, (x - cx) / sx, (y - cy) / sy));
  };
  const corners = largestHullTriangle(mask, bw, bh);
  return {
    circle: stretched('circle'),
    square: stretched('square'),
    triangle: corners ? overlap((x, y) => inTriangle(corners, x, y)) : 0,
    star: stretched('star'),
  };
}

type Point = [number, number];

/** The convex hull (Andrew's monotone chain) of the region's pixel corners, counter-clockwise. */
function hull(mask: Uint8Array, bw: number, bh: number): Point[] {
  const pts: Point[] = [];
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      if (!mask[y * bw + x]) continue;
      // Only the pixels at a row's ends can be on the hull; their outer corners bound the region's area.
      const left = x === 0 || !mask[y * bw + x - 1];
      const right = x === bw - 1 || !mask[y * bw + x + 1];
      if (left) pts.push([x, y], [x, y + 1]);
      if (right) pts.push([x + 1, y], [x + 1, y + 1]);
    }
  }
  pts.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const cross = (o: Point, a: Point, b: Point) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const half = (list: Point[]) => {
    const out: Point[] = [];
    for (const p of list) {
      while (out.length >= 2 && cross(out[out.length - 2]!, out[out.length - 1]!, p) <= 0) out.pop();
      out.push(p);
    }
    out.pop();
    return out;
  };
  return [...half(pts), ...half([...pts].reverse())];
}

/** The largest-area triangle with corners on the hull (undefined for a degenerate region). */
function largestHullTriangle(mask: Uint8Array, bw: number, bh: number): [Point, Point, Point] | undefined {
  const h = hull(mask, bw, bh);
  if (h.length < 3) return undefined;
  let best = 0;
  let out: [Point, Point, Point] | undefined;
  for (let i = 0; i < h.length; i++) {
    for (let j = i + 1; j < h.length; j++) {
      for (let k = j + 1; k < h.length; k++) {
        const a = h[i]!, b = h[j]!, c = h[k]!;
        const area = Math.abs((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]));
        if (area > best) { best = area; out = [a, b, c]; }
      }
    }
  }
  return out;
}

function inTriangle([a, b, c]: [Point, Point, Point], x: number, y: number): boolean {
  const side = (p: Point, q: Point) => (q[0] - p[0]) * (y - p[1]) - (q[1] - p[1]) * (x - p[0]);
  const d1 = side(a, b), d2 = side(b, c), d3 = side(c, a);
  return (d1 >= 0 && d2 >= 0 && d3 >= 0) || (d1 <= 0 && d2 <= 0 && d3 <= 0);
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
