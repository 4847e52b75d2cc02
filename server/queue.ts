// The job queue: one job at a time on the device, run off the request path. Every state change is written to the
// store first, then announced on the hub. On start, jobs a crash left 'running' become 'interrupted' (their partial
// outputs stay) and queued jobs run in order.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { EnginePort, EngineEvent } from './engine-port.ts';
import type { EventHub } from './hub.ts';
import type { JobOutputs, JobRecord, JobStore } from './store.ts';
import { newJobEventState, outputMessage, type JobEventState } from './comfy-events.ts';
import { JobReporter, type FinishedStatus } from './job-reporter.ts';
import { StatusAnnouncer } from './status-announcer.ts';
import type { QueuePort, CancelResult } from './queue-port.ts';

export type { CancelResult };

export class JobQueue implements QueuePort {
  private readonly reporter: JobReporter;
  private readonly status: StatusAnnouncer;
  private running: { id: string; clientId: string | null; controller: AbortController; state: JobEventState; done: Promise<void> } | null = null;
  private pumping = false;
  private closing = false;
  private readonly idleWaiters: (() => void)[] = [];
  /** Work that must not overlap a job (freeing models and sessions), run before the next job starts. */
  private readonly chores: (() => Promise<void>)[] = [];
  /** Such work running while the queue is idle: no job starts until it has settled (see pump). */
  private exclusive: Promise<void> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: JobStore,
    private readonly engine: EnginePort,
    hub: EventHub,
    /** Root of all job output folders; a job writes into `<outputsRoot>/<jobId>/`. */
    outputsRoot: string,
    /** After this long with nothing queued or running, cached models and sessions are freed (0: never). */
    private readonly idleFreeMs = 0,
  ) {
    this.reporter = new JobReporter(store, hub, outputsRoot);
    this.status = new StatusAnnouncer(hub, () => this.queueRemaining());
  }

  /** Recover from a previous crash, then start running queued jobs. Returns the ids marked interrupted. */
  start(): string[] {
    const interrupted = this.store.recoverInterrupted();
    for (const id of interrupted) this.store.addEvent(id, 'execution_interrupted', { prompt_id: id, reason: 'server restart' });
    this.schedule();
    return interrupted;
  }

  get runningId(): string | null {
    return this.running?.id ?? null;
  }

  /** The running job, the client that queued it and the node it is executing (null before its first node starts). */
  current(): { id: string; clientId: string | null; node: string | null } | null {
    return this.running ? { id: this.running.id, clientId: this.running.clientId, node: this.running.state.currentNode } : null;
  }

  queueRemaining(): number {
    return this.store.count(['queued', 'running']);
  }

  /**
   * Adds a job. `startAfter` holds the start of an idle queue until it settles: POST /prompt passes the end of its
   * response, so the client knows the prompt_id before the job's first event. ComfyUI clients (comfyui-sdk's
   * CallWrapper) match events by the prompt_id they got back and lose the ones that arrive before it.
   */
  enqueue(workflow: unknown, clientId: string | null, id: string = randomUUID(), startAfter?: Promise<unknown>): JobRecord {
    clearTimeout(this.idleTimer);
    const job = this.store.addJob({ id, workflow, clientId });
    this.store.addEvent(job.id, 'queued', { prompt_id: job.id, number: job.number });
    this.announceStatus();
    if (startAfter) void startAfter.then(() => this.schedule(), () => this.schedule());
    else this.schedule();
    return job;
  }

  cancel(id: string): CancelResult {
    const job = this.store.get(id);
    if (!job) return 'not_found';
    if (this.running?.id === id) {
      this.running.controller.abort();
      return 'cancelling';
    }
    if (job.status === 'queued' && this.store.finish(id, 'cancelled', { code: 'CANCELLED', message: 'cancelled before it ran' })) {
      this.reporter.cancelledWhileQueued(job);
      this.announceStatus();
      return 'cancelled';
    }
    return 'finished';
  }

  readonly kind = 'sqlite' as const;

  /** Jobs run in this process: there are no workers. */
  workers(): [] {
    return [];
  }

  /** Deleted queued jobs are simply no longer in the store: nothing to do here. */
  forget(_ids: readonly string[]): void {}

  /** ComfyUI's /interrupt: stops the running job (only if it is `promptId`, when given). */
  interrupt(promptId?: string): string | null {
    if (!this.running || (promptId && this.running.id !== promptId)) return null;
    this.running.controller.abort();
    return this.running.id;
  }

  /**
   * Runs `work` while no job runs: at once when none does, else after the running job and before the next, as
   * ComfyUI applies POST /free. Resolves with whether it had to wait.
   */
  async betweenJobs(work: () => Promise<void>): Promise<'now' | 'after_current_job'> {
    if (!this.running) {
      await this.runExclusive(work);
      return 'now';
    }
    this.chores.push(work);
    return 'after_current_job';
  }

  /** Runs `work` with no job starting meanwhile (after any such work already under way); never rejects. */
  private runExclusive(work: () => Promise<unknown>): Promise<void> {
    const run = this.exclusive.then(work).then(
      () => undefined,
      (err: unknown) => console.error('[kosmos-g server] between jobs:', err),
    );
    this.exclusive = run;
    return run;
  }

  /** Frees the engine's cached models and sessions once the queue has stayed idle for idleFreeMs. */
  private freeWhenIdle(): void {
    if (this.idleFreeMs <= 0 || this.closing) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.running || this.closing || this.store.nextQueued()) return;
      void this.runExclusive(() => this.engine.free());
    }, this.idleFreeMs);
    this.idleTimer.unref();
  }

  private async runChores(): Promise<void> {
    for (const work of this.chores.splice(0)) {
      await work().catch((err) => console.error('[kosmos-g server] between jobs:', err));
    }
  }

  /** Resolves when nothing is queued or running (for tests and graceful shutdown). */
  idle(): Promise<void> {
    if (!this.running && !this.store.nextQueued()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking jobs; a running job is aborted and recorded as interrupted; queued jobs stay queued. */
  async close(): Promise<void> {
    this.closing = true;
    this.status.stop();
    clearTimeout(this.idleTimer);
    const r = this.running;
    if (r) {
      r.controller.abort();
      await r.done;
    }
  }

  /** Tells every client the queue changed (coalesced: status-announcer.ts). */
  announceStatus(): void {
    this.status.announce();
  }


  private schedule(): void {
    if (this.pumping || this.closing) return;
    this.pumping = true;
    setImmediate(() => {
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    try {
      while (!this.closing) {
        // Work that must not overlap a job (POST /free, the idle release) finishes first; if more began while
        // waiting, wait for that too. No await separates the last check from the job becoming `running`.
        const gate = this.exclusive;
        await gate;
        if (gate !== this.exclusive) continue;
        const job = this.store.nextQueued();
        if (!job) break;
        if (!this.store.markRunning(job.id)) continue;
        await this.runJob(job);
        await this.runChores();
      }
    } finally {
      this.pumping = false;
      if (!this.running && !this.store.nextQueued()) {
        this.idleWaiters.splice(0).forEach((w) => w());
        this.freeWhenIdle();
      }
    }
  }

  private async runJob(job: JobRecord): Promise<void> {
    const controller = new AbortController();
    const state = newJobEventState();
    const outputs: JobOutputs = {};
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    this.running = { id: job.id, clientId: job.clientId, controller, state, done };
    this.announceStatus();
    let jobDone: EngineEvent | undefined;
    const onEvent = (e: EngineEvent): void => {
      // The end of the job is announced after the result's values have been reported (see below).
      if (e.type === 'job_done') {
        jobDone = e;
        return;
      }
      try {
        this.reporter.event(job, e, state, outputs);
      } catch (err) {
        console.error(`[kosmos-g server] job ${job.id}: event handling failed:`, err);
      }
    };
    let status: FinishedStatus = 'error';
    let error: unknown;
    try {
      const result = await this.engine.run(job.workflow, {
        jobId: job.id,
        signal: controller.signal,
        onEvent,
        outputDir: path.join(this.reporter.outputsRoot, job.id),
      });
      ({ status, error } = this.reporter.result(job, result, state, outputs, jobDone, this.closing));
    } catch (err) {
      // The engine promises not to throw for user errors; anything thrown here is a bug, kept with the job.
      console.error(`[kosmos-g server] job ${job.id} crashed:`, err);
      error = this.reporter.crashed(job, err, state);
    } finally {
      this.store.finish(job.id, status, error);
      this.running = null;
      finish();
      this.announceStatus();
    }
  }
}
export { outputMessage };
