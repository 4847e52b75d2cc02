// The train-default pipeline: world data (held-out triples removed) → tokenizers → random initial weights → the six
// stage workflows run in order by the engine's Executor → a training record.
// SaveCheckpoint stores each part's config beside its weights, so every stage loads its inputs with 'from-file'.
// Everything is written into `<out>.partial` and renamed to `<out>` at the end, so a killed run never leaves a
// half-trained model where the generation workflows look for one.

import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Executor, parseWorkflow, Registry, formatIssue, type EngineEvent } from '../../engine/index.ts';
import { writeWorldData } from '../world/write.ts';
import { DEFAULT_IMAGE_SIZE } from './config.ts';
import { writeInitialWeights } from './init.ts';
import { weightsLayout, workLayout, type WeightsLayout, type WorkLayout } from './layout.ts';
import { removeHeldOut, type SplitCounts } from './split-data.ts';
import { addColourFreeRows } from './colour-free.ts';
import { defaultTokenizers } from './vocabulary.ts';
import { STAGES, STAGE_SETTINGS, STAGE_TITLES, stageWorkflow, type StageName, type StageSettings } from './workflows.ts';

export class PipelineError extends Error {
  constructor(
    readonly code: 'DEFAULT_STAGE_FAILED' | 'DEFAULT_BAD_OPTION',
    message: string,
  ) {
    super(message);
  }
}

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
  /** Live progress of the current stage (for a progress bar). */
  onProgress?: (stage: StageName, step: number, steps: number, metrics: Record<string, number>) => void;
}

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

export interface TrainingRecord {
  started: string;
  seconds: number;
  scenes: number;
  seed: number;
  imageSize: number;
  data: SplitCounts[];
  stages: StageRecord[];
}

function mean(xs: number[]): number | undefined {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined;
}

async function runStage(
  executor: Executor,
  stage: StageName,
  weights: WeightsLayout,
  work: WorkLayout,
  settings: StageSettings,
  options: PipelineOptions,
): Promise<StageRecord> {
  const doc = stageWorkflow(stage, { weights, work }, settings);
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
      options.onProgress?.(stage, e.value, e.max, e.metrics);
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
  line(`world data: ${options.scenes} scenes (seed ${options.seed}) → ${work.world}`);
  const files = await writeWorldData(work.world, { count: options.scenes, seed: options.seed, size: DEFAULT_IMAGE_SIZE });
  const data = await removeHeldOut(files);
  for (const c of data) line(`  ${path.basename(c.file)}: ${c.kept} rows (${c.dropped} held out)`);
  const added = await addColourFreeRows(files.compositional);
  line(`  compositional.jsonl: +${added} colour-free copies (the subject's colour comes from its image)`);

  const tokenizers = defaultTokenizers();
  // A subset of the stages continues from the last complete model (e.g. re-running stage 3 alone); all of them
  // start from random weights.
  const continuing = stages.length < STAGES.length && existsSync(out) && existsSync(work.aligner);
  await rm(work.checkpoints, { recursive: true, force: true });
  if (continuing) {
    await cp(out, partial, { recursive: true });
    line(`continuing from ${out} and ${path.join(work.dir, 'parts')}`);
  } else {
    await rm(path.join(work.dir, 'parts'), { recursive: true, force: true });
    await writeInitialWeights(weights, work, { seed: options.seed, tokenizers });
    line(`tokenizers: MLLM ${tokenizers.mllm.vocabSize} ids, CLIP ${tokenizers.clip.vocabSize} ids; initial weights written`);
  }

  const executor = new Executor(await Registry.load({ env: false }), { baseDir: options.baseDir, log: () => {} });
  const records: StageRecord[] = [];
  for (const stage of stages) {
    const settings = { ...STAGE_SETTINGS[stage], ...options.settings?.[stage] };
    line(`${stage}: ${STAGE_TITLES[stage]} — ${settings.steps} steps, batch ${settings.batch}`);
    const record = await runStage(executor, stage, weights, work, settings, options);
    const loss = record.firstLoss !== undefined ? `, loss ${record.firstLoss.toFixed(3)} → ${record.lastLoss!.toFixed(3)}` : '';
    const rate = record.stepsPerSecond ? `, steady ${(1 / record.stepsPerSecond).toFixed(3)} s/step` : '';
    line(`  done in ${record.seconds.toFixed(1)} s (${record.secondsPerStep.toFixed(3)} s/step${rate}${loss})`);
    records.push(record);
    // Each stage loads its models afresh from the files the previous one saved.
    executor.clearCache();
  }
  // A continued run keeps the records of the stages it did not re-run, in pipeline order.
  const earlier = continuing && existsSync(weights.record) ? ((JSON.parse(await readFile(weights.record, 'utf8')) as TrainingRecord).stages ?? []) : [];
  const merged = STAGES.map((s) => records.find((r) => r.stage === s) ?? earlier.find((r) => r.stage === s)).filter((r): r is StageRecord => r !== undefined);
  const record: TrainingRecord = {
    started: started.toISOString(),
    seconds: merged.reduce((n, r) => n + r.seconds, 0) + (performance.now() - t0) / 1000 - records.reduce((n, r) => n + r.seconds, 0),
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
