// Embedding lookup with a gradient on every backend. tf.gather's gradient needs UnsortedSegmentSum, which the wasm
// backend lacks; here the table gradient is a scatter-add done on the host (O(ids × dim), no one-hot matrix of
// ids × vocabulary, which would be 0.5 GB for a 64k vocabulary and 2k tokens). The ids are read on the host once
// at lookup time, which also lets an out-of-range id fail clearly instead of reading garbage.

import * as tf from '@tensorflow/tfjs';
import { ShapeError, fmt } from '../shapes.ts';

export function embeddingLookup(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  if (table.rank !== 2) throw new ShapeError('embedding', `table must be [V, D], got ${fmt(table.shape)}`);
  const [vocab, dim] = table.shape as [number, number];
  const idx = Int32Array.from(ids.dataSync() as ArrayLike<number>);
  for (let i = 0; i < idx.length; i++) {
    if (idx[i]! < 0 || idx[i]! >= vocab) {
      throw Object.assign(new RangeError(`embedding: id ${idx[i]} at position ${i} is outside the table of ${vocab} rows`), {
        code: 'INDEX_OUT_OF_RANGE',
      });
    }
  }
  const idShape = ids.shape;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const tab = args[0] as tf.Tensor;
    const rows = tf.tidy(() => tf.gather(tab, tf.tensor1d(idx, 'int32')));
    return {
      value: tf.reshape(rows, [...idShape, dim]),
      gradFunc: (dy: tf.Tensor) => {
        const g = dy.dataSync() as Float32Array;
        const acc = new Float32Array(vocab * dim);
        for (let i = 0; i < idx.length; i++) {
          const row = idx[i]! * dim;
          const src = i * dim;
          for (let j = 0; j < dim; j++) acc[row + j]! += g[src + j]!;
        }
        return [tf.tensor(acc, [vocab, dim])];
      },
    };
  });
  return f(table);
}
