// MixLosses: combine the losses of several data sets. 'sample' draws one loss per step with the given weights
// (the reference's `--data-weights`: each step trains on one data set); 'sum' adds them with the weights.
// The inputs are lazy: in a training step 'sample' asks only for the loss it drew, so the other data sets' batches
// are never loaded or built (stage 3 mixes six, each step used one; docs/default-model.md).
import { defineNode, type Lazy } from '../engine/node-def.ts';
import { Rng } from '../models/ops/random.ts';
import { mixSeed } from '../models/data/batching.ts';
import { TrainingInputError } from './inputs.ts';
import type { Ops } from '../models/ops/ops.ts';
import type { LossValue } from './types.ts';

export function parseWeights(text: string, count: number, where: string): number[] {
  const w = text.split(',').map((s) => Number(s.trim()));
  if (w.length !== count || w.some((x) => !Number.isFinite(x) || x < 0) || !w.some((x) => x > 0)) {
    throw new TrainingInputError('TRAIN_INPUT', `${where}: weights "${text}" must be ${count} non-negative numbers, not all zero`);
  }
  return w;
}

export const MixLosses = defineNode({
  type: 'MixLosses',
  category: 'training/loss',
  description: "Combine losses of several data sets: 'sample' trains on one per step, drawn with the weights (the reference's data mix); 'sum' adds them, weighted.",
  inputs: { a: { type: 'LOSS', lazy: true }, b: { type: 'LOSS', optional: true, lazy: true }, c: { type: 'LOSS', optional: true, lazy: true } },
  widgets: {
    weights: { kind: 'STRING', default: '1,1,1', description: 'one weight per wired loss, in order a, b, c' },
    mode: { kind: 'ENUM', options: ['sample', 'sum'], default: 'sample' },
  },
  outputs: { loss: { type: 'LOSS' } },
  execute: async ({ a, b, c, weights, mode }, ctx) => {
    // The wired inputs, each computed only when asked for: the one drawn (sample) or all (sum).
    const inputs = [a, b, c].filter((get): get is Lazy<LossValue> => get !== undefined);
    const w = parseWeights(weights.split(',').slice(0, inputs.length).join(','), inputs.length, 'MixLosses.weights');
    if (mode === 'sample') {
      const total = w.reduce((x, y) => x + y, 0);
      let u = new Rng(mixSeed(ctx.step?.seed ?? 0, 0x313)).uniform() * total;
      const i = w.findIndex((x) => (u -= x) <= 0);
      const chosen = await inputs[i < 0 ? inputs.length - 1 : i]!();
      return { loss: { name: `mix:${chosen.name}`, compute: chosen.compute } };
    }
    const losses: LossValue[] = [];
    for (const get of inputs) losses.push(await get());
    return {
      loss: {
        name: `sum:${losses.map((l) => l.name).join('+')}`,
        compute: <T>(ops: Ops<T>): T => losses.map((l, i) => ops.mul(l.compute(ops), w[i]!)).reduce((x, y) => ops.add(x, y)),
      },
    };
  },
});
