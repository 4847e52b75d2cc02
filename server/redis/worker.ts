// `kosmos-g worker`: loads the node packs, advertises what it can run, pulls jobs from its profile's BullMQ queue,
// runs them with the same engine as the server (its own content cache, kept between jobs), and reports everything
// on the events stream: progress, previews, the files each node writes (their bytes travel through Redis), and the
// result. A cancel published by the server aborts the job's signal at once.
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Worker, type Job } from 'bullmq';
import type { EngineEvent, EnginePort } from '../engine-port.ts';
import type { OutputFile } from '../../engine/node-def.ts';
import { jsonSafe } from '../json-safe.ts';
import { receiveUploads } from './uploads.ts';
import { BULL_PREFIX, KEYS, QueueError, bounded, connect, warnEvery10s, type QueueTarget } from './connection.ts';
import { HEARTBEAT_MS, profileQueue, type WorkerInfo } from './capabilities.ts';
import { checkToken, sign, verified } from './signing.ts';
import { MAX_WIRE_FILE_BYTES, type JobOrder, type SignedText, type WireEvent, type WireFile, type WireResult, type WorkerMessage } from './wire.ts';

export interface WorkerOptions {
  queue: QueueTarget;
  token?: string;
  /** The worker's data folder (its jobs' outputs are written under `runs/` there until sent). */
  data: string;
  id?: string;
  plugins?: string[];
  builtins?: boolean;
  /**
   * How long a job's lock lasts without renewal: a worker that stops renewing (killed) has its job taken back after
   * about this long (BullMQ's stalled-job check). Default KOSMOS_G_QUEUE_LOCK_MS, else 30 s.
   */
  lockMs?: number;
  quiet?: boolean;
}

export interface WorkerHandle {
  id: string;
  info: WorkerInfo;
  close(): Promise<void>;
}

export function lockMs(options: { lockMs?: number }): number {
  if (options.lockMs !== undefined) return options.lockMs;
  const ms = Number(process.env.KOSMOS_G_QUEUE_LOCK_MS ?? 30_000);
  return Number.isFinite(ms) && ms >= 1000 ? ms : 30_000;
}

