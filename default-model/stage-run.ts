// One stage of the default pipeline: its workflow (default-model/workflows.ts) run through the engine's Executor,
// timed, with its losses summarised into a record. Used in the pipeline's own process (one lane) and in a stage
// process of its own (default-model/stage-process.ts, when stages run side by side).

import path from 'node:path';
import { formatIssue, parseWorkflow, type EngineEvent, type Executor } from '../engine/index.ts';
import { weightsLayout, workLayout } from './layout.ts';
import { STAGE_TITLES, stageWorkflow, type StageName, type StageSettings } from './workflows.ts';
import { PipelineError } from './errors.ts';

export interface StageRecord {
  stage: StageName;
  title: string;
  settings: StageSettings;
  seconds: number;
  secondsPerStep: number;
  /** Steady-state rate reported by the loop at its last step (loading and the first step excluded). */
  stepsPerSecond?: number;
  firstLoss?: number;
  lastLoss?: number;
}

/** What a stage needs: plain data, so it can be sent to a stage process. */
export interface StageJob {
  stage: StageName;
  /** The weights folder being written (`<out>.partial`) and the work folder. */
  weightsDir: string;
  workDir: string;
  settings: StageSettings;
  baseDir: string;
}

/** Messages of a stage process to the pipeline. */
export type StageMessage =
  | { type: 'progress'; step: number; steps: number; metrics: Record<string, number> }
  | { type: 'done'; record: StageRecord }
  | { type: 'failed'; code?: string; message: string };

function mean(xs: number[]): number | undefined {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined;
}

export async function runStage(
  executor: Executor,
  job: StageJob,
  onProgress?: (step: number, steps: number, metrics: Record<string, number>) => void,
): Promise<StageRecord> {
  const { stage, settings } = job;
  const work = workLayout(job.workDir);
  const doc = stageWorkflow(stage, { weights: weightsLayout(job.weightsDir), work }, settings);
  const losses: number[] = [];
  let stepsPerSecond: number | undefined;
  const t0 = performance.now();
  let trainStart = 0;
  const result = await executor.run(parseWorkflow(doc, `default ${stage}`), {
    outputDir: path.join(work.dir, 'outputs', stage),
    onEvent: (e: EngineEvent) => {
      if (e.type === 'node_started' && e.nodeType === 'TrainLoop') trainStart = performance.now();
      if (e.type !== 'node_progress' || !e.metrics || e.nodeId !== 'train') return;
      if (typeof e.metrics.loss === 'number') losses.push(e.metrics.loss);
      if (typeof e.metrics.steps_per_s === 'number') stepsPerSecond = e.metrics.steps_per_s;
      onProgress?.(e.value, e.max, e.metrics);
    },
  });
  if (result.status !== 'ok') {
    throw new PipelineError('DEFAULT_STAGE_FAILED', `train-default: stage ${stage} failed: ${result.errors.map((i) => formatIssue(i)).join('; ')}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const trainSeconds = trainStart ? result.nodes.train?.seconds ?? (performance.now() - trainStart) / 1000 : seconds;
  const k = Math.max(1, Math.min(10, Math.floor(losses.length / 4)));
  return {
    stage,
    title: STAGE_TITLES[stage],
    settings,
    seconds,
    secondsPerStep: trainSeconds / settings.steps,
    ...(stepsPerSecond !== undefined ? { stepsPerSecond } : {}),
    firstLoss: mean(losses.slice(0, k)),
    lastLoss: mean(losses.slice(-k)),
  };
}
