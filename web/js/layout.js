// Geometry for placing nodes and the view: boxes are [x, y, width, height] in graph coordinates.

/** The smallest zoom the editor opens a workflow at: litegraph's 14 px node text stays about 10 px high. */
export const MIN_READABLE_ZOOM = 0.7;
const MARGIN = 40;
const GAP = 20;

export function intersects(a, b, gap = 0) {
  return a[0] < b[0] + b[2] + gap && b[0] < a[0] + a[2] + gap && a[1] < b[1] + b[3] + gap && b[1] < a[1] + a[3] + gap;
}

/** The bounding box of boxes. */
export function bounds(boxes) {
  const minX = Math.min(...boxes.map((b) => b[0]));
  const minY = Math.min(...boxes.map((b) => b[1]));
  const maxX = Math.max(...boxes.map((b) => b[0] + b[2]));
  const maxY = Math.max(...boxes.map((b) => b[1] + b[3]));
  return [minX, minY, maxX - minX, maxY - minY];
}

/**
 * The view that shows the boxes: scale in [MIN_READABLE_ZOOM, 1], the boxes' top-left a margin from the view's.
 * Returns litegraph's DragAndScale fields (screen = (graph + offset) * scale).
 */
export function fitTransform(boxes, [viewW, viewH]) {
  const [x, y, w, h] = bounds(boxes);
  const fit = Math.min((viewW - 2 * MARGIN) / Math.max(w, 1), (viewH - 2 * MARGIN) / Math.max(h, 1));
  const scale = Math.max(MIN_READABLE_ZOOM, Math.min(1, fit));
  return { scale, offset: [MARGIN / scale - x, MARGIN / scale - y] };
}

/**
 * Where a box of `size` overlaps none of `taken`: the first free place scanning the visible rectangle row by row
 * from its top-left, else just right of everything.
 */
export function freeSpot(taken, [w, h], [vx, vy, vw, vh]) {
  const step = 40;
  for (let y = vy + MARGIN; y + h <= vy + vh; y += step) {
    for (let x = vx + MARGIN; x + w <= vx + vw; x += step) {
      if (!taken.some((t) => intersects([x, y, w, h], t, GAP))) return [x, y];
    }
  }
  if (taken.length === 0) return [vx + MARGIN, vy + MARGIN];
  const [bx, by, bw] = bounds(taken);
  return [bx + bw + GAP * 2, Math.max(by, vy + MARGIN)];
}
