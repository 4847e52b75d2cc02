// The server's side of the Redis queue (`kosmos-g serve --queue redis://…`). Jobs are recorded in the server's store
// first (so an answered POST /prompt survives anything), then sent to the BullMQ queue of a worker profile able to
// run them (capabilities.ts). What workers report arrives on one Redis stream, read by the server as a consumer
// group: an entry is acknowledged (and deleted) only after it has been applied to the store, so a server that is
// killed reads the rest when it comes back. Events are routed to WebSocket clients exactly as on one machine
// (job-reporter.ts). Policy when a worker dies mid-job: BullMQ's stalled-job check gives the job back to the queue
// once (another worker runs it from the start); a second loss fails it and the server marks it interrupted with the
// outputs already received.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Queue, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { EngineEvent, EnginePort, RunResultLike } from '../engine-port.ts';
import type { EventHub } from '../hub.ts';
import type { JobOutputs, JobRecord, JobStore } from '../store.ts';
import type { OutputFile } from '../../engine/node-def.ts';
import { newJobEventState, type JobEventState } from '../comfy-events.ts';
import { JobReporter } from '../job-reporter.ts';
import { StatusAnnouncer } from '../status-announcer.ts';
import type { CancelResult, QueuePort } from '../queue-port.ts';
import { BULL_PREFIX, KEYS, SERVER_GROUP, bounded, connect, type QueueTarget } from './connection.ts';
import { WORKER_TTL_MS, pickQueue, requirement, type WorkerInfo } from './capabilities.ts';
import { sign, verified } from './signing.ts';
import { attachUploads } from './uploads.ts';
import { insideRoot, type JobOrder, type SignedText, type WireEvent, type WireFile, type WorkerMessage } from './wire.ts';

/** How often the server re-reads the worker registry, routes waiting jobs and checks running jobs' fate. */
const SWEEP_MS = 1_000;
/** How long a cancelled job's mark stays, for a worker that picks the job up after the cancel was published. */
const CANCEL_MARK_S = 3600;

interface Running {
  clientId: string | null;
  state: JobEventState;
  outputs: JobOutputs;
  worker: string | null;
  attempt: number | null;
  jobDone?: EngineEvent;
}

