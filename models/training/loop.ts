// The training loop driver: for each optimisation step, run `accumulate` micro-batches of the loss under autograd,
// average their gradients, clip by global norm, and take an AdamW step at the scheduled learning rate. Only the
// trainable parameters of the trained models get gradients and optimiser state; frozen ones are never touched.
// Every bit of randomness a step uses comes from `stepSeed(seed, micro-step)`, and the data cursor is the step
// itself, so a run resumed from a checkpoint repeats exactly the losses of an uninterrupted one.
import type { Parameter } from '../nn/module.ts';
import { mixSeed } from '../data/batching.ts';
import { ModelOptimizers, type AdamWConfig } from './optimizers.ts';
import { accumulateGrads, clipGradNorm, scaleGrads } from './gradients.ts';
import { checkSchedule, learningRate, type LrSchedule } from './schedule.ts';
import { TrainError } from './errors.ts';
import { checkpointParameters, type TrainedModel } from './trained-models.ts';
import { WeightAverage } from './ema.ts';

/** What the loss provider is told: which micro-step to compute, and its seed. */
export interface LossStep {
  /** Micro-batch index (optimisation step × accumulate + micro): the data cursor. */
  step: number;
  seed: number;
  /** The optimisation step this micro-batch belongs to. */
  update: number;
}

/**
 * Gradients of the loss function's scalar w.r.t. the given (trainable) parameters, on the host. The backends supply
 * it (ONNX Runtime: models/backends/onnx `OnnxTrainer.gradients`; tfjs: `parameterGrads`); tests may supply any other.
 */
export type GradientFn<L> = (
  params: readonly Parameter[],
  lossFn: L,
) => { loss: number; grads: Map<Parameter, Float32Array> } | Promise<{ loss: number; grads: Map<Parameter, Float32Array> }>;

export interface TrainConfig {
  steps: number;
  /** Micro-batches per optimisation step (≥ 1). */
  accumulate: number;
  /** Max global gradient norm; ≤ 0 disables clipping. */
  clip: number;
  optimizer: AdamWConfig;
  schedule: Omit<LrSchedule, 'totalSteps'>;
  seed: number;
  /** Save every N steps (0: only at the end); needs `checkpoint`. */
  checkpointEvery: number;
  /**
   * Measure the loss on fixed data with fixed noise (`TrainOptions.evaluate`) before the first step, after every
   * N steps and after the last (0 or absent: never). The training loss of a step is one noisy sample; this one
   * is comparable from step to step.
   */
  evalEvery?: number;
  /**
   * Keep an exponential moving average of the trained weights with this decay (0 or absent: none); the models hold
   * the average when training ends (models/training/ema.ts).
   */
  emaDecay?: number;
}

export interface StepMetrics {
  step: number;
  steps: number;
  loss: number;
  lr: number;
  gradNorm: number;
  stepsPerSecond: number;
  /** The evaluation loss after this step, when one was due (`evalEvery`). */
  evalLoss?: number;
}

/** One evaluation: the loss on the fixed evaluation data after `step` optimisation steps. */
export interface EvalPoint {
  step: number;
  loss: number;
}

/** Everything a resumed run needs (weights are the parameters themselves). */
export interface TrainState {
  /** Optimisation steps completed. */
  step: number;
  seed: number;
  optimizer: ModelOptimizers;
  /** Loss of every completed step, in order. */
  losses: number[];
  /** The moving average of the weights, when `emaDecay` asks for one. */
  ema?: WeightAverage;
}

export interface CheckpointSink {
  save(state: TrainState, params: Map<string, Parameter>): Promise<string>;
}

export interface TrainOptions<L> {
  models: readonly TrainedModel[];
  /** Computes the loss closure for a micro-step (the graph region between the batch and the loss, re-run). */
  loss: (s: LossStep) => Promise<L> | L;
  gradients: GradientFn<L>;
  config: TrainConfig;
  /** A state restored from a checkpoint: training continues at `resume.step`. */
  resume?: TrainState;
  checkpoint?: CheckpointSink;
  signal?: AbortSignal;
  onStep?: (m: StepMetrics) => void;
  /** The loss on fixed evaluation data, without gradients or updates; called when `config.evalEvery` is due. */
  evaluate?: (step: number) => Promise<number> | number;
  /** Told of the evaluation before the first step (later ones come with `onStep`'s `evalLoss`). */
  onEval?: (e: EvalPoint) => void;
}

export interface TrainResult {
  state: TrainState;
  /** Losses of the steps this call ran. */
  losses: number[];
  lastCheckpoint?: string;
  /** The evaluations this call ran, in order (empty without `evalEvery` and `evaluate`). */
  evals: EvalPoint[];
}

/** The seed of a micro-step's randomness (noise, timesteps, dropout choices). */
export function stepSeed(seed: number, microStep: number): number {
  return mixSeed(seed, microStep);
}

