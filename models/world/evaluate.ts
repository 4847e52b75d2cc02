// Reads shapes and colours back out of an image by pixel analysis (no learned model): the background is the
// commonest border colour; objects are connected regions of gradually changing colour off the background, named by
// the palette colour nearest their median; each object is compared with the world's four shapes drawn to fit its bounding box (raster.ts `inside`, the same
// geometry the world draws with), and takes the shape it overlaps best — or none ('blob') when no shape overlaps it
// well enough. A lumpy blob is a blob, not a circle: the threshold is set on hand-labelled generated pictures
// (test/fixtures/shape-reader/, test/world/shape-reader.test.ts).

import { BACKGROUNDS, BACKGROUND_NAMES, nearestColor, type BackgroundName, type ColorName, type ShapeName } from './palette.ts';
import { inside, insideStar, type Raster } from './raster.ts';
import { SHAPES } from './palette.ts';

/** What a region is read as: one of the world's shapes, or a blob that matches none of them. */
export type ReadShape = ShapeName | 'blob';

/**
 * The least overlap (intersection over union) with a fitted shape for a region to be read as that shape; below it
 * the region is a blob. Drawn world shapes overlap their fit by at least 0.99 (square), 0.89 (circle), 0.83
 * (triangle), 0.79 (star) over 4,500 rendered entities; a circle fitted to a square's box overlaps it by π/4 ≈ 0.79.
 * The point count (outlinePoints) keeps lumps from passing as stars and triangles, so those two may overlap less:
 * generated stars are fatter than drawn ones. Chosen by a grid search on the hand-labelled pictures
 * (test/world/shape-reader.test.ts: 83 % agreement) with every drawn shape still read right.
 */
export const SHAPE_FIT_MIN: Record<ShapeName, number> = { circle: 0.9, square: 0.9, triangle: 0.7, star: 0.6 };
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

/** Neighbouring pixels closer than this (RGB distance) belong to one object: shading and soft edges stay inside it. */
export const OBJECT_COLOUR_STEP = 40;

export function readImage(img: Raster, options: { minAreaFraction?: number } = {}): Reading {
  const { width: w, height: h, data } = img;
  const bg = borderColour(img);
  const background = nearestBackground(bg);
  const dist = (i: number, c: readonly number[]) => Math.hypot(data[i * 3]! - c[0]!, data[i * 3 + 1]! - c[1]!, data[i * 3 + 2]! - c[2]!);
  const foreground = new Uint8Array(w * h);
  // A pixel belongs to an object when it is off the background and near some palette colour (a blend of an object's
  // edge with the background is neither, and stays out, so it does not blur the outline).
  for (let i = 0; i < w * h; i++) {
    foreground[i] = dist(i, bg) >= 70 && nearestColor([data[i * 3]!, data[i * 3 + 1]!, data[i * 3 + 2]!]).distance <= 90 ? 1 : 0;
  }
  // Objects are connected foreground regions of gradually changing colour (a generated shape is shaded, and its
  // pixels' nearest palette colours can alternate); a sharp colour edge separates two objects that touch. Each
  // object takes the palette colour nearest its median colour, and is dropped when none is near.
  const minArea = Math.max(6, (options.minAreaFraction ?? 0.01) * w * h);
  const seen = new Uint8Array(w * h);
  const objects: Detected[] = [];
  for (let start = 0; start < w * h; start++) {
    if (!foreground[start] || seen[start]) continue;
    const core = growRegion(data, foreground, seen, w, h, start);
    if (core.length < minArea) continue;
    const colour = medianColour(data, core);
    const near = nearestColor(colour);
    if (near.distance > 90) continue;
    objects.push(describe(outline(data, core, colour, bg, w, h), w, near.name));
  }
  objects.sort((a, b) => b.area - a.area);
  return { background, objects };
}

function growRegion(data: Uint8ClampedArray, foreground: Uint8Array, seen: Uint8Array, w: number, h: number, start: number): number[] {
  const stack = [start];
  const out: number[] = [];
  seen[start] = 1;
  const step2 = OBJECT_COLOUR_STEP * OBJECT_COLOUR_STEP;
  while (stack.length) {
    const i = stack.pop()!;
    out.push(i);
    const x = i % w;
    const y = (i - x) / w;
    for (const [nx, ny] of [[x + 1, y], [x - 1, y], [x, y + 1], [x, y - 1]] as const) {
      if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
      const j = ny * w + nx;
      if (seen[j] || !foreground[j]) continue;
      const dr = data[i * 3]! - data[j * 3]!, dg = data[i * 3 + 1]! - data[j * 3 + 1]!, db = data[i * 3 + 2]! - data[j * 3 + 2]!;
      if (dr * dr + dg * dg + db * db >= step2) continue;
      seen[j] = 1;
      stack.push(j);
    }
  }
  return out;
}