export class RedisJobQueue implements QueuePort {
  private readonly reporter: JobReporter;
  private readonly status: StatusAnnouncer;
  private readonly redis: Redis;
  private readonly reader: Redis;
  private readonly queues = new Map<string, Queue<SignedText>>();
  private readonly running = new Map<string, Running>();
  /** Queued jobs no live worker can run yet (or not yet sent): routed by the sweep. */
  private readonly unrouted = new Set<string>();
  private live: WorkerInfo[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private packOf: Map<string, string> | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping = false;
  private reading: Promise<void> = Promise.resolve();
  private closing = false;
  /** The events stream has been read to its end once since start: results that workers sent are applied. */
  private caughtUp = false;

  constructor(
    private readonly store: JobStore,
    private readonly engine: EnginePort,
    hub: EventHub,
    outputsRoot: string,
    private readonly uploadsDir: string,
    target: QueueTarget,
    private readonly token: string | undefined,
  ) {
    this.reporter = new JobReporter(store, hub, outputsRoot);
    this.status = new StatusAnnouncer(hub, () => this.queueRemaining());
    this.redis = connect(target, 'server');
    this.reader = connect(target, 'server (events)');
  }

  /** Nothing is interrupted by a server restart: workers go on, and what they reported meanwhile is read now. */
  async start(): Promise<string[]> {
    await this.redis.xgroup('CREATE', KEYS.events, SERVER_GROUP, '0', 'MKSTREAM').catch((err: Error) => {
      if (!err.message.includes('BUSYGROUP')) throw err;
    });
    await this.refreshWorkers();
    // Jobs the store holds as queued: sent again if the queue lost them (or never got them: a server killed
    // between answering and sending).
    const routes = await this.redis.hgetall(KEYS.routes);
    for (const job of this.store.list(['queued'])) {
      const queue = routes[job.id];
      if (queue === undefined || !(await this.bull(queue).getJob(job.id))) this.unrouted.add(job.id);
    }
    for (const job of this.store.list(['running'])) this.track(job);
    this.reading = this.readLoop();
    this.sweepTimer = setInterval(() => void this.sweep(), SWEEP_MS);
    void this.sweep();
    return [];
  }

  get runningId(): string | null {
    return this.oldestRunning()?.[0] ?? null;
  }

  current(): { id: string; clientId: string | null; node: string | null } | null {
    const r = this.oldestRunning();
    return r ? { id: r[0], clientId: r[1].clientId, node: r[1].state.currentNode } : null;
  }

  private oldestRunning(): [string, Running] | undefined {
    return this.running.entries().next().value;
  }

  readonly kind = 'redis' as const;

  /** The workers heard from recently (GET /api/workers). */
  workers(): WorkerInfo[] {
    return [...this.live];
  }

  queueRemaining(): number {
    return this.store.count(['queued', 'running']);
  }

  enqueue(workflow: unknown, clientId: string | null, id: string = randomUUID(), startAfter?: Promise<unknown>): JobRecord {
    const job = this.store.addJob({ id, workflow, clientId });
    this.store.addEvent(job.id, 'queued', { prompt_id: job.id, number: job.number });
    this.announceStatus();
    const send = (): void => void this.route(job.id).catch((err: Error) => {
      // Sent again by the sweep: the job is safe in the store meanwhile.
      console.warn(`[kosmos-g server] job ${job.id}: sending it to the queue failed (${err.message}); retrying`);
      this.unrouted.add(job.id);
    });
    if (startAfter) void startAfter.then(send, send);
    else send();
    return job;
  }

  cancel(id: string): CancelResult {
    const job = this.store.get(id);
    if (!job) return 'not_found';
    if (job.status === 'running') {
      this.publishCancel(id);
      return 'cancelling';
    }
    if (job.status === 'queued' && this.store.finish(id, 'cancelled', { code: 'CANCELLED', message: 'cancelled before it ran' })) {
      // A worker that already took it hears the cancel (or finds the mark) and stops; its reports are ignored.
      this.unrouted.delete(id);
      this.publishCancel(id);
      void this.removeFromQueue(id).catch(() => undefined);
      this.reporter.cancelledWhileQueued(job);
      this.announceStatus();
      this.checkIdle();
      return 'cancelled';
    }
    return 'finished';
  }

  interrupt(promptId?: string): string | null {
    const id = promptId ?? this.runningId;
    if (id === null || !this.running.has(id)) return null;
    this.publishCancel(id);
    return id;
  }

  /** POST /free: the server's own engine (catalogue and validation) has nothing to wait for; workers free their own. */
  async betweenJobs(work: () => Promise<void>): Promise<'now' | 'after_current_job'> {
    await work().catch((err) => console.error('[kosmos-g server] between jobs:', err));
    return 'now';
  }

  forget(ids: readonly string[]): void {
    for (const id of ids) {
      this.unrouted.delete(id);
      this.publishCancel(id);
      void this.removeFromQueue(id).catch(() => undefined);
    }
    this.checkIdle();
  }

  /** Tells every client the queue changed (coalesced: status-announcer.ts). */
  announceStatus(): void {
    this.status.announce();
  }


  idle(): Promise<void> {
    if (this.queueRemaining() === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops reading and routing; jobs go on running on the workers and are picked up by the next start. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweepTimer);
    this.status.stop();
    this.reader.disconnect();
    await this.reading;
    await bounded(Promise.all([...this.queues.values()].map((q) => q.close())));
    this.redis.disconnect();
  }

  private checkIdle(): void {
    if (this.idleWaiters.length && this.queueRemaining() === 0) this.idleWaiters.splice(0).forEach((w) => w());
  }

  private bull(name: string): Queue<SignedText> {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue<SignedText>(name, { connection: this.redis, prefix: BULL_PREFIX });
      this.queues.set(name, q);
    }
    return q;
  }

