// The metrics plot of a training job (loss, lr, ...): one panel per metric, stacked, sharing the step axis. Each
// panel has its own labelled y-axis (a learning rate and a loss differ by orders of magnitude), its name and last
// value; loss and learning-rate panels use a log scale when their values are positive.
const COLORS = ['#7fdbca', '#f78c6c', '#c792ea', '#ffcb6b', '#82aaff', '#ff5370'];
const PANEL = 64; // px per metric
const LEFT = 52; // room for the y-axis labels
const RIGHT = 8;
const BOTTOM = 18; // the step axis

/** A number short enough for an axis: 3 significant digits, exponent form for very small or large values. */
export function formatValue(v) {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-2 || a >= 1e5) return v.toExponential(2).replace('e+', 'e');
  return String(Number(v.toPrecision(3)));
}

export function usesLogScale(name, points) {
  return /loss|^lr$|learning.?rate/i.test(name) && points.length > 0 && points.every((p) => p.y > 0);
}

export class MetricsPlot {
  constructor(canvas) {
    this.canvas = canvas;
    this.series = new Map(); // name → [{x, y}]
    this.jobId = null;
    this.drawn = [];
  }

  reset(jobId = null) {
    this.series.clear();
    this.jobId = jobId;
    this.draw();
  }

  add(jobId, step, metrics) {
    if (jobId !== this.jobId) this.reset(jobId);
    for (const [name, value] of Object.entries(metrics)) {
      if (!Number.isFinite(value)) continue;
      if (!this.series.has(name)) this.series.set(name, []);
      const points = this.series.get(name);
      points.push({ x: step, y: value });
      if (points.length > 5000) points.splice(0, points.length - 5000);
    }
    this.draw();
  }

  /** The points of one metric (the browser test reads them). */
  points(name) {
    return this.series.get(name) ?? [];
  }

  /** What the last draw showed, per metric: its label, scale and y-axis labels (the browser test reads it). */
  panels() {
    return this.drawn;
  }

  draw() {
    const c = this.canvas;
    const n = Math.max(1, this.series.size);
    const height = n * PANEL + BOTTOM + 4;
    if (c.height !== height) {
      c.height = height;
      c.style.height = `${height}px`;
    }
    const ctx = c.getContext('2d');
    const w = c.width;
    ctx.clearRect(0, 0, w, height);
    ctx.font = '10px sans-serif';
    let minX = Infinity;
    let maxX = -Infinity;
    for (const points of this.series.values()) for (const p of points) {
      minX = Math.min(minX, p.x);
      maxX = Math.max(maxX, p.x);
    }
    if (!Number.isFinite(minX)) [minX, maxX] = [0, 1];
    if (maxX === minX) maxX = minX + 1;
    const plotW = w - LEFT - RIGHT;
    const xOf = (x) => LEFT + ((x - minX) / (maxX - minX)) * plotW;
    this.drawn = [];
    let i = 0;
    for (const [name, points] of this.series) {
      const top = 4 + i * PANEL;
      const h = PANEL - 16;
      const color = COLORS[i % COLORS.length];
      const log = usesLogScale(name, points);
      const t = log ? Math.log10 : (v) => v;
      let lo = Infinity;
      let hi = -Infinity;
      for (const p of points) {
        lo = Math.min(lo, t(p.y));
        hi = Math.max(hi, t(p.y));
      }
      if (hi === lo) {
        hi += log ? 0.5 : Math.abs(hi) * 0.1 || 1;
        lo -= log ? 0.5 : Math.abs(lo) * 0.1 || 1;
      }
      const yOf = (v) => top + 12 + (1 - (t(v) - lo) / (hi - lo)) * h;
      // Axes: the y-axis with its top and bottom values, the panel's baseline.
      ctx.strokeStyle = '#444';
      ctx.beginPath();
      ctx.moveTo(LEFT, top + 12);
      ctx.lineTo(LEFT, top + 12 + h);
      ctx.lineTo(w - RIGHT, top + 12 + h);
      ctx.stroke();
      const untransform = log ? (v) => 10 ** v : (v) => v;
      const ticks = [formatValue(untransform(hi)), formatValue(untransform(lo))];
      ctx.fillStyle = '#999';
      ctx.textAlign = 'right';
      ctx.fillText(ticks[0], LEFT - 4, top + 16);
      ctx.fillText(ticks[1], LEFT - 4, top + 12 + h);
      ctx.textAlign = 'left';
      // The line.
      ctx.strokeStyle = color;
      ctx.beginPath();
      points.forEach((p, k) => {
        if (k === 0) ctx.moveTo(xOf(p.x), yOf(p.y));
        else ctx.lineTo(xOf(p.x), yOf(p.y));
      });
      ctx.stroke();
      const last = points.at(-1);
      const label = `${name} ${last ? formatValue(last.y) : ''}${log ? ' (log)' : ''}`;
      ctx.fillStyle = color;
      ctx.fillText(label, LEFT + 4, top + 9);
      this.drawn.push({ name, label, scale: log ? 'log' : 'linear', ticks });
      i++;
    }
    // The step axis, shared.
    ctx.fillStyle = '#999';
    const axisY = height - 4;
    ctx.fillText(`step ${minX}`, LEFT, axisY);
    ctx.textAlign = 'right';
    ctx.fillText(String(maxX), w - RIGHT, axisY);
    ctx.textAlign = 'left';
  }
}
