// Recording a job's engine events and result in the store and sending them, as ComfyUI messages, to the job's
// client. Shared by the in-process queue (queue.ts) and the Redis queue (redis/redis-queue.ts), whose workers' events
// arrive over Redis: both record and route a job's events the same way.
import path from 'node:path';
import type { EngineEvent, RunResultLike } from './engine-port.ts';
import type { EventHub } from './hub.ts';
import type { FileRef, JobOutputs, JobStore } from './store.ts';
import { toComfyMessages, type JobEventState } from './comfy-events.ts';
import type { OutputFile } from '../engine/node-def.ts';
import { jsonSafe } from './json-safe.ts';

export interface ReportedJob {
  id: string;
  clientId: string | null;
}

export type FinishedStatus = 'done' | 'error' | 'cancelled' | 'interrupted';

export class JobReporter {
  constructor(
    private readonly store: JobStore,
    private readonly hub: EventHub,
    /** Root of all job output folders; a job writes into `<outputsRoot>/<jobId>/`. */
    readonly outputsRoot: string,
  ) {}

  /**
   * Training checkpoints a workflow keeps in one place across jobs (TrainLoop `checkpoint: data/checkpoints/…`, so a
   * later job can resume): `<data>/checkpoints/`, beside the outputs. Listed as type "checkpoints".
   */
  get checkpointsRoot(): string {
    return path.join(path.dirname(this.outputsRoot), 'checkpoints');
  }

  /** How a client asks GET /view for a file a job wrote: only files under the outputs or the checkpoints folder. */
  fileRef(f: OutputFile): FileRef | undefined {
    for (const [root, type] of [[this.outputsRoot, 'output'], [this.checkpointsRoot, 'checkpoints']] as const) {
      const rel = path.relative(root, f.path);
      if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
      const parts = rel.split(path.sep);
      const filename = parts.pop()!;
      return { filename, subfolder: parts.join('/'), type, kind: f.kind, ...(f.mime ? { mime: f.mime } : {}) };
    }
    return undefined;
  }

  /** Records one engine event with the job and sends it, as ComfyUI messages, to the job's client. */
  event(job: ReportedJob, e: EngineEvent, state: JobEventState, outputs: JobOutputs): void {
    const jobId = job.id;
    if (e.type === 'node_done' && e.outputs?.length) {
      // Persist partial outputs as they appear, so a crash mid-job keeps what was already written.
      const refs = e.outputs.map((f) => this.fileRef(f)).filter((r): r is FileRef => r !== undefined);
      outputs[e.nodeId] = { files: refs };
      this.store.setOutputs(jobId, outputs);
    }
    const msgs = toComfyMessages(e, state, (f) => this.fileRef(f));
    for (const m of msgs) {
      // Progress ticks are not recorded one by one (a training run makes thousands); metrics are.
      if (m.type !== 'progress') this.store.addEvent(jobId, m.type, m.data);
      this.hub.sendJobEvent(job.clientId, m);
    }
    if (e.type === 'node_progress' && e.preview) {
      this.store.addEvent(jobId, 'kosmos.preview', { prompt_id: jobId, node: e.nodeId, mime: e.preview.mime, bytes: e.preview.data.byteLength });
      this.hub.sendJobPreview(job.clientId, jobId, e.nodeId, e.preview.mime, e.preview.data);
    }
  }

  /** A message of our own (not an engine event), recorded with the job and sent to its client. */
  notice(job: ReportedJob, type: string, data: Record<string, unknown>): void {
    this.store.addEvent(job.id, type, data);
    this.hub.sendJobEvent(job.clientId, { type, data });
  }

  /** A queued job cancelled before it ran: recorded, and its client told (as ComfyUI tells it). */
  cancelledWhileQueued(job: ReportedJob): void {
    this.store.addEvent(job.id, 'execution_interrupted', { prompt_id: job.id, reason: 'cancelled while queued' });
    this.hub.sendJobEvent(job.clientId, { type: 'execution_interrupted', data: { prompt_id: job.id, node_id: null, node_type: null, executed: [], timestamp: Date.now() } });
  }

  /**
   * Records a run's result: its outputs (values included), then the held-back `job_done` event. Returns the
   * job's finished status and error; `stopped` says whether a cancellation was the server stopping (interrupted).
   */
  result(
    job: ReportedJob,
    result: RunResultLike,
    state: JobEventState,
    outputs: JobOutputs,
    jobDone: EngineEvent | undefined,
    stopped: boolean,
  ): { status: FinishedStatus; error: unknown } {
    for (const [nodeId, out] of Object.entries(result.outputs ?? {})) {
      const refs = out.files.map((f) => this.fileRef(f)).filter((r): r is FileRef => r !== undefined);
      const values = out.values && Object.keys(out.values).length ? (jsonSafe(out.values) as Record<string, unknown>) : undefined;
      outputs[nodeId] = { files: refs, ...(values ? { values } : {}) };
      if (values && refs.length === 0) {
        // Output nodes that wrote no file (PreviewValue) still report what they computed, ComfyUI-style.
        const text = Object.entries(values).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
        this.notice(job, 'executed', { node: nodeId, display_node: nodeId, output: { text, values }, prompt_id: job.id });
      }
    }
    this.store.setOutputs(job.id, outputs);
    if (jobDone) this.event(job, jobDone, state, outputs);
    const status: FinishedStatus = result.status === 'ok' ? 'done' : result.status === 'cancelled' ? (stopped ? 'interrupted' : 'cancelled') : 'error';
    let error: unknown;
    if (result.status === 'error') error = { code: result.errors[0]?.code ?? 'ERROR', message: result.errors[0]?.message ?? 'failed', issues: result.errors };
    if (result.status === 'cancelled') error = { code: stopped ? 'INTERRUPTED' : 'CANCELLED', message: 'the job was stopped' };
    return { status, error };
  }

  /** A run that threw (a bug, not a user error): the client is told the job failed. Returns the error to record. */
  crashed(job: ReportedJob, err: unknown, state: JobEventState): { code: string; message: string } {
    const error = { code: (err as { code?: string }).code ?? 'INTERNAL', message: (err as Error).message ?? String(err) };
    const msgs = toComfyMessages({ type: 'job_done', jobId: job.id, status: 'error', seconds: 0, error }, state, () => undefined);
    for (const m of msgs) this.hub.sendJobEvent(job.clientId, m);
    return error;
  }
}