  private publishCancel(id: string): void {
    void this.redis
      .multi()
      .set(KEYS.cancelled(id), '1', 'EX', CANCEL_MARK_S)
      .publish(KEYS.cancel, id)
      .exec()
      .catch(() => undefined);
  }

  private async removeFromQueue(id: string): Promise<void> {
    const queue = await this.redis.hget(KEYS.routes, id);
    if (queue === null) return;
    // A job a worker holds (locked) cannot be removed; the cancel mark stops it instead.
    await this.bull(queue).remove(id).catch(() => undefined);
    await this.redis.hdel(KEYS.routes, id);
  }

  private packTable(): Map<string, string> {
    if (!this.packOf) {
      this.packOf = new Map();
      for (const p of (this.engine.catalogue() as { packs?: { name: string; nodes: string[] }[] }).packs ?? []) {
        for (const type of p.nodes) this.packOf.set(type, p.name);
      }
    }
    return this.packOf;
  }

  /** Sends a queued job to a queue whose workers can run it; with none alive, it waits for the sweep. */
  private async route(id: string): Promise<void> {
    const job = this.store.get(id);
    if (!job || job.status !== 'queued' || this.closing) {
      this.unrouted.delete(id);
      return;
    }
    const packs = this.packTable();
    const queue = pickQueue(requirement(job.workflow, (t) => packs.get(t)), this.live);
    if (queue === undefined) {
      this.unrouted.add(id);
      return;
    }
    this.unrouted.delete(id);
    const shipped = attachUploads(job.workflow, this.engine.nodeTypes(), this.uploadsDir);
    const order: JobOrder = { workflow: shipped.workflow, clientId: job.clientId, ...(shipped.files.length ? { uploads: shipped.files } : {}) };
    const text = JSON.stringify(order);
    // The route is written before the job on the same connection: in order, without waiting for it.
    void this.redis.hset(KEYS.routes, id, queue).catch(() => undefined);
    await this.bull(queue).add('run', { text, sig: sign(this.token, text) }, { jobId: id, removeOnComplete: { age: 3600 }, removeOnFail: { age: 24 * 3600 } });
  }

  private async refreshWorkers(): Promise<void> {
    const all = await this.redis.hgetall(KEYS.workers);
    const now = Date.now();
    const live: WorkerInfo[] = [];
    for (const [id, text] of Object.entries(all)) {
      let w: WorkerInfo | undefined;
      try {
        w = JSON.parse(text) as WorkerInfo;
      } catch {
        w = undefined;
      }
      if (w && now - w.seen < WORKER_TTL_MS) live.push(w);
      else await this.redis.hdel(KEYS.workers, id);
    }
    this.live = live;
  }

  /** Every SWEEP_MS: the registry, jobs waiting for a worker, and running jobs whose worker died twice. */
  private async sweep(): Promise<void> {
    if (this.sweeping || this.closing) return;
    this.sweeping = true;
    try {
      await this.refreshWorkers();
      for (const id of [...this.unrouted]) await this.route(id);
      // Only once the reports sent while the server was away are applied: a finished job's result may be among them.
      if (!this.caughtUp) return;
      for (const id of [...this.running.keys()]) {
        const queue = await this.redis.hget(KEYS.routes, id);
        const job: Job | undefined = queue === null ? undefined : await this.bull(queue).getJob(id);
        // 'completed': the result is on the stream ahead of the completion, and is applied from there.
        if (!job) this.lost(id, 'the queue no longer holds it');
      }
      // Jobs the queue gave up on: a worker died twice under them, or refused them (a worker with another token).
      for (const name of new Set([...this.live.map((w) => w.queue), ...this.queues.keys()])) {
        for (const job of await this.bull(name).getFailed(0, 99)) {
          const record = job.id === undefined ? undefined : this.store.get(job.id);
          if (record && (record.status === 'queued' || record.status === 'running')) this.lost(record.id, job.failedReason || 'failed');
        }
      }
    } catch (err) {
      if (!this.closing) console.warn(`[kosmos-g server] queue sweep: ${(err as Error).message}`);
    } finally {
      this.sweeping = false;
    }
  }

