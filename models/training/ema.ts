// An exponential moving average of the trained weights (Polyak averaging), as diffusion trainers keep one
// (diffusers' EMAModel, the LDM/SD recipes): each step a ← a + (1 − d)(w − a). Samples drawn from the averaged
// weights are markedly better than from the last step's, whose noise at a high learning rate shows as wrong colours
// and broken shapes. The decay warms up as min(decay, (1 + n) / (10 + n)) after n updates, so early steps, when
// the weights still move far, are not held back by the random initial weights. The average lives on the host,
// beside the optimiser, so it is backend-independent and saved with every checkpoint.
import type { Parameter } from '../nn/module.ts';
import { TrainError } from './errors.ts';

export class WeightAverage {
  /** Averages by checkpoint key (trainable parameters only). */
  private readonly avg = new Map<string, Float32Array>();

  constructor(
    private readonly params: ReadonlyMap<string, Parameter>,
    readonly decay: number,
    /** Updates folded in so far (drives the warm-up of the decay). */
    public updates = 0,
  ) {
    if (!(decay > 0 && decay < 1)) throw new TrainError('TRAIN_CONFIG', `ema_decay must be in (0, 1), got ${decay}`);
    for (const [key, p] of params) if (p.trainable) this.avg.set(key, Float32Array.from(p.data));
  }

  /** The decay of the next update, after its warm-up. */
  currentDecay(): number {
    return Math.min(this.decay, (1 + this.updates) / (10 + this.updates));
  }

  /** Fold the parameters' current values into the average (call after each optimiser step). */
  update(): void {
    const keep = this.currentDecay();
    const take = 1 - keep;
    for (const [key, a] of this.avg) {
      const w = this.params.get(key)!.data;
      for (let i = 0; i < a.length; i++) a[i]! += take * (w[i]! - a[i]!);
    }
    this.updates++;
  }

  /** The averages by checkpoint key (views: copy before changing). */
  state(): ReadonlyMap<string, Float32Array> {
    return this.avg;
  }

  /**
   * Continue from saved averages. A parameter with no saved average (trained now, frozen when the checkpoint was
   * written) starts from its current value, as it would in a fresh run.
   */
  load(saved: ReadonlyMap<string, Float32Array>, updates: number): void {
    for (const [key, a] of this.avg) {
      const s = saved.get(key);
      if (!s) continue;
      if (s.length !== a.length) throw new TrainError('CHECKPOINT_MISMATCH', `ema.${key} has ${s.length} values, the parameter ${a.length}`);
      a.set(s);
    }
    this.updates = updates;
  }

  /** Put the averages into the parameters: what the models hold (and later nodes save) after training. */
  applyToParameters(): void {
    for (const [key, a] of this.avg) this.params.get(key)!.set(Float32Array.from(a));
  }
}
