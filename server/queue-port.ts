// What the routes and the server need from a job queue. Two queues fill it: the in-process SQLite queue
// (queue.ts, the single-machine default: jobs run in this process) and the Redis queue (redis/redis-queue.ts:
// jobs run in `kosmos-g worker` processes, anywhere that reaches Redis). Job records and history stay in the
// server's store either way; the routes read them from there.
import type { JobRecord } from './store.ts';
import type { WorkerInfo } from './redis/capabilities.ts';

export type CancelResult = 'cancelled' | 'cancelling' | 'finished' | 'not_found';

export interface QueuePort {
  /** Recover what the last stop left, then start running queued jobs. Returns the ids marked interrupted. */
  start(): string[] | Promise<string[]>;
  /** A running job (the oldest, when several run), for the greeting a client gets on connecting. */
  current(): { id: string; clientId: string | null; node: string | null } | null;
  /** The running job's id (the oldest, when several run), or null. */
  readonly runningId: string | null;
  queueRemaining(): number;
  /** `sqlite` (jobs run in this process) or `redis` (jobs run on the workers listed by `workers`). */
  readonly kind: 'sqlite' | 'redis';
  /** The workers heard from recently (none for the in-process queue). */
  workers(): WorkerInfo[];
  /** Adds a job; `startAfter` holds its start until the client has the answer (see JobQueue.enqueue). */
  enqueue(workflow: unknown, clientId: string | null, id?: string, startAfter?: Promise<unknown>): JobRecord;
  cancel(id: string): CancelResult;
  /** ComfyUI's /interrupt: stops the running job (only if it is `promptId`, when given). */
  interrupt(promptId?: string): string | null;
  /** Runs `work` while no job runs on this process's engine (POST /free). */
  betweenJobs(work: () => Promise<void>): Promise<'now' | 'after_current_job'>;
  /** Queued jobs deleted from the store (POST /queue {delete}): the queue forgets them too. */
  forget(ids: readonly string[]): void;
  announceStatus(): void;
  /** Resolves when nothing is queued or running. */
  idle(): Promise<void>;
  close(): Promise<void>;
}
