// The train-default pipeline: world data (held-out triples removed) → tokenizers → random initial weights → the six
// stage workflows run by the engine's Executor in dependency order, two at a time where there are two cores
// (default-model/lanes.ts) → a training record.
// SaveCheckpoint stores each part's config beside its weights, so every stage loads its inputs with 'from-file'.
// Everything is written into `<out>.partial` and renamed to `<out>` at the end, so a killed run never leaves a
// half-trained model where the generation workflows look for one.

import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { Executor, Registry } from '../engine/index.ts';
import { DEFAULT_IMAGE_SIZE } from './config.ts';
import { writeInitialWeights } from './init.ts';
import { weightsLayout, workLayout, type WeightsLayout, type WorkLayout } from './layout.ts';
import type { SplitCounts } from './split-data.ts';
import { prepareWorldData } from './world-data.ts';
import { defaultTokenizers } from './vocabulary.ts';
import { STAGES, STAGE_SETTINGS, STAGE_TITLES, type StageName, type StageSettings } from './workflows.ts';
import { PipelineError } from './errors.ts';
import { inProcessOfItsOwn, inThisProcess, runLanes } from './lanes.ts';
import type { StageRecord } from './stage-run.ts';
import type { TaskScore } from '../models/world/score.ts';

export { PipelineError };
export type { StageRecord };

export interface PipelineOptions {
  out: string;
  /** Work folder (data, parts, checkpoints); default `<out>.work`. */
  work?: string;
  /** Scenes in the world data set before the held-out ones are removed. */
  scenes: number;
  seed: number;
  /** Per-stage overrides of steps / batch (e.g. --quick). */
  settings?: Partial<Record<StageName, Partial<StageSettings>>>;
  /** Stages to run (default all, in order). */
  stages?: readonly StageName[];
  /** Repository root: relative paths in the workflows resolve against it. */
  baseDir: string;
  onLine?: (line: string) => void;
  /** Live progress of the running stages (for a progress bar). */
  onProgress?: (stage: StageName, step: number, steps: number, metrics: Record<string, number>) => void;
  /**
   * Stages run at once, each in a process of its own when more than one (default: 2 where there are 2 cores, else 1;
   * 1 runs them in this process, in order).
   */
  lanes?: number;
  /**
   * Continue the selected stages from their last checkpoints (`<work>/checkpoints/<stage>`, kept from the earlier run)
   * instead of from the weights folder: a stage given more steps picks up where it stopped, its optimiser state,
   * moving average and data order included, with the learning-rate schedule of the new step count.
   */
  resume?: boolean;
}

export interface TrainingRecord {
  started: string;
  seconds: number;
  scenes: number;
  seed: number;
  imageSize: number;
  data: SplitCounts[];
  /** Stages run at once (1: one after the other). */
  lanes?: number;
  stages: StageRecord[];
  /** Held-out scores when the run was evaluated (`--eval N`): per model (full, stage-2 only), per task. */
  scores?: { settings: string; models: { name: string; tasks: TaskScore[] }[]; sensitivity?: { swaps: number; changed: number; followed: number } };
}

