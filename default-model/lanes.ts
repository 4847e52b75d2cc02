// Runs the default pipeline's stages in dependency order, up to `lanes` at a time. With two lanes each stage runs in
// a process of its own (stage-process.ts) and the independent ones share the machine (a stage that starts alone
// gets every core for ONNX Runtime): CLIP ‖ VAE, then stage 1 → stage 2 ‖ U-Net; the critical path is
// VAE → U-Net → stage 3. With one lane the stages run in this process, in order, as before.

import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Executor } from '../engine/index.ts';
import { PipelineError } from './errors.ts';
import { runStage, type StageJob, type StageMessage, type StageRecord } from './stage-run.ts';
import type { StageName } from './workflows.ts';

/** What each stage reads that another stage writes (the world data and initial weights exist before any stage). */
export const STAGE_DEPENDENCIES: Record<StageName, readonly StageName[]> = {
  clip: [],
  vae: [],
  unet: ['clip', 'vae'], // the frozen CLIP text encoder and VAE
  stage1: ['clip'], // the CLIP vision tower
  stage2: ['clip', 'stage1'], // the CLIP text space and the stage-1 MLLM
  stage3: ['unet', 'stage2'], // the frozen U-Net and the aligned KOSMOS-G
};

/** A U-Net stage that trains the CLIP text encoder changes stage 2's target, so stage 2 then waits for it. */
export function stageDependencies(stage: StageName, unetTrainsText: boolean): readonly StageName[] {
  return unetTrainsText && stage === 'stage2' ? [...STAGE_DEPENDENCIES.stage2, 'unet'] : STAGE_DEPENDENCIES[stage];
}

export interface LaneCallbacks {
  onStart?: (job: StageJob) => void;
  onProgress?: (stage: StageName, step: number, steps: number, metrics: Record<string, number>) => void;
  onDone?: (record: StageRecord) => void;
}

/** A started stage: its record to come, and how to stop it. */
export interface RunningStage {
  promise: Promise<StageRecord>;
  stop: () => void;
}

/** `cores`: the cores this stage may use, the machine's divided among the stages starting or running beside it. */
export type StageStarter = (
  job: StageJob,
  onProgress: (step: number, steps: number, metrics: Record<string, number>) => void,
  cores: number,
) => RunningStage;

/** Runs a stage in this process on the executor `executor()` gives (one lane). */
export function inThisProcess(executor: () => Promise<Executor>): StageStarter {
  return (job, onProgress) => ({ promise: executor().then((ex) => runStage(ex, job, onProgress)), stop: () => {} });
}

/**
 * Runs `jobs` (in pipeline order) with at most `lanes` at once, each started by `start`; a stage starts when every
 * stage it depends on among `jobs` has finished. Stages not in `jobs` count as done (a continued run reads their
 * earlier output). Returns the records in pipeline order. One failure stops the others and rejects.
 */
export async function runLanes(
  jobs: StageJob[],
  lanes: number,
  start: StageStarter,
  cb: LaneCallbacks = {},
  cores = os.availableParallelism(),
): Promise<StageRecord[]> {
  const selected = new Set(jobs.map((j) => j.stage));
  const done = new Set<StageName>();
  const records = new Map<StageName, StageRecord>();
  const pending = [...jobs];
  const running = new Map<StageName, RunningStage>();
  const unetTrainsText = jobs.some((j) => j.stage === 'unet' && j.settings.trainText);
  const ready = (j: StageJob) => stageDependencies(j.stage, unetTrainsText).every((d) => !selected.has(d) || done.has(d));

  while (pending.length || running.size) {
    while (running.size < lanes) {
      const i = pending.findIndex(ready);
      if (i < 0) break;
      // A stage that starts alone gets every core; stages that start side by side share them. A share is fixed for
      // the stage's life (ONNX Runtime's thread count is), so the U-Net — most of the run, on the critical path —
      // gets every core even when it starts beside a short stage still running (stage 1, for its last minute or
      // two): otherwise it would train its hour on half the machine after that stage ends.
      const beside = Math.min(lanes, running.size + pending.filter(ready).length);
      const [job] = pending.splice(i, 1) as [StageJob];
      const share = job.stage === 'unet' ? cores : Math.max(1, Math.floor(cores / beside));
      cb.onStart?.(job);
      running.set(job.stage, start(job, (step, steps, m) => cb.onProgress?.(job.stage, step, steps, m), share));
    }
    if (!running.size) throw new PipelineError('DEFAULT_STAGE_FAILED', `train-default: stages ${pending.map((j) => j.stage).join(', ')} wait on each other`);
    const settled = await Promise.race(
      [...running].map(([stage, r]) => r.promise.then((record) => ({ stage, record }), (error: unknown) => ({ stage, error }))),
    );
    running.delete(settled.stage);
    if ('error' in settled) {
      for (const r of running.values()) r.stop();
      await Promise.allSettled([...running.values()].map((r) => r.promise));
      throw settled.error;
    }
    done.add(settled.stage);
    records.set(settled.stage, settled.record);
    cb.onDone?.(settled.record);
  }
  return jobs.map((j) => records.get(j.stage)!);
}

const STAGE_PROCESS = fileURLToPath(new URL('./stage-process.ts', import.meta.url));

/**
 * Runs a stage in a process of its own (stage-process.ts), with ONNX Runtime held to its share of the cores (unless
 * KOSMOS_G_ORT_THREADS says otherwise), so that stages side by side do not oversubscribe them; tfjs-wasm uses one
 * core anyway.
 */
export const inProcessOfItsOwn: StageStarter = (job, onProgress, cores) => {
  // tsx by absolute path: the stage process must load TypeScript whatever the working directory.
  const child: ChildProcess = fork(STAGE_PROCESS, [], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, KOSMOS_G_ORT_THREADS: process.env.KOSMOS_G_ORT_THREADS ?? String(cores) },
  });
  const promise = new Promise<StageRecord>((resolve, reject) => {
    let settled = false;
    const fail = (code: string | undefined, message: string) => {
      if (settled) return;
      settled = true;
      reject(new PipelineError(code === 'DEFAULT_BAD_OPTION' ? code : 'DEFAULT_STAGE_FAILED', message));
    };
    child.on('message', (m: StageMessage) => {
      if (m.type === 'progress') onProgress(m.step, m.steps, m.metrics);
      else if (m.type === 'done') {
        settled = true;
        resolve(m.record);
      } else fail(m.code, m.message);
    });
    child.on('error', (e) => fail(undefined, `train-default: stage ${job.stage}: ${e.message}`));
    child.on('exit', (code, signal) => fail(undefined, `train-default: stage ${job.stage}: its process ended (${signal ?? `exit code ${code}`}) before finishing`));
  });
  child.send(job);
  return { promise, stop: () => child.kill() };
};
