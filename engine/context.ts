// The NodeContext a node's `execute` receives: progress (also a cancellation point), cancellation, logging, the
// job's scratch and output folders, the files it wrote, the running workflow and, inside a training step, the step.
import { mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Logger, NodeContext, OutputFile, Progress, StepInfo } from './node-def.ts';
import { CancelledError } from './errors.ts';
import type { EngineEvent } from './events.ts';

/** What the contexts of one job share. */
export interface JobScope {
  id: string;
  signal: AbortSignal;
  emit: (event: EngineEvent) => void;
  workflow: unknown;
  outputDir: string;
  /** Created on first use; the executor removes it when the job ends. */
  scratch?: Promise<string>;
}

export type LogLine = (level: 'info' | 'warn' | 'error', message: string, where: { jobId: string; nodeId: string }) => void;

export function nodeContext(job: JobScope, nodeId: string, files: OutputFile[], logLine: LogLine, step?: StepInfo): NodeContext {
  const where = { jobId: job.id, nodeId };
  const throwIfCancelled = (): void => {
    if (job.signal.aborted) throw new CancelledError();
  };
  const log: Logger = {
    info: (m) => logLine('info', m, where),
    warn: (m) => {
      logLine('warn', m, where);
      job.emit({ type: 'node_warning', jobId: job.id, nodeId, message: m });
    },
    error: (m) => logLine('error', m, where),
  };
  return {
    jobId: job.id,
    nodeId,
    signal: job.signal,
    log,
    workflow: job.workflow,
    ...(step !== undefined ? { step } : {}),
    throwIfCancelled,
    progress: (p: Progress) => {
      throwIfCancelled();
      job.emit({
        type: 'node_progress',
        jobId: job.id,
        nodeId,
        value: p.value,
        max: p.max,
        ...(p.metrics !== undefined ? { metrics: p.metrics } : {}),
        ...(p.preview !== undefined ? { preview: p.preview } : {}),
      });
    },
    scratchDir: () => (job.scratch ??= mkdtemp(path.join(os.tmpdir(), `kosmos-g-${job.id.slice(0, 8)}-`))),
    outputDir: async () => {
      await mkdir(job.outputDir, { recursive: true });
      return job.outputDir;
    },
    addOutputFile: (file: OutputFile) => {
      files.push(file);
    },
  };
}
