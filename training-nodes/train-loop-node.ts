// TrainLoop: the output node that trains. Each step it re-runs the graph region between NextBatch and the loss
// (`recompute`), takes gradients of the loss w.r.t. the trainable parameters of the models wired into it, and
// updates them with AdamW. Models not wired in are frozen; so are parameters a model marks untrainable (and
// those outside `train_only` when it is set). It streams loss, lr, grad norm and steps/s as progress metrics,
// checkpoints atomically, resumes, and stops on a NaN/inf loss keeping the last good checkpoint. The step runs on
// the `backend` widget's backend: ONNX Runtime by default (forward + backward traced into one graph), or tfjs.
// Optimiser state and checkpoints live on the host, so a run resumed on the other backend continues where it was.
import path from 'node:path';
import { defineNode } from '../engine/node-def.ts';
import { mixSeed } from '../models/data/batching.ts';
import type { Parameter } from '../models/nn/module.ts';
import { train, type TrainConfig } from '../models/training/loop.ts';
import { CheckpointStore, restoreCheckpoint } from '../models/training/checkpoint.ts';
import { DECAY_KINDS, type DecayKind } from '../models/training/schedule.ts';
import type { TrainedModel } from '../models/training/trained-models.ts';
import { anyModule } from './inputs.ts';
import { TRAINING_BACKENDS, trainingBackend, type TrainingBackend, type TrainingBackendName } from '../models/training/backends.ts';
import type { LossValue } from './types.ts';

/**
 * The evaluation loss: the mean over `batches` fixed micro-batches (the data of micro-steps 0…batches−1, with
 * randomness — t, ε, dropped captions, the mixed data set — from `seed`, not the training seeds), with no
 * gradient. The same data and noise every time, so successive values show what training did, not sampling noise.
 */
async function evaluationLoss(
  backend: TrainingBackend,
  params: readonly Parameter[],
  loss: (s: { step: number; seed: number }) => Promise<LossValue>,
  seed: number,
  batches: number,
): Promise<number> {
  let total = 0;
  for (let i = 0; i < batches; i++) {
    const value = await loss({ step: i, seed: mixSeed(mixSeed(seed, 0xe7a1), i) });
    total += await backend.evaluate(params, value.compute);
  }
  return total / batches;
}

/** Reference checkpoint key prefixes of each model socket (spec §1.11; diffusers/transformers files have none). */
export const CHECKPOINT_PREFIXES = {
  mllm: 'gpt_model.decoder.',
  aligner: 'aligner.',
  connector: 'img_connector.',
  clip_vision: 'img_model.',
  clip_text: '',
  unet: '',
  vae: '',
  clip_heads: '',
} as const;
type ModelSocket = keyof typeof CHECKPOINT_PREFIXES;
const MODEL_SOCKETS = Object.keys(CHECKPOINT_PREFIXES) as ModelSocket[];
const SOCKET_TYPE: Record<ModelSocket, string> = {
  mllm: 'MLLM', aligner: 'ALIGNER', connector: 'CONNECTOR', clip_vision: 'CLIP_VISION', clip_text: 'CLIP_TEXT', unet: 'UNET', vae: 'VAE', clip_heads: 'CLIP_HEADS',
};

/** The wired models, with checkpoint prefixes. */
export function wiredModels(args: Record<string, unknown>): TrainedModel[] {
  const out: TrainedModel[] = [];
  for (const socket of MODEL_SOCKETS) {
    const module = anyModule(args[socket]);
    if (module) out.push({ name: socket, module, prefix: CHECKPOINT_PREFIXES[socket] });
  }
  return out;
}

/**
 * `train_only`: comma-separated checkpoint-key prefixes; every other parameter of the wired models is frozen for
 * this run. Returns a function that restores the flags, so a cached model value is not left half-frozen.
 */
function applyTrainOnly(models: TrainedModel[], trainOnly: string): () => void {
  const prefixes = trainOnly.split(',').map((s) => s.trim()).filter(Boolean);
  const saved = models.flatMap((m) => m.module.parameters().map((p) => [p, p.trainable] as const));
  if (prefixes.length) {
    for (const m of models) {
      for (const [key, p] of m.module.namedParameters()) p.trainable = p.trainable && prefixes.some((x) => (m.prefix + key).startsWith(x));
    }
  }
  return () => saved.forEach(([p, t]) => (p.trainable = t));
}

const modelInputs = Object.fromEntries(
  MODEL_SOCKETS.map((s) => [s, { type: SOCKET_TYPE[s], optional: true, mutates: true, description: `train this ${SOCKET_TYPE[s]} (leave unwired to freeze it)` }]),
) as { [K in ModelSocket]: { type: string; optional: true; mutates: true; description: string } };

