// What a worker can run and which jobs it gets. A worker advertises its node packs, backends and GPU; workers with
// the same packs and GPU share one BullMQ queue (a "profile"). The server sends a job to a queue whose workers have
// every pack the job's nodes come from (and a GPU when a widget asks for CUDA), so a worker only receives jobs it
// can run. A job no live worker can run waits, queued, until one registers.
import { createHash } from 'node:crypto';

export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  packs: string[];
  nodeTypes: number;
  backends: string[];
  /** 'nvidia' when the machine has an NVIDIA device, else null. */
  gpu: string | null;
  /** The BullMQ queue this worker pulls from (its profile). */
  queue: string;
  startedAt: number;
  /** Last heartbeat (ms since the epoch); a worker silent for WORKER_TTL_MS is taken for gone. */
  seen: number;
  /** The job it runs now, if any. */
  job: string | null;
}

export const HEARTBEAT_MS = 2_000;
export const WORKER_TTL_MS = 10_000;

export function profileQueue(packs: readonly string[], gpu: string | null): string {
  const key = `${[...packs].sort().join(',')}|${gpu ?? 'cpu'}`;
  return `jobs-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

export interface Requirement {
  packs: string[];
  gpu: boolean;
}

/** The packs a workflow's nodes come from, and whether a widget asks for a CUDA backend. */
export function requirement(workflow: unknown, packOf: (type: string) => string | undefined): Requirement {
  const nodes = (workflow as { nodes?: { type: string; widgets?: Record<string, unknown> }[] }).nodes ?? [];
  const packs = new Set<string>();
  let gpu = false;
  for (const n of nodes) {
    const pack = packOf(n.type);
    if (pack !== undefined) packs.add(pack);
    for (const v of Object.values(n.widgets ?? {})) if (typeof v === 'string' && /(^|-)cuda$/.test(v)) gpu = true;
  }
  return { packs: [...packs].sort(), gpu };
}

/** The queue for a job: among live workers able to run it, the profile with the most workers. */
export function pickQueue(need: Requirement, workers: Iterable<WorkerInfo>): string | undefined {
  const counts = new Map<string, number>();
  for (const w of workers) {
    if (need.gpu && !w.gpu) continue;
    if (!need.packs.every((p) => w.packs.includes(p))) continue;
    counts.set(w.queue, (counts.get(w.queue) ?? 0) + 1);
  }
  let best: string | undefined;
  for (const [queue, n] of counts) if (best === undefined || n > counts.get(best)! || (n === counts.get(best)! && queue < best)) best = queue;
  return best;
}