export async function trainDefault(options: PipelineOptions): Promise<{ record: TrainingRecord; weights: WeightsLayout; work: WorkLayout }> {
  const line = options.onLine ?? (() => {});
  const stages = options.stages ?? STAGES;
  for (const s of stages) if (!STAGES.includes(s)) throw new PipelineError('DEFAULT_BAD_OPTION', `train-default: unknown stage '${s}' (one of ${STAGES.join(', ')})`);
  const started = new Date();
  const t0 = performance.now();
  const out = path.resolve(options.baseDir, options.out);
  const partial = `${out}.partial`;
  const weights = weightsLayout(partial);
  const work = workLayout(path.resolve(options.baseDir, options.work ?? `${out}.work`));

  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  const world = await prepareWorldData(work.world, { scenes: options.scenes, seed: options.seed, size: DEFAULT_IMAGE_SIZE });
  const data = world.split;
  line(`world data: ${options.scenes} scenes (seed ${options.seed}) ${world.reused ? 'already in' : '→'} ${work.world}`);
  for (const c of data) line(`  ${path.basename(c.file)}: ${c.kept} rows (${c.dropped} held out)`);
  line(`  compositional.jsonl: +${world.colourFree} colour-free copies (the subject's colour comes from its image)`);
  line(`  ${path.basename(world.subjectCaptions.file)}: ${world.subjectCaptions.rows} captions of single entities (stage 1)`);

  const tokenizers = defaultTokenizers();
  // A subset of the stages continues from the last complete model (e.g. re-running stage 3 alone); all of them
  // start from random weights.
  const continuing = stages.length < STAGES.length && existsSync(out) && existsSync(work.aligner);
  if (options.resume) {
    if (!continuing) throw new PipelineError('DEFAULT_BAD_OPTION', `train-default: --resume needs an earlier run's ${out} and ${work.dir}`);
    for (const stage of stages) line(`${stage}: resuming from ${path.join(work.checkpoints, stage)}`);
  } else await rm(work.checkpoints, { recursive: true, force: true });
  if (continuing) {
    await cp(out, partial, { recursive: true });
    line(`continuing from ${out} and ${path.join(work.dir, 'parts')}`);
  } else {
    await rm(path.join(work.dir, 'parts'), { recursive: true, force: true });
    await writeInitialWeights(weights, work, { seed: options.seed, tokenizers });
    line(`tokenizers: MLLM ${tokenizers.mllm.vocabSize} ids, CLIP ${tokenizers.clip.vocabSize} ids; initial weights written`);
  }

  const lanes = options.lanes ?? Math.min(2, os.availableParallelism());
  if (!(Number.isInteger(lanes) && lanes >= 1)) throw new PipelineError('DEFAULT_BAD_OPTION', `train-default: lanes must be a whole number ≥ 1, got ${lanes}`);
  if (lanes > 1) line(`${lanes} stages at a time where they do not depend on each other, each in a process of its own`);
  let shared: Executor | undefined;
  // One lane: one executor in this process; each stage loads its models afresh from the files the last one saved.
  const executor = async () => {
    shared ??= new Executor(await Registry.load({ env: false }), { baseDir: options.baseDir, log: () => {} });
    shared.clearCache();
    return shared;
  };
  const jobs = stages.map((stage) => ({ stage, weightsDir: weights.dir, workDir: work.dir, settings: { ...STAGE_SETTINGS[stage], ...options.settings?.[stage], ...(options.resume ? { resume: true } : {}) }, baseDir: options.baseDir }));
  const records = await runLanes(jobs, lanes, lanes === 1 ? inThisProcess(executor) : inProcessOfItsOwn, {
    onStart: (job) => line(`${job.stage}: ${STAGE_TITLES[job.stage]} — ${job.settings.steps} steps, batch ${job.settings.batch}`),
    onProgress: options.onProgress,
    onDone: (record) => {
      const loss = record.firstLoss !== undefined ? `, loss ${record.firstLoss.toFixed(3)} → ${record.lastLoss!.toFixed(3)}` : '';
      const rate = record.stepsPerSecond ? `, steady ${(1 / record.stepsPerSecond).toFixed(3)} s/step` : '';
      line(`  ${record.stage} done in ${record.seconds.toFixed(1)} s (${record.secondsPerStep.toFixed(3)} s/step${rate}${loss})`);
    },
  });
  // A continued run keeps the records of the stages it did not re-run, in pipeline order.
  const earlier = continuing && existsSync(weights.record) ? ((JSON.parse(await readFile(weights.record, 'utf8')) as TrainingRecord).stages ?? []) : [];
  const merged = STAGES.map((s) => records.find((r) => r.stage === s) ?? earlier.find((r) => r.stage === s)).filter((r): r is StageRecord => r !== undefined);
  const record: TrainingRecord = {
    started: started.toISOString(),
    // This run's wall time, plus the recorded time of earlier stages a continued run did not re-run.
    seconds: (performance.now() - t0) / 1000 + merged.filter((r) => !stages.includes(r.stage)).reduce((n, r) => n + r.seconds, 0),
    lanes,
    scenes: options.scenes,
    seed: options.seed,
    imageSize: DEFAULT_IMAGE_SIZE,
    data,
    stages: merged,
  };
  await writeFile(weights.record, JSON.stringify(record, null, 2) + '\n');
  await rm(out, { recursive: true, force: true });
  await rename(partial, out);
  return { record, weights: weightsLayout(out), work };
}

/** Step counts and batches for CI: every stage runs, a couple of steps each. */
export function quickSettings(steps = 2, batch = 2): Partial<Record<StageName, Partial<StageSettings>>> {
  return Object.fromEntries(STAGES.map((s) => [s, { steps, batch, warmup: 0 }]));
}