/**
 * The object as a person sees its outline: its core pixels, the edge pixels that are at least half object colour
 * (a blend with the background, measured along the line from the background to the object's colour), and the holes
 * inside (highlights and specks): the 50 %-coverage outline an anti-aliased drawing has.
 */
function outline(data: Uint8ClampedArray, core: readonly number[], colour: readonly number[], bg: readonly number[], w: number, h: number): number[] {
  const inside = new Uint8Array(w * h);
  for (const i of core) inside[i] = 1;
  const d = [colour[0]! - bg[0]!, colour[1]! - bg[1]!, colour[2]! - bg[2]!];
  const dd = d[0]! * d[0]! + d[1]! * d[1]! + d[2]! * d[2]!;
  const halfObject = (j: number) => {
    const p = [data[j * 3]! - bg[0]!, data[j * 3 + 1]! - bg[1]!, data[j * 3 + 2]! - bg[2]!];
    const a = (p[0]! * d[0]! + p[1]! * d[1]! + p[2]! * d[2]!) / dd;
    const off = Math.hypot(p[0]! - a * d[0]!, p[1]! - a * d[1]!, p[2]! - a * d[2]!);
    return a >= 0.5 && off < 60;
  };
  let frontier = [...core];
  for (let round = 0; round < 2 && frontier.length; round++) {
    const next: number[] = [];
    for (const i of frontier) {
      const x = i % w, y = (i - x) / w;
      for (const [nx, ny] of [[x + 1, y], [x - 1, y], [x, y + 1], [x, y - 1]] as const) {
        if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
        const j = ny * w + nx;
        if (!inside[j] && halfObject(j)) { inside[j] = 1; next.push(j); }
      }
    }
    frontier = next;
  }
  // Holes: pixels of the bounding box that the outside cannot reach without crossing the object.
  let x0 = w, x1 = -1, y0 = h, y1 = -1;
  for (let i = 0; i < w * h; i++) {
    if (!inside[i]) continue;
    const x = i % w, y = (i - x) / w;
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  const bw = x1 - x0 + 3, bh = y1 - y0 + 3;
  const outside = new Uint8Array(bw * bh);
  const stack = [0];
  outside[0] = 1;
  while (stack.length) {
    const k = stack.pop()!;
    const bx = k % bw, by = (k - bx) / bw;
    for (const [nx, ny] of [[bx + 1, by], [bx - 1, by], [bx, by + 1], [bx, by - 1]] as const) {
      if (nx < 0 || ny < 0 || nx >= bw || ny >= bh) continue;
      const m = ny * bw + nx;
      if (outside[m]) continue;
      const ix = x0 - 1 + nx, iy = y0 - 1 + ny;
      if (ix >= 0 && iy >= 0 && ix < w && iy < h && inside[iy * w + ix]) continue;
      outside[m] = 1;
      stack.push(m);
    }
  }
  const out: number[] = [];
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) if (inside[y * w + x] || !outside[(y - y0 + 1) * bw + (x - x0 + 1)]) out.push(y * w + x);
  return out;
}

function medianColour(data: Uint8ClampedArray, pixels: readonly number[]): [number, number, number] {
  const channel = (c: number) => {
    const v = pixels.map((i) => data[i * 3 + c]!).sort((a, b) => a - b);
    return v[v.length >> 1]!;
  };
  return [channel(0), channel(1), channel(2)];
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
  const points = outlinePoints(pixels, w);
  // Of the shapes the region overlaps well enough, with the right number of points and proportions, the best.
  let read: ReadShape = 'blob';
  for (const shape of SHAPES) {
    const [l, r, t, b] = EXTENTS[shape];
    const aspect = bw / bh / ((r - l) / (b - t));
    const tolerance = SHAPE_ASPECT_TOLERANCE[shape];
    if (fits[shape] < SHAPE_FIT_MIN[shape] || aspect > tolerance || aspect < 1 / tolerance) continue;
    if (!SHAPE_POINTS[shape].includes(points)) continue;
    if (shape === 'circle' && fits.circle - fits.square < ROUND_VS_SQUARE_MARGIN.circle) continue;
    if (shape === 'square' && fits.square - fits.circle < ROUND_VS_SQUARE_MARGIN.square) continue;
    if (read === 'blob' || fits[shape] > fits[read]) read = shape;
  }
  return { shape: read, fit: read === 'blob' ? Math.max(...Object.values(fits)) : fits[read], fits };
}

/**
 * How many points (corners, star tips) an outline has that a person would count: peaks of the distance from the
 * centroid to the outline, around the circle, standing out by at least `POINT_PROMINENCE` of the mean distance.
 * A star has 5 (4–6 counted: a small one loses or splits a tip), a triangle 3, a square 4, a circle none (≤ 2:
 * pixel steps); a lumpy blob any number — the overlap decides between those.
 */
const SHAPE_POINTS: Record<ShapeName, readonly number[]> = { circle: [0, 1, 2], square: [4], triangle: [3], star: [4, 5, 6] };
export const POINT_PROMINENCE = 0.12;