  /** A job the queue gave up on (its worker died again, or refused it): interrupted, with the outputs received so far. */
  private lost(id: string, reason: string): void {
    const r = this.running.get(id);
    const job = this.store.get(id);
    this.running.delete(id);
    void this.redis.hdel(KEYS.routes, id).catch(() => undefined);
    if (!job || !this.store.finish(id, 'interrupted', { code: 'INTERRUPTED', message: `the queue gave up on the job: ${reason}` })) return;
    const data = { prompt_id: id, node_id: r?.state.currentNode ?? null, node_type: r?.state.currentType ?? null, executed: r?.state.executed ?? [], timestamp: Date.now(), reason };
    this.reporter.notice(job, 'execution_interrupted', data);
    this.announceStatus();
    this.checkIdle();
  }

  /** The in-memory side of a running job; after a restart, who runs it is read back from its recorded events. */
  private track(job: JobRecord): Running {
    let r = this.running.get(job.id);
    if (!r) {
      const last = job.status === 'running' ? this.store.events(job.id).filter((e) => e.type === 'kosmos.worker').pop() : undefined;
      const seen = last?.data as { worker?: string; attempt?: number } | undefined;
      r = { clientId: job.clientId, state: newJobEventState(), outputs: { ...job.outputs }, worker: seen?.worker ?? null, attempt: seen?.attempt ?? null };
      this.running.set(job.id, r);
    }
    return r;
  }

