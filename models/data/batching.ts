// Seeded shuffling and batching. A batch is a pure function of (dataset size, batch size, step, seed): epoch e
// visits the rows in a Fisher–Yates permutation drawn from Rng(seed, e), and step s takes the next `batchSize`
// positions of that endless sequence. So the data cursor is just the step, and a resumed run sees exactly the
// batches an uninterrupted run would have seen.
import { Rng } from '../ops/random.ts';

/** A 32-bit mix of two integers (a seed and a counter), for deriving independent streams. */
export function mixSeed(seed: number, counter: number): number {
  let h = (Math.floor(seed / 2 ** 32) ^ Math.imul(counter + 0x632be5ab, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (seed >>> 0) ^ (h >>> 15), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export function permutation(n: number, seed: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const rng = new Rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

export interface BatchIndices {
  indices: number[];
  /** Epoch of the batch's first row. */
  epoch: number;
}

export function batchIndices(n: number, batchSize: number, step: number, seed: number, shuffle = true): BatchIndices {
  if (n <= 0) throw new Error('batchIndices: empty dataset');
  const indices: number[] = [];
  let cachedEpoch = -1;
  let order: number[] = [];
  for (let k = 0; k < batchSize; k++) {
    const i = step * batchSize + k;
    const epoch = Math.floor(i / n);
    if (epoch !== cachedEpoch) {
      order = shuffle ? permutation(n, mixSeed(seed, epoch)) : Array.from({ length: n }, (_, j) => j);
      cachedEpoch = epoch;
    }
    indices.push(order[i % n]!);
  }
  return { indices, epoch: Math.floor((step * batchSize) / n) };
}
