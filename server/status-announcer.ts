// Queue status (`status` with queue_remaining) goes to every client, so with many clients and a busy queue it is
// the costliest message: a change is sent at once, later changes within STATUS_WINDOW_MS are sent once at its end,
// with the count as it is then. Shared by both queues.
import type { EventHub } from './hub.ts';

const STATUS_WINDOW_MS = 50;

export class StatusAnnouncer {
  private timer: NodeJS.Timeout | undefined;
  private pending = false;
  private stopped = false;

  constructor(
    private readonly hub: EventHub,
    private readonly remaining: () => number,
  ) {}

  announce(): void {
    if (this.timer !== undefined) {
      this.pending = true;
      return;
    }
    this.hub.broadcast({ type: 'status', data: { status: { exec_info: { queue_remaining: this.remaining() } } } });
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.pending || this.stopped) return;
      this.pending = false;
      this.announce();
    }, STATUS_WINDOW_MS);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