  private async readLoop(): Promise<void> {
    let from = '0'; // this consumer's entries read but not acknowledged by a previous run first, then new ones
    while (!this.closing) {
      let batch: [string, [string, string[]][]][] | null;
      try {
        batch = (await this.reader.xreadgroup('GROUP', SERVER_GROUP, 'server', 'COUNT', 200, 'BLOCK', 1000, 'STREAMS', KEYS.events, from)) as typeof batch;
      } catch (err) {
        if (this.closing) return;
        console.warn(`[kosmos-g server] reading worker events: ${(err as Error).message}`);
        if ((err as Error).message.includes('NOGROUP')) {
          await this.redis.xgroup('CREATE', KEYS.events, SERVER_GROUP, '0', 'MKSTREAM').catch(() => undefined);
        }
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      const entries = batch?.[0]?.[1] ?? [];
      const reachedEnd = from === '>' && entries.length < 200;
      if (from === '0' && entries.length === 0) from = '>';
      for (const [, fields] of entries) {
        const f: Record<string, string> = {};
        for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
        try {
          await this.apply(f.m ?? '', f.s);
        } catch (err) {
          console.error(`[kosmos-g server] a worker report could not be applied:`, err);
        }
      }
      if (entries.length) {
        // Applied (written to the store): acknowledged and deleted as one batch, without waiting for the answer; a
        // server killed before it lands reads these entries again on its next start, and applying twice is harmless.
        const ids = entries.map(([entryId]) => entryId);
        void this.redis.multi().xack(KEYS.events, SERVER_GROUP, ...ids).xdel(KEYS.events, ...ids).exec().catch(() => undefined);
      }
      if (reachedEnd) this.caughtUp = true;
    }
  }

  /** Applies one worker report to the store and the job's client. */
  private async apply(text: string, signature: string | undefined): Promise<void> {
    if (!verified(this.token, text, signature)) {
      console.warn('[kosmos-g server] dropped a worker report that is not signed with the worker token');
      return;
    }
    const m = JSON.parse(text) as WorkerMessage;
    const job = this.store.get(m.job);
    if (!job || job.status === 'done' || job.status === 'error' || job.status === 'cancelled' || job.status === 'interrupted') {
      // Deleted or finished here (cancelled while queued): make sure the worker stops.
      if (m.kind === 'started') this.publishCancel(m.job);
      return;
    }
    if (m.kind === 'started') {
      if (job.status === 'queued') this.store.markRunning(job.id);
      const r = this.track(job);
      // The same start read twice (a server killed before acknowledging it) is no retry.
      if (r.worker === m.worker && r.attempt === m.attempt) return;
      if (r.worker !== null) {
        // Its first worker died: the job runs again from the start, elsewhere.
        r.state = newJobEventState();
        r.jobDone = undefined;
        this.reporter.notice(job, 'kosmos.retry', { prompt_id: job.id, worker: m.worker, previous_worker: r.worker, attempt: m.attempt });
      }
      r.worker = m.worker;
      r.attempt = m.attempt;
      this.reporter.notice(job, 'kosmos.worker', { prompt_id: job.id, worker: m.worker, attempt: m.attempt });
      this.announceStatus();
      return;
    }
    const r = this.track(job);
    if (m.kind === 'event') {
      const e = await this.fromWire(job.id, m.event);
      if (e.type === 'job_done') r.jobDone = e; // announced after the result's values (as JobQueue does)
      else this.reporter.event(job, e, r.state, r.outputs);
      return;
    }
    const outputs: RunResultLike['outputs'] = {};
    for (const [nodeId, out] of Object.entries(m.result.outputs)) {
      outputs[nodeId] = { files: await this.receiveFiles(job.id, out.files), ...(out.values ? { values: out.values } : {}) };
    }
    const result: RunResultLike = { jobId: job.id, status: m.result.status, outputs, errors: m.result.errors, seconds: m.result.seconds };
    const { status, error } = this.reporter.result(job, result, r.state, r.outputs, r.jobDone, false);
    this.store.finish(job.id, status, error);
    this.running.delete(job.id);
    void this.redis.hdel(KEYS.routes, job.id).catch(() => undefined); // BullMQ keeps the finished job an hour
    this.announceStatus();
    this.checkIdle();
  }

  private async fromWire(jobId: string, e: WireEvent): Promise<EngineEvent> {
    if (e.type === 'node_done' && e.outputs) return { ...e, outputs: await this.receiveFiles(jobId, e.outputs) };
    if (e.type === 'node_progress' && e.preview) return { ...e, preview: { mime: e.preview.mime, data: new Uint8Array(Buffer.from(e.preview.data, 'base64')) } };
    return e as EngineEvent;
  }

  /**
   * Writes the files a worker sent (temp file, then rename) into the job's output folder. A file without bytes is a
   * reference to one an earlier job already sent (a node served from the worker's cache). Paths that would leave
   * the outputs folder, and bytes for another job's folder, are dropped.
   */
  private async receiveFiles(jobId: string, files: WireFile[]): Promise<OutputFile[]> {
    const out: OutputFile[] = [];
    for (const f of files) {
      const file = insideRoot(this.reporter.outputsRoot, f.rel);
      if (file === undefined || (f.data !== undefined && !f.rel.startsWith(`${jobId}/`))) {
        console.warn(`[kosmos-g server] job ${jobId}: a worker sent the output file ${JSON.stringify(f.rel)}, outside the job's folder; dropped`);
        continue;
      }
      if (f.data !== undefined) {
        await mkdir(path.dirname(file), { recursive: true });
        const tmp = `${file}.part-${process.pid}`;
        await writeFile(tmp, Buffer.from(f.data, 'base64'));
        await rename(tmp, file);
      }
      out.push({ path: file, kind: f.kind, ...(f.mime ? { mime: f.mime } : {}) });
    }
    return out;
  }
}
