// Training checkpoints (safetensors through models/io/safetensors.ts). A checkpoint folder holds one sub-folder per saved step:
//   <dir>/step-00000012/model.safetensors      every weight of the trained models under its reference key
//   <dir>/step-00000012/optimizer.safetensors  AdamW moments `m.<key>`, `v.<key>` (trainable parameters only)
//   <dir>/step-00000012/ema.safetensors        the moving average of the trained weights, when the run keeps one
//   <dir>/step-00000012/state.json             step, seed, losses so far, RNG scheme and data cursor
//   <dir>/latest.json                          which step folder is the last complete one
// A step folder is written under a temporary name and renamed into place, then latest.json is replaced
// atomically, so a run killed at any moment leaves the previous checkpoint intact and readable.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { loadSafetensors, readSafetensorsHeader, saveSafetensors } from '../io/safetensors.ts';
import path from 'node:path';
import type { Parameter } from '../nn/module.ts';
import type { HostTensor } from '../ops/ops.ts';
import { writeFileAtomicSync } from '../io/atomic.ts';
import { TrainError } from './errors.ts';
import type { CheckpointSink, TrainConfig, TrainState } from './loop.ts';
import { ModelOptimizers, type SavedOptimizer } from './optimizers.ts';
import { checkpointParameters, type TrainedModel } from './trained-models.ts';
import { WeightAverage } from './ema.ts';

export const STATE_FORMAT = 'kosmos-g-train-state';

export interface StateFile {
  format: typeof STATE_FORMAT;
  version: 1;
  step: number;
  seed: number;
  losses: number[];
  /** Randomness is a pure function of (seed, micro-step): saving both is saving the RNG state. */
  rng: { scheme: 'mixSeed(seed, microStep)'; seed: number; nextMicroStep: number };
  /** Batches are a pure function of (dataset, batch size, micro-step, seed): the cursor is the micro-step. */
  dataCursor: { microStep: number; accumulate: number };
  models: { name: string; prefix: string }[];
}

export interface LoadedCheckpoint {
  dir: string;
  state: StateFile;
  weights: Map<string, HostTensor>;
  optimizer: SavedOptimizer;
  /** The saved moving average of the weights and how many updates it holds (absent: the run kept none). */
  ema?: { weights: Map<string, Float32Array>; updates: number };
}

function stepDirName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

export class CheckpointStore implements CheckpointSink {
  constructor(
    readonly dir: string,
    readonly models: readonly TrainedModel[],
    readonly accumulate = 1,
    /** How many step folders to keep (older ones are removed after a successful save); 0 keeps them all. */
    readonly keep = 2,
  ) {}

