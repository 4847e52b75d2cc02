// A small line plot of streamed metrics (loss, lr, ...): one line per metric, each scaled to its own range so
// that a learning rate and a loss are both readable.
const COLORS = ['#7fdbca', '#f78c6c', '#c792ea', '#ffcb6b', '#82aaff', '#ff5370'];

export class MetricsPlot {
  constructor(canvas) {
    this.canvas = canvas;
    this.series = new Map(); // name → [{x, y}]
    this.jobId = null;
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

  draw() {
    const c = this.canvas;
    const ctx = c.getContext('2d');
    const w = c.width;
    const h = c.height;
    ctx.clearRect(0, 0, w, h);
    ctx.strokeStyle = '#333';
    ctx.strokeRect(30, 8, w - 38, h - 28);
    let i = 0;
    let maxX = 1;
    for (const points of this.series.values()) for (const p of points) maxX = Math.max(maxX, p.x);
    ctx.font = '10px sans-serif';
    ctx.fillStyle = '#888';
    ctx.fillText('0', 30, h - 8);
    ctx.fillText(String(maxX), w - 30, h - 8);
    for (const [name, points] of this.series) {
      const color = COLORS[i % COLORS.length];
      let lo = Infinity;
      let hi = -Infinity;
      for (const p of points) {
        lo = Math.min(lo, p.y);
        hi = Math.max(hi, p.y);
      }
      if (hi === lo) hi = lo + 1;
      ctx.strokeStyle = color;
      ctx.beginPath();
      points.forEach((p, k) => {
        const x = 30 + (p.x / maxX) * (w - 38);
        const y = 8 + (1 - (p.y - lo) / (hi - lo)) * (h - 28);
        if (k === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      });
      ctx.stroke();
      ctx.fillStyle = color;
      const last = points.at(-1);
      ctx.fillText(`${name} ${last ? last.y.toPrecision(3) : ''}`, 34 + i * 90, 18);
      i++;
    }
  }
}
