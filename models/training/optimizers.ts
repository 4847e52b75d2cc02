// One AdamW (models/optim/adamw.ts) per trained model. AdamW keys its moments by each parameter's key inside its
// own module, and two trained models can both have a `layers.0.fc1.weight`; keeping one optimiser per model and
// naming the saved moments by checkpoint key (model prefix + key) keeps them apart.
import { AdamW, type AdamWState } from '../optim/adamw.ts';
import type { Parameter } from '../nn/module.ts';
import { TrainError } from './errors.ts';
import type { TrainedModel } from './trained-models.ts';

export interface AdamWConfig {
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

/** Optimiser state by checkpoint key, as saved in a checkpoint. */
export interface SavedOptimizer {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

export class ModelOptimizers {
  private readonly parts: { model: TrainedModel; opt: AdamW }[];

  constructor(
    readonly models: readonly TrainedModel[],
    readonly config: AdamWConfig,
  ) {
    const [b1, b2] = config.betas;
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1) || !(config.eps > 0) || !(config.weightDecay >= 0)) {
      throw new TrainError('TRAIN_CONFIG', `AdamW: betas (${b1}, ${b2}) must be in [0, 1), eps > 0 and weight decay ≥ 0`);
    }
    const seen = new Set<object>();
    this.parts = models
      .filter((m) => !seen.has(m.module) && seen.add(m.module))
      .map((model) => ({
        model,
        opt: new AdamW(model.module.parameters().filter((p) => p.trainable), {
          beta1: b1, beta2: b2, eps: config.eps, weightDecay: config.weightDecay,
        }),
      }));
  }

  get step(): number {
    return this.parts[0]?.opt.step ?? 0;
  }

  update(grads: ReadonlyMap<Parameter, Float32Array>, lr: number): void {
    for (const { opt } of this.parts) opt.update(grads, lr);
  }

  state(): SavedOptimizer {
    const out: SavedOptimizer = { step: this.step, m: new Map(), v: new Map() };
    for (const { model, opt } of this.parts) {
      model.module.namedParameters(); // re-name the parameters inside this model: AdamW keys by Parameter.key
      const s = opt.state();
      for (const [k, a] of Object.entries(s.m)) out.m.set(model.prefix + k, a);
      for (const [k, a] of Object.entries(s.v)) out.v.set(model.prefix + k, a);
    }
    return out;
  }

  loadState(saved: SavedOptimizer): void {
    for (const { model, opt } of this.parts) {
      const s: AdamWState = { step: saved.step, m: {}, v: {} };
      for (const [key, p] of model.module.namedParameters()) {
        const m = saved.m.get(model.prefix + key), v = saved.v.get(model.prefix + key);
        // A parameter frozen now, or trained now but frozen then (no saved moments), keeps/starts fresh moments.
        if (!p.trainable || !m || !v) continue;
        s.m[key] = m;
        s.v[key] = v;
      }
      try {
        opt.loadState(s);
      } catch (e) {
        throw new TrainError('CHECKPOINT_MISMATCH', `optimizer state of ${model.name}: ${(e as Error).message}`);
      }
    }
  }
}
