// What travels through Redis between the server and its workers. Jobs: the workflow and the client that queued it,
// signed (signing.ts). Worker reports, on one Redis stream: `started`, each engine `event` (files a node wrote and
// preview images travel inside, base64: outputs reach the server through the queue, no shared disk), and the
// `result`. File paths are relative to the outputs folder (`<jobId>/name`) and are checked by the server before writing.
import path from 'node:path';
import type { EngineEvent, RunResultLike } from '../engine-port.ts';
import type { OutputFile } from '../../engine/node-def.ts';
import type { WorkflowIssue } from '../engine-port.ts';
import type { ShippedFile } from './uploads.ts';

export interface JobOrder {
  workflow: unknown;
  clientId: string | null;
  /** Uploaded files the workflow names (uploads.ts). */
  uploads?: ShippedFile[];
}

/** BullMQ job data: the order as text and its signature. */
export interface SignedText {
  text: string;
  sig: string;
}

/** A file a worker's job wrote: its path inside the job's output folder and, when not sent before, its bytes. */
export interface WireFile {
  rel: string;
  kind: OutputFile['kind'];
  mime?: string;
  data?: string;
}

export type WireEvent =
  | Exclude<EngineEvent, { type: 'node_done' } | { type: 'node_progress' }>
  | (Omit<Extract<EngineEvent, { type: 'node_done' }>, 'outputs'> & { outputs?: WireFile[] })
  | (Omit<Extract<EngineEvent, { type: 'node_progress' }>, 'preview'> & { preview?: { mime: string; data: string } });

export interface WireResult {
  status: RunResultLike['status'];
  seconds: number;
  errors: WorkflowIssue[];
  outputs: Record<string, { files: WireFile[]; values?: Record<string, unknown> }>;
}

export type WorkerMessage =
  | { kind: 'started'; job: string; worker: string; attempt: number }
  | { kind: 'event'; job: string; event: WireEvent }
  | { kind: 'result'; job: string; worker: string; result: WireResult };

/** Largest file a job may send through Redis (Redis's own limit for one value is 512 MB). */
export const MAX_WIRE_FILE_BYTES = 256 * 1024 * 1024;

/** A relative path a worker names, as a path inside `root`; undefined when it would leave it. */
export function insideRoot(root: string, rel: string): string | undefined {
  if (typeof rel !== 'string' || rel === '' || rel.includes('\0') || path.isAbsolute(rel) || rel.includes('\\')) return undefined;
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return undefined;
  return path.join(root, ...parts);
}
