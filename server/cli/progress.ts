// A one-line progress bar on stderr, drawn only when stderr is a terminal.
import type { EngineEvent } from '../../engine/events.ts';

export class ProgressBar {
  private total = 0;
  private finished = 0;
  private label = '';
  private fraction = 0;
  private drawn = false;

  constructor(
    private readonly write: (text: string) => void,
    private readonly width = 30,
  ) {}

  onEvent(event: EngineEvent, nodeTypes: Map<string, string>): void {
    switch (event.type) {
      case 'job_started':
        this.total = event.nodes.length;
        this.finished = 0;
        break;
      case 'node_started':
        this.label = `${event.nodeId} ${event.nodeType}`;
        this.fraction = 0;
        break;
      case 'node_progress':
        this.fraction = event.max > 0 ? Math.min(1, event.value / event.max) : 0;
        this.label = `${event.nodeId} ${nodeTypes.get(event.nodeId) ?? ''} ${event.value}/${event.max}`;
        break;
      case 'node_cached':
      case 'node_done':
        this.finished++;
        this.fraction = 0;
        break;
      case 'job_done':
      case 'node_error':
        this.clear();
        return;
    }
    this.draw();
  }

  private draw(): void {
    const done = this.total === 0 ? 1 : Math.min(1, (this.finished + this.fraction) / this.total);
    const filled = Math.round(done * this.width);
    const line = `[${'#'.repeat(filled)}${'-'.repeat(this.width - filled)}] ${this.finished}/${this.total} ${this.label}`;
    this.write(`\r${line.slice(0, 100).padEnd(100)}`);
    this.drawn = true;
  }

  clear(): void {
    if (!this.drawn) return;
    this.write(`\r${' '.repeat(100)}\r`);
    this.drawn = false;
  }
}

/**
 * Progress as plain lines, for a log or a pipe (stderr is not a terminal): each node as it starts, is served from
 * the cache or finishes, and its steps at most every `everyMs` (and its last step), so an hour-long run shows
 * it is alive without flooding the log.
 */
export class ProgressLines {
  private total = 0;
  private index = 0;
  private lastLine = 0;
  private readonly started = new Map<string, number>();

  constructor(
    private readonly write: (text: string) => void,
    private readonly everyMs = 2000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  onEvent(event: EngineEvent, nodeTypes: Map<string, string>): void {
    const count = () => `[${this.index}/${this.total}]`;
    switch (event.type) {
      case 'job_started':
        this.total = event.nodes.length;
        this.index = 0;
        break;
      case 'node_cached':
        this.index++;
        this.write(`${count()} ${event.nodeId} (${nodeTypes.get(event.nodeId) ?? '?'}) cached\n`);
        break;
      case 'node_started':
        this.index++;
        this.started.set(event.nodeId, this.now());
        this.lastLine = this.now();
        this.write(`${count()} ${event.nodeId} (${event.nodeType}) running\n`);
        break;
      case 'node_progress': {
        const t = this.now();
        if (event.value < event.max && t - this.lastLine < this.everyMs) return;
        this.lastLine = t;
        const pct = event.max > 0 ? ` ${Math.round((100 * event.value) / event.max)}%` : '';
        const metrics = Object.entries(event.metrics ?? {}).map(([k, v]) => ` ${k}=${Number(v.toPrecision(4))}`).join('');
        this.write(`      ${event.nodeId} ${event.value}/${event.max}${pct}${metrics}\n`);
        break;
      }
      case 'node_done': {
        const since = this.started.get(event.nodeId);
        this.write(`      ${event.nodeId} done in ${(event.seconds || (since !== undefined ? (this.now() - since) / 1000 : 0)).toFixed(2)} s\n`);
        break;
      }
    }
  }
}