  async save(state: TrainState, params: Map<string, Parameter>): Promise<string> {
    mkdirSync(this.dir, { recursive: true });
    const final = path.join(this.dir, stepDirName(state.step));
    const tmp = path.join(this.dir, `.tmp-${stepDirName(state.step)}-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp);
    const weights = new Map<string, HostTensor>();
    for (const [key, p] of params) weights.set(key, { data: p.data, shape: [...p.shape], dtype: 'float32' });
    const meta = { format: 'kosmos-g-checkpoint', step: String(state.step) };
    await saveSafetensors(path.join(tmp, 'model.safetensors'), weights, meta);
    const opt = state.optimizer.state();
    const moments = new Map<string, HostTensor>();
    for (const [k, a] of opt.m) moments.set(`m.${k}`, { data: a, shape: [a.length], dtype: 'float32' });
    for (const [k, a] of opt.v) moments.set(`v.${k}`, { data: a, shape: [a.length], dtype: 'float32' });
    await saveSafetensors(path.join(tmp, 'optimizer.safetensors'), moments, { step: String(opt.step) });
    if (state.ema) {
      const averages = new Map<string, HostTensor>();
      for (const [k, a] of state.ema.state()) averages.set(k, { data: a, shape: [...params.get(k)!.shape], dtype: 'float32' });
      await saveSafetensors(path.join(tmp, 'ema.safetensors'), averages, { updates: String(state.ema.updates), decay: String(state.ema.decay) });
    }
    const file: StateFile = {
      format: STATE_FORMAT,
      version: 1,
      step: state.step,
      seed: state.seed,
      losses: state.losses,
      rng: { scheme: 'mixSeed(seed, microStep)', seed: state.seed, nextMicroStep: state.step * this.accumulate },
      dataCursor: { microStep: state.step * this.accumulate, accumulate: this.accumulate },
      models: this.models.map((m) => ({ name: m.name, prefix: m.prefix })),
    };
    writeFileSync(path.join(tmp, 'state.json'), JSON.stringify(file, null, 1));
    // A folder of the same step (an earlier run into this folder) is moved aside rather than deleted first, so the
    // step's folder is missing only between two renames, never for the time a deletion takes.
    const aside = existsSync(final) ? path.join(this.dir, `.old-${stepDirName(state.step)}-${process.pid}`) : undefined;
    if (aside !== undefined) {
      rmSync(aside, { recursive: true, force: true });
      renameSync(final, aside);
    }
    renameSync(tmp, final);
    writeFileAtomicSync(path.join(this.dir, 'latest.json'), JSON.stringify({ step: state.step, dir: path.basename(final) }));
    if (aside !== undefined) rmSync(aside, { recursive: true, force: true });
    this.prune(state.step);
    return final;
  }

  /**
   * Keep the `keep` newest step folders of this run. Folders of later steps belong to an earlier, longer run into
   * the same folder that this run has replaced (latest.json no longer names them): they go too, else they would
   * outlive this run's own checkpoints.
   */
  private prune(current: number): void {
    const steps = readdirSync(this.dir)
      .filter((n) => /^step-\d{8}$/.test(n))
      .map((n) => Number(n.slice(5)))
      .sort((a, b) => a - b);
    if (this.keep === 0) return;
    const kept = steps.filter((s) => s <= current).slice(-Math.max(1, this.keep));
    for (const s of steps) if (!kept.includes(s)) rmSync(path.join(this.dir, stepDirName(s)), { recursive: true, force: true });
  }

  /** The last complete checkpoint in `dir`, or undefined when there is none. */
  static async latest(dir: string): Promise<LoadedCheckpoint | undefined> {
    const pointer = path.join(dir, 'latest.json');
    if (!existsSync(pointer)) return undefined;
    let name: string;
    try {
      name = (JSON.parse(readFileSync(pointer, 'utf8')) as { dir: string }).dir;
    } catch {
      throw new TrainError('CHECKPOINT_FORMAT', `${pointer}: unreadable`);
    }
    return loadCheckpoint(path.join(dir, name));
  }
}

export async function loadCheckpoint(stepDir: string): Promise<LoadedCheckpoint> {
  const stateFile = path.join(stepDir, 'state.json');
  if (!existsSync(stateFile)) throw new TrainError('CHECKPOINT_NOT_FOUND', `${stepDir}: no state.json (not a training checkpoint)`);
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as StateFile;
  if (state.format !== STATE_FORMAT) throw new TrainError('CHECKPOINT_FORMAT', `${stateFile}: format '${state.format}' is not ${STATE_FORMAT}`);
  const wfile = path.join(stepDir, 'model.safetensors');
  const ofile = path.join(stepDir, 'optimizer.safetensors');
  const weights = await loadSafetensors(wfile);
  const opt = await openCheckpointOptimizer(ofile);
  const optimizer: SavedOptimizer = { step: Number(opt.metadata.step ?? state.step), m: new Map(), v: new Map() };
  for (const [k, t] of opt.tensors) {
    if (k.startsWith('m.')) optimizer.m.set(k.slice(2), t.data as Float32Array);
    else if (k.startsWith('v.')) optimizer.v.set(k.slice(2), t.data as Float32Array);
  }
  const efile = path.join(stepDir, 'ema.safetensors');
  let ema: LoadedCheckpoint['ema'];
  if (existsSync(efile)) {
    const header = await readSafetensorsHeader(efile);
    const weights = new Map<string, Float32Array>();
    for (const [k, t] of await loadSafetensors(efile)) weights.set(k, t.data as Float32Array);
    ema = { weights, updates: Number(header.metadata.updates ?? state.step) };
  }
  return { dir: stepDir, state, weights, optimizer, ...(ema ? { ema } : {}) };
}

/**
 * Put a checkpoint back: weights into the models' parameters (every key must match in name and shape), moments
 * into fresh optimisers, and the step, seed and losses into a TrainState that `train` continues from.
 */
export function restoreCheckpoint(ck: LoadedCheckpoint, models: readonly TrainedModel[], config: TrainConfig): TrainState {
  const params = checkpointParameters(models);
  const problems: string[] = [];
  for (const [key, p] of params) {
    const t = ck.weights.get(key);
    if (!t) problems.push(`missing ${key}`);
    else if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      problems.push(`${key} is [${t.shape}] in the checkpoint, [${p.shape}] in the model`);
    }
  }
  if (problems.length) {
    throw new TrainError('CHECKPOINT_MISMATCH', `${ck.dir}: weights do not match the models (${problems.slice(0, 10).join('; ')})`);
  }
  for (const [key, p] of params) p.set(Float32Array.from(ck.weights.get(key)!.data));
  const optimizer = new ModelOptimizers(models, config.optimizer);
  optimizer.loadState(ck.optimizer);
  let ema: WeightAverage | undefined;
  if (config.emaDecay) {
    // A checkpoint written without an average starts one from its weights, as if the average had begun there.
    ema = new WeightAverage(params, config.emaDecay, ck.state.step);
    if (ck.ema) ema.load(ck.ema.weights, ck.ema.updates);
  }
  return { step: ck.state.step, seed: ck.state.seed, optimizer, losses: [...ck.state.losses], ...(ema ? { ema } : {}) };
}

/** The optimiser file's tensors and metadata (the step count lives in the metadata). */
async function openCheckpointOptimizer(file: string): Promise<{ tensors: Map<string, HostTensor>; metadata: Record<string, string> }> {
  const header = await readSafetensorsHeader(file);
  return { tensors: await loadSafetensors(file), metadata: header.metadata };
}