function checkConfig(c: TrainConfig): void {
  if (!Number.isInteger(c.steps) || c.steps < 1) throw new TrainError('TRAIN_CONFIG', `steps must be a positive integer, got ${c.steps}`);
  if (!Number.isInteger(c.accumulate) || c.accumulate < 1) {
    throw new TrainError('TRAIN_CONFIG', `accumulate must be a positive integer, got ${c.accumulate}`);
  }
  if (c.emaDecay !== undefined && c.emaDecay !== 0 && !(c.emaDecay > 0 && c.emaDecay < 1)) {
    throw new TrainError('TRAIN_CONFIG', `emaDecay must be 0 (off) or in (0, 1), got ${c.emaDecay}`);
  }
  if (c.evalEvery !== undefined && (!Number.isInteger(c.evalEvery) || c.evalEvery < 0)) {
    throw new TrainError('TRAIN_CONFIG', `evalEvery must be a non-negative integer, got ${c.evalEvery}`);
  }
  checkSchedule({ ...c.schedule, totalSteps: c.steps });
}

async function evaluateAt(o: TrainOptions<unknown>, step: number): Promise<EvalPoint> {
  const loss = await o.evaluate!(step);
  if (!Number.isFinite(loss)) throw new TrainError('TRAIN_NONFINITE', `evaluation after step ${step}: loss is ${loss}`);
  return { step, loss };
}

export async function train<L>(o: TrainOptions<L>): Promise<TrainResult> {
  const c = o.config;
  checkConfig(c);
  const keyed = checkpointParameters(o.models);
  const trainable = [...keyed.values()].filter((p) => p.trainable);
  if (!trainable.length) {
    throw new TrainError('TRAIN_NO_PARAMETERS', `none of ${o.models.map((m) => m.name).join(', ') || 'the models'} has trainable parameters`);
  }
  const state: TrainState = o.resume ?? { step: 0, seed: c.seed, optimizer: new ModelOptimizers(o.models, c.optimizer), losses: [] };
  if (c.emaDecay && !state.ema) state.ema = new WeightAverage(keyed, c.emaDecay, state.step);
  if (o.resume && o.resume.seed !== c.seed) {
    throw new TrainError('CHECKPOINT_MISMATCH', `the checkpoint was trained with seed ${o.resume.seed}, this run asks for ${c.seed}`);
  }
  const schedule: LrSchedule = { ...c.schedule, totalSteps: c.steps };
  const ran: number[] = [];
  let lastCheckpoint: string | undefined;
  const evalEvery = o.evaluate ? (c.evalEvery ?? 0) : 0;
  const evals: EvalPoint[] = [];
  if (evalEvery > 0 && state.step < c.steps) {
    evals.push(await evaluateAt(o as TrainOptions<unknown>, state.step));
    o.onEval?.(evals[0]!);
  }
  const started = performance.now();
  for (let step = state.step; step < c.steps; step++) {
    if (o.signal?.aborted) throw new TrainError('CANCELLED', `training cancelled before step ${step}`);
    const grads = new Map<Parameter, Float32Array>();
    let loss = 0;
    for (let micro = 0; micro < c.accumulate; micro++) {
      const cursor = step * c.accumulate + micro;
      const fn = await o.loss({ step: cursor, seed: stepSeed(c.seed, cursor), update: step });
      const r = await o.gradients(trainable, fn);
      if (!Number.isFinite(r.loss)) {
        throw new TrainError(
          'TRAIN_NONFINITE',
          `step ${step}${c.accumulate > 1 ? ` (micro-batch ${micro})` : ''}: loss is ${r.loss}; training stopped` +
            (lastCheckpoint ? `, last good checkpoint ${lastCheckpoint}` : ', no checkpoint was written by this run'),
        );
      }
      loss += r.loss / c.accumulate;
      accumulateGrads(grads, r.grads);
    }
    scaleGrads(grads, 1 / c.accumulate);
    const gradNorm = clipGradNorm(grads, c.clip);
    if (!Number.isFinite(gradNorm)) {
      throw new TrainError('TRAIN_NONFINITE', `step ${step}: gradient norm is ${gradNorm}; training stopped before updating` +
        (lastCheckpoint ? `, last good checkpoint ${lastCheckpoint}` : ''));
    }
    const lr = learningRate(schedule, step);
    state.optimizer.update(grads, lr);
    state.ema?.update();
    state.step = step + 1;
    state.losses.push(loss);
    ran.push(loss);
    const stepsPerSecond = ran.length / ((performance.now() - started) / 1000);
    let evalLoss: number | undefined;
    if (evalEvery > 0 && (state.step % evalEvery === 0 || state.step === c.steps)) {
      const e = await evaluateAt(o as TrainOptions<unknown>, state.step);
      evals.push(e);
      evalLoss = e.loss;
    }
    o.onStep?.({ step, steps: c.steps, loss, lr, gradNorm, stepsPerSecond, ...(evalLoss !== undefined ? { evalLoss } : {}) });
    const due = c.checkpointEvery > 0 && state.step % c.checkpointEvery === 0;
    if (o.checkpoint && (due || state.step === c.steps)) lastCheckpoint = await o.checkpoint.save(state, keyed);
  }
  // The checkpoints keep the raw weights (a resumed run continues from them) and the average beside them.
  if (state.ema && state.step === c.steps) state.ema.applyToParameters();
  return { state, losses: ran, lastCheckpoint, evals };
}