export const TrainLoop = defineNode({
  type: 'TrainLoop',
  category: 'training',
  description:
    'Train the wired models on the loss: AdamW, warmup + decay, clipping by global norm, gradient accumulation, atomic checkpoints with resume. Unwired models stay frozen.',
  inputs: { loss: { type: 'LOSS', recompute: true }, ...modelInputs },
  widgets: {
    steps: { kind: 'INT', default: 100, min: 1, max: 10_000_000 },
    lr: { kind: 'FLOAT', default: 1e-3, min: 0, max: 10, step: 1e-5 },
    beta1: { kind: 'FLOAT', default: 0.9, min: 0, max: 0.9999 },
    beta2: { kind: 'FLOAT', default: 0.98, min: 0, max: 0.99999 },
    eps: { kind: 'FLOAT', default: 1e-6, min: 1e-12, max: 1 },
    weight_decay: { kind: 'FLOAT', default: 0.01, min: 0, max: 1 },
    warmup: { kind: 'INT', default: 0, min: 0, max: 10_000_000 },
    decay: { kind: 'ENUM', options: DECAY_KINDS, default: 'polynomial' },
    power: { kind: 'FLOAT', default: 1, min: 0, max: 10, description: 'polynomial decay exponent (1 = linear)' },
    clip: { kind: 'FLOAT', default: 2, min: 0, max: 1000, description: 'max global gradient norm (0: off)' },
    accumulate: { kind: 'INT', default: 1, min: 1, max: 1024, description: 'micro-batches per update' },
    seed: { kind: 'SEED', default: 0 },
    train_only: { kind: 'STRING', default: '', description: 'comma-separated checkpoint-key prefixes to train (empty: all of the wired models)' },
    checkpoint_every: { kind: 'INT', default: 0, min: 0, max: 10_000_000, description: '0: only at the end' },
    checkpoint: { kind: 'PATH', default: '', mode: 'write', description: 'checkpoint folder (empty: the job output folder)' },
    checkpoint_keep: { kind: 'INT', default: 2, min: 0, max: 1_000_000, description: 'how many of the newest checkpoints to keep (0: all, e.g. for a learning curve)' },
    ema_decay: {
      kind: 'FLOAT', default: 0, min: 0, max: 0.99999, step: 1e-4,
      description: 'keep a moving average of the trained weights with this decay (e.g. 0.999; 0: off); the models hold the average after training, checkpoints keep both',
    },
    eval_every: {
      kind: 'INT', default: 0, min: 0, max: 10_000_000,
      description: 'measure eval_loss (fixed batches, fixed noise, no gradient) before step 1, every N steps and at the end (0: off)',
    },
    eval_seed: { kind: 'SEED', default: 0, description: 'seed of the evaluation batches\' randomness (t, ε, dropouts)' },
    eval_batches: { kind: 'INT', default: 1, min: 1, max: 1024, description: 'micro-batches averaged per evaluation' },
    resume: { kind: 'BOOLEAN', default: false, description: 'continue from the last checkpoint in the folder' },
    backend: {
      kind: 'ENUM',
      options: TRAINING_BACKENDS,
      default: 'onnx',
      description:
        "where each step runs: 'onnx' (ONNX Runtime, forward + backward as one graph on all cores; KOSMOS_G_ORT_EP picks its provider), 'onnx-cuda' / 'onnx-webgpu' (ONNX Runtime on a GPU), 'tfjs' (eager reference)",
    },
  },
  outputs: { checkpoint: { type: 'CHECKPOINT' } },
  output: true,
  cacheable: false,
  execute: async (a, ctx) => {
    // ONNX Runtime loads when a run needs it, not when the pack is listed.
    const { requestedProvider } = await import('../models/backends/onnx/session.ts');
    const backend = await trainingBackend(a.backend as TrainingBackendName, requestedProvider());
    const models = wiredModels(a as unknown as Record<string, unknown>);
    const restoreTrainable = applyTrainOnly(models, a.train_only);
    try {
      const config: TrainConfig = {
        steps: a.steps,
        accumulate: a.accumulate,
        clip: a.clip,
        seed: a.seed,
        checkpointEvery: a.checkpoint_every,
        evalEvery: a.eval_every,
        emaDecay: a.ema_decay,
        optimizer: { betas: [a.beta1, a.beta2], eps: a.eps, weightDecay: a.weight_decay },
        schedule: { lr: a.lr, warmup: a.warmup, decay: a.decay as DecayKind, power: a.power },
      };
      const dir = a.checkpoint ? path.resolve(a.checkpoint) : path.join(await ctx.outputDir(), 'checkpoints');
      const store = new CheckpointStore(dir, models, a.accumulate, a.checkpoint_keep);
      let resume;
      if (a.resume) {
        const last = await CheckpointStore.latest(dir);
        if (last) {
          resume = restoreCheckpoint(last, models, config);
          ctx.log.info(`resuming from ${last.dir} (step ${resume.step})`);
        } else ctx.log.info(`no checkpoint in ${dir}: starting from step 0`);
      }
      const result = await train<LossValue>({
        models,
        config,
        resume,
        checkpoint: store,
        signal: ctx.signal,
        loss: (s) => a.loss({ step: s.step, seed: s.seed }),
        gradients: (params: readonly Parameter[], loss: LossValue) => backend.gradients(params, loss.compute),
        evaluate: () => evaluationLoss(backend, models.flatMap((m) => m.module.parameters()), a.loss, a.eval_seed, a.eval_batches),
        onEval: (e) => ctx.progress({ value: e.step, max: a.steps, metrics: { eval_loss: e.loss } }),
        onStep: (m) =>
          ctx.progress({
            value: m.step + 1,
            max: m.steps,
            metrics: {
              loss: m.loss, lr: m.lr, grad_norm: m.gradNorm, steps_per_s: m.stepsPerSecond,
              ...(m.evalLoss !== undefined ? { eval_loss: m.evalLoss } : {}),
            },
          }),
      });
      const at = result.lastCheckpoint ?? dir;
      ctx.addOutputFile({ path: path.join(at, 'model.safetensors'), kind: 'checkpoint', mime: 'application/octet-stream' });
      return { checkpoint: { dir: at, step: result.state.step, losses: result.state.losses, evals: result.evals } };
    } finally {
      restoreTrainable();
    }
  },
});


