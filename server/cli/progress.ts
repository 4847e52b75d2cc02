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
