// Learning-rate schedules: linear warmup from 0, then constant, linear or polynomial decay to `endLr` at
// `totalSteps` (fairseq's polynomial_decay; power 1 is linear), or cosine. `step` is 0-based; the rate used for
// update u = step + 1, so the first update of a warmup already moves.
import { TrainError } from './errors.ts';

export type DecayKind = 'constant' | 'linear' | 'polynomial' | 'cosine';
export const DECAY_KINDS: readonly DecayKind[] = ['constant', 'linear', 'polynomial', 'cosine'];

export interface LrSchedule {
  lr: number;
  warmup: number;
  decay: DecayKind;
  totalSteps: number;
  /** Exponent of polynomial decay (fairseq's default 1.0). */
  power?: number;
  endLr?: number;
}

export function checkSchedule(s: LrSchedule): void {
  if (!(s.lr >= 0) || !(s.warmup >= 0) || !(s.totalSteps >= 1)) {
    throw new TrainError('TRAIN_CONFIG', `learning-rate schedule: lr ${s.lr}, warmup ${s.warmup}, steps ${s.totalSteps} must be ≥ 0, ≥ 0, ≥ 1`);
  }
  if (!DECAY_KINDS.includes(s.decay)) throw new TrainError('TRAIN_CONFIG', `learning-rate schedule: unknown decay '${s.decay}'`);
}

export function learningRate(s: LrSchedule, step: number): number {
  const u = step + 1;
  if (s.warmup > 0 && u <= s.warmup) return (s.lr * u) / s.warmup;
  const end = s.endLr ?? 0;
  const span = s.totalSteps - s.warmup;
  const done = span <= 0 ? 1 : Math.min(1, Math.max(0, (u - s.warmup) / span));
  switch (s.decay) {
    case 'constant':
      return s.lr;
    case 'linear':
      return end + (s.lr - end) * (1 - done);
    case 'polynomial':
      return end + (s.lr - end) * (1 - done) ** (s.power ?? 1);
    case 'cosine':
      return end + (s.lr - end) * 0.5 * (1 + Math.cos(Math.PI * done));
  }
}