function outlinePoints(pixels: readonly number[], w: number): number {
  const inRegion = new Set(pixels);
  let sx = 0, sy = 0;
  for (const i of pixels) { sx += i % w; sy += Math.floor(i / w); }
  const cx = sx / pixels.length + 0.5, cy = sy / pixels.length + 0.5;
  const BINS = 72;
  const radius = new Float64Array(BINS);
  for (const i of pixels) {
    const x = i % w, y = (i - x) / w;
    // Only edge pixels matter; their outer corners bound the outline.
    if (inRegion.has(i - 1) && inRegion.has(i + 1) && inRegion.has(i - w) && inRegion.has(i + w)) continue;
    for (const [px, py] of [[x, y], [x + 1, y], [x, y + 1], [x + 1, y + 1]] as const) {
      const dx = px - cx, dy = py - cy;
      const bin = Math.floor(((Math.atan2(dy, dx) + Math.PI) / (2 * Math.PI)) * BINS) % BINS;
      radius[bin] = Math.max(radius[bin]!, Math.hypot(dx, dy));
    }
  }
  // Fill empty bins from their neighbours, smooth over ±2 bins (±10°).
  for (let k = 0; k < BINS; k++) if (radius[k] === 0) radius[k] = Math.max(radius[(k + BINS - 1) % BINS]!, radius[(k + 1) % BINS]!);
  const smooth = Float64Array.from({ length: BINS }, (_, k) => {
    let t = 0;
    for (let d = -2; d <= 2; d++) t += radius[(k + d + BINS) % BINS]!;
    return t / 5;
  });
  const mean = smooth.reduce((a, b) => a + b, 0) / BINS;
  // A peak counts when, walking away from it on both sides, the outline dips by the prominence before rising above it.
  let peaks = 0;
  for (let k = 0; k < BINS; k++) {
    const v = smooth[k]!;
    if (v < smooth[(k + BINS - 1) % BINS]! || v <= smooth[(k + 1) % BINS]!) continue;
    const dips = (dir: number) => {
      let low = v;
      for (let s = 1; s < BINS; s++) {
        const u = smooth[(k + dir * s + BINS * 2) % BINS]!;
        if (u > v) break;
        low = Math.min(low, u);
      }
      return v - low >= POINT_PROMINENCE * mean;
    };
    if (dips(1) && dips(-1)) peaks++;
  }
  return peaks;
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
  /** Overlap with a shape test in the unit shape's coordinates, stretched so its extremes meet the box's edges. */
  const stretched = (shape: ShapeName, test: (x: number, y: number) => boolean) => {
    const [l, r, t, b] = EXTENTS[shape];
    const sx = bw / (r - l), sy = bh / (b - t);
    const cx = bw / 2 - ((l + r) / 2) * sx, cy = bh / 2 - ((t + b) / 2) * sy;
    return overlap((x, y) => test((x - cx) / sx, (y - cy) / sy));
  };
  const unit = (shape: ShapeName) => (x: number, y: number) => inside({ shape, cx: 0, cy: 0, r: 1 }, x, y);
  const corners = largestHullTriangle(mask, bw, bh);
  // Generated pictures draw the world's shapes softly: a square with rounded corners is still a square, a star with
  // shorter points still a star; each takes the better of its drawn and its softened outline.
  return {
    circle: stretched('circle', unit('circle')),
    square: Math.max(stretched('square', unit('square')), stretched('square', roundedSquare)),
    triangle: corners ? overlap((x, y) => inTriangle(corners, x, y)) : 0,
    star: Math.max(stretched('star', unit('star')), stretched('star', (x, y) => insideStar(x, y, 1, FAT_STAR_INNER))),
  };
}

/** Inner radius of the softened star the reader also fits (the drawn one: 0.45). */
const FAT_STAR_INNER = 0.6;
/** Corner radius of the softened square, as a share of its half-side. */
const SQUARE_ROUNDING = 0.35;

/** The world's square (half-side 0.88) with corners rounded. */
function roundedSquare(x: number, y: number): boolean {
  const a = 0.88, rc = SQUARE_ROUNDING * a;
  const ax = Math.abs(x), ay = Math.abs(y);
  if (ax > a || ay > a) return false;
  const ox = ax - (a - rc), oy = ay - (a - rc);
  return ox <= 0 || oy <= 0 || ox * ox + oy * oy <= rc * rc;
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

/** What was read, for reports and messages: "red circle, blue blob / pink" ("nothing" when no object, "?" for an unknown background). */
export function describeReading(reading: Reading): string {
  return `${reading.objects.map((o) => `${o.color} ${o.shape}`).join(', ') || 'nothing'} / ${reading.background ?? '?'}`;
}

/** Does the image contain an object of this colour and shape? */
export function contains(reading: Reading, color: ColorName, shape: ShapeName): boolean {
  return reading.objects.some((o) => o.color === color && o.shape === shape);
}