export async function startWorker(options: WorkerOptions): Promise<WorkerHandle> {
  const token = options.token;
  checkToken(options.queue, token, 'worker');
  const dataDir = path.resolve(options.data);
  const engine: EnginePort = await (await import('../engine-adapter.ts')).loadEngine({
    dataDir,
    ...(options.plugins ? { plugins: options.plugins } : {}),
    ...(options.builtins === false ? { builtins: false } : {}),
  });
  const packs = ((engine.catalogue() as { packs?: { name: string }[] }).packs ?? []).map((p) => p.name).sort();
  const gpu = existsSync('/dev/nvidiactl') ? 'nvidia' : null;
  const id = options.id ?? `${os.hostname()}-${process.pid}`;
  const info: WorkerInfo = {
    id,
    host: os.hostname(),
    pid: process.pid,
    packs,
    nodeTypes: engine.nodeTypes().length,
    backends: ['onnx', 'tfjs', ...(gpu ? ['onnx-cuda'] : [])],
    gpu,
    queue: profileQueue(packs, gpu),
    startedAt: Date.now(),
    seen: Date.now(),
    job: null,
  };
  const redis = connect(options.queue, `worker ${id}`);
  const subscriber = connect(options.queue, `worker ${id} (cancels)`);
  const bullConnection = connect(options.queue, `worker ${id} (jobs)`);

  const report = (m: WorkerMessage): Promise<unknown> => {
    const text = JSON.stringify(m);
    return redis.xadd(KEYS.events, '*', 'm', text, 's', sign(token, text));
  };
  const advertise = (): Promise<unknown> => redis.hset(KEYS.workers, id, JSON.stringify({ ...info, seen: Date.now() })).catch(() => undefined);
  await advertise();
  const heartbeat = setInterval(() => void advertise(), HEARTBEAT_MS);

  const runsDir = path.join(dataDir, 'runs');
  const processor = async (job: Job<SignedText>, _token?: string, signal?: AbortSignal): Promise<{ status: string }> => {
    const jobId = String(job.id);
    const started = { kind: 'started' as const, job: jobId, worker: id, attempt: job.attemptsStarted + job.stalledCounter };
    if (!verified(token, job.data.text, job.data.sig)) {
      // A server with another token (or none): failing the job tells the server why (it marks the job interrupted).
      console.warn(`kosmos-g worker ${id}: job ${jobId} is not signed with this worker's token; refused`);
      throw new QueueError('BAD_SIGNATURE', `worker ${id} refused the job: it is not signed with that worker's token`);
    }
    const order = JSON.parse(job.data.text) as JobOrder;
    info.job = jobId;
    const outputDir = path.join(runsDir, jobId);
    if (existsSync(outputDir)) await rm(outputDir, { recursive: true, force: true }); // a run of it here that died
    // The job starts at once; the news that it runs here and the check for a cancel that came before it travel
    // together, and a cancel found then stops it like any other.
    const controller = new AbortController();
    signal?.addEventListener('abort', () => controller.abort(), { once: true });
    const startedText = JSON.stringify(started);
    const early = redis
      .multi()
      .exists(KEYS.cancelled(jobId))
      .xadd(KEYS.events, '*', 'm', startedText, 's', sign(token, startedText))
      .hset(KEYS.workers, id, JSON.stringify({ ...info, seen: Date.now() }))
      .exec()
      .then(
        (replies) => {
          if (replies?.[0]?.[1] === 1) controller.abort();
        },
        (err: Error) => console.warn(`kosmos-g worker ${id}: job ${jobId}: reporting its start failed: ${err.message}`),
      );
    const sent = new Set<string>();
    // Events go out in order: a node's files are read before its event is sent, so conversions are chained; the
    // sends are not awaited one by one (one connection keeps them in order), only all together at the end.
    let chain: Promise<unknown> = Promise.resolve();
    const sends: Promise<unknown>[] = [];
    const onEvent = (e: EngineEvent): void => {
      chain = chain
        .then(async () => {
          const sending = report({ kind: 'event', job: jobId, event: await toWire(e, runsDir, sent) });
          sends.push(sending.catch((err: Error) => console.warn(`kosmos-g worker ${id}: job ${jobId}: reporting an event failed: ${err.message}`)));
        })
        .catch((err) => console.error(`kosmos-g worker ${id}: job ${jobId}: reporting an event failed:`, err));
    };
    try {
      let result: WireResult;
      try {
        const workflow = await receiveUploads(order.workflow, order.uploads, path.join(dataDir, 'uploads'));
        const run = await engine.run(workflow, { jobId, signal: controller.signal, onEvent, outputDir });
        await chain;
        const outputs: WireResult['outputs'] = {};
        for (const [nodeId, out] of Object.entries(run.outputs ?? {})) {
          outputs[nodeId] = { files: await Promise.all(out.files.map((f) => wireFile(f, runsDir, jobId, sent))), ...(out.values ? { values: jsonSafe(out.values) as Record<string, unknown> } : {}) };
        }
        result = { status: run.status, seconds: run.seconds, errors: run.errors, outputs };
      } catch (err) {
        await chain;
        console.error(`kosmos-g worker ${id}: job ${jobId} crashed:`, err);
        result = crashResult((err as { code?: string }).code ?? 'INTERNAL', (err as Error).message ?? String(err));
      }
      // Sent behind the job's events on the same connection; one wait covers them all.
      const reported = report({ kind: 'result', job: jobId, worker: id, result: JSON.parse(JSON.stringify(result)) as WireResult });
      await Promise.all([early, ...sends, reported]);
      return { status: result.status };
    } finally {
      info.job = null;
      void advertise();
      await rm(outputDir, { recursive: true, force: true });
    }
  };

  const lock = lockMs(options);
  const worker = new Worker<SignedText>(info.queue, processor, {
    connection: bullConnection,
    prefix: BULL_PREFIX,
    concurrency: 1,
    lockDuration: lock,
    stalledInterval: Math.max(1000, Math.round(lock / 2)),
    // A job whose worker died goes back to the queue once; a second loss fails it (the server marks it interrupted).
    maxStalledCount: 1,
  });
  worker.on('error', warnEvery10s(`kosmos-g worker ${id}:`));
  await subscriber.subscribe(KEYS.cancel);
  subscriber.on('message', (_channel: string, jobId: string) => {
    worker.cancelJob(jobId, 'cancelled');
  });
  await worker.waitUntilReady();
  if (!options.quiet) {
    console.log(`kosmos-g worker ${id}: ${packs.length} node pack(s) (${packs.join(', ')}), ${info.nodeTypes} node types, GPU ${gpu ?? 'none'}; queue ${info.queue}`);
    for (const e of engine.loadErrors()) console.warn(`kosmos-g worker ${id}: node pack ${e.pack} failed to load: ${e.message}`);
  }
  let closed: Promise<void> | undefined;
  return {
    id,
    info,
    close: () =>
      (closed ??= (async () => {
        clearInterval(heartbeat);
        // A running job is finished first (a second Ctrl-C or SIGTERM quits at once: the job then goes to another
        // worker); an idle worker stops at once, even with Redis unreachable.
        if (info.job !== null && !options.quiet) console.log(`kosmos-g worker ${id}: finishing job ${info.job} first`);
        await worker.close(info.job === null);
        await bounded(redis.hdel(KEYS.workers, id));
        for (const c of [redis, subscriber, bullConnection]) c.disconnect();
      })()),
  };
}

function crashResult(code: string, message: string): WireResult {
  return { status: 'error', seconds: 0, errors: [{ code, message } as WireResult['errors'][number]], outputs: {} };
}

/**
 * A file as the server addresses it: its path relative to the runs folder (`<jobId>/name`), with its bytes when it
 * belongs to this job and was not sent yet. A node served from the cache names a file an earlier job of this worker
 * wrote (and sent): that travels as a reference only.
 */
async function wireFile(f: OutputFile, runsDir: string, jobId: string, sent: Set<string>): Promise<WireFile> {
  const rel = path.relative(runsDir, f.path).split(path.sep).join('/');
  const file: WireFile = { rel, kind: f.kind, ...(f.mime ? { mime: f.mime } : {}) };
  if (!rel.startsWith(`${jobId}/`) || sent.has(rel)) return file;
  const bytes = await readFile(f.path);
  if (bytes.byteLength > MAX_WIRE_FILE_BYTES) throw new QueueError('OUTPUT_TOO_LARGE', `${rel}: ${bytes.byteLength} bytes; a job's file may be at most ${MAX_WIRE_FILE_BYTES} bytes through Redis`);
  sent.add(rel);
  return { ...file, data: bytes.toString('base64') };
}

async function toWire(e: EngineEvent, runsDir: string, sent: Set<string>): Promise<WireEvent> {
  if (e.type === 'node_done' && e.outputs) return { ...e, outputs: await Promise.all(e.outputs.map((f) => wireFile(f, runsDir, e.jobId, sent))) };
  if (e.type === 'node_progress' && e.preview) {
    const { data, mime } = e.preview;
    return { ...e, preview: { mime, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') } };
  }
  if (e.type === 'job_done' || e.type === 'node_error') return JSON.parse(JSON.stringify(e)) as WireEvent;
  return e as WireEvent;
}
