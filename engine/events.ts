// What the executor reports while it runs: every event carries the job id, so any client can watch any job.
import type { OutputFile } from './node-def.ts';
import type { WorkflowIssue } from './errors.ts';

export type JobStatus = 'ok' | 'error' | 'cancelled';

export type EngineEvent =
  | { type: 'job_started'; jobId: string; nodes: string[] }
  | { type: 'node_started'; jobId: string; nodeId: string; nodeType: string }
  | {
      type: 'node_progress';
      jobId: string;
      nodeId: string;
      value: number;
      max: number;
      metrics?: Record<string, number>;
      preview?: { mime: string; data: Uint8Array };
    }
  | { type: 'node_cached'; jobId: string; nodeId: string }
  | { type: 'node_done'; jobId: string; nodeId: string; seconds: number; outputs?: OutputFile[] }
  | { type: 'node_error'; jobId: string; nodeId: string; nodeType: string; code: string; message: string }
  /** Something a node did that may not be what the user meant (a prompt word the tokenizer does not know). */
  | { type: 'node_warning'; jobId: string; nodeId: string; message: string }
  | { type: 'job_done'; jobId: string; status: JobStatus; seconds: number; error?: WorkflowIssue };

export interface RunResult {
  jobId: string;
  status: JobStatus;
  /** Every node the run needed, executed or served from the cache. */
  nodes: Record<string, { status: 'executed' | 'cached'; seconds: number }>;
  /** Per output node (or requested node): the files it wrote and the values it returned. */
  outputs: Record<string, { files: OutputFile[]; values?: Record<string, unknown> }>;
  errors: WorkflowIssue[];
  /** The nodes' warnings (ctx.log.warn), in the order they came. */
  warnings: { node: string; message: string }[];
  seconds: number;
}
