// The tfjs backend: values of the ops against small hand computations, parameter caching, errors, and no leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTfjsOps, tf } from '../../models/backends/tfjs/index.ts';
import { Parameter } from '../../models/nn/module.ts';

const ops = await createTfjsOps('wasm');
const t = (data: number[], shape: number[]) => ops.tensor(Float32Array.from(data), shape);
const close = (got: tf.Tensor, want: number[], tol = 1e-5) => {
  const g = Array.from(got.dataSync());
  assert.equal(g.length, want.length);
  g.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) <= tol * (1 + Math.abs(want[i]!)), `index ${i}: ${v} vs ${want[i]}`));
};

test('backend is wasm', () => assert.equal(ops.name, 'tfjs-wasm'));

test('softmax on a non-last axis, layer norm, gelu variants', () => {
  tf.tidy(() => {
    const x = t([0, Math.log(3), 1, 1], [2, 2]);
    close(ops.softmax(x, 0), [1 / (1 + Math.E), 3 / (3 + Math.E), Math.E / (1 + Math.E), Math.E / (3 + Math.E)]);
    close(ops.logSoftmax(x, -1), [Math.log(1 / 4), Math.log(3 / 4), Math.log(0.5), Math.log(0.5)]);
    const ln = ops.layerNorm(t([1, 3], [1, 2]), t([2, 2], [2]), t([1, 1], [2]), 0);
    close(ln, [-1, 3]);
    // gelu(1) exact = 0.841344746; tanh approximation = 0.841191990; quickGelu(1) = 1·σ(1.702)
    close(ops.gelu(t([1], [1])), [0.8413447460685429]);
    close(ops.gelu(t([1], [1]), 'tanh'), [0.8411919906082768]);
    close(ops.quickGelu(t([1], [1])), [1 / (1 + Math.exp(-1.702))]);
  });
});

test('causal attention attends only to the past; key padding removes keys', () => {
  tf.tidy(() => {
    const q = t([1, 1], [1, 1, 2, 1]);
    const k = t([0, 0], [1, 1, 2, 1]);
    const v = t([10, 20], [1, 1, 2, 1]);
    close(ops.attention(q, k, v, { causal: true }), [10, 15]);
    close(ops.attention(q, k, v, { keyPaddingMask: t([0, 1], [1, 2]) }), [10, 10]);
  });
});

test('group norm normalises each group over channels and space', () => {
  tf.tidy(() => {
    const x = t([1, 2, 3, 4, 10, 10, 20, 20], [1, 4, 2, 1]);
    const y = ops.groupNorm(x, 2, undefined, undefined, 0);
    const s = Math.sqrt(1.25);
    close(y, [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s, -1, -1, 1, 1], 1e-4);
  });
});

test('upsample, slice, split, concat, embedding', () => {
  tf.tidy(() => {
    close(ops.upsampleNearest2d(t([1, 2, 3, 4], [1, 1, 2, 2]), 2), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    const x = t([0, 1, 2, 3, 4, 5], [2, 3]);
    close(ops.slice(x, [0, 1], [-1, 2]), [1, 2, 4, 5]);
    const [a, b] = ops.split(x, [1, 2], 1);
    close(ops.concat([b!, a!], 1), [1, 2, 0, 4, 5, 3]);
    const ids = ops.tensor(Int32Array.from([2, 0]), [2], 'int32');
    close(ops.embedding(t([0, 0, 1, 1, 2, 2], [3, 2]), ids), [2, 2, 0, 0]);
  });
});

test('broadcast batched matmul has gradients of the operand shapes', () => {
  const a = tf.randomNormal([2, 3, 4, 5]);
  const b = tf.randomNormal([3, 5, 2]);
  const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(ops.matmul(x, y)))([a, b]);
  assert.deepEqual(ga!.shape, [2, 3, 4, 5]);
  assert.deepEqual(gb!.shape, [3, 5, 2]);
  tf.dispose([a, b, ga!, gb!]);
});

test('param: one variable per parameter, re-uploaded when the version changes, trainable respected', () => {
  const p = new Parameter([2], Float32Array.from([1, 2]));
  const v1 = ops.param(p);
  assert.equal(ops.param(p), v1);
  close(v1, [1, 2]);
  p.set(Float32Array.from([5, 6]));
  close(ops.param(p), [5, 6]);
  p.trainable = false;
  assert.equal((ops.param(p) as tf.Variable).trainable, false);
  ops.release([p]);
});

test('shape errors carry a code and both shapes', () => {
  tf.tidy(() => {
    assert.throws(
      () => ops.matmul(t([1, 2, 3, 4, 5, 6], [2, 3]), t([1, 2, 3, 4], [2, 2])),
      (e: Error & { code?: string }) => e.code === 'SHAPE_MISMATCH' && /\[2, 3\]/.test(e.message) && /\[2, 2\]/.test(e.message),
    );
    assert.throws(() => ops.add(t([1, 2], [2]), t([1, 2, 3], [3])), { code: 'SHAPE_MISMATCH' });
    assert.throws(() => ops.embedding(t([1, 2], [1, 2]), ops.tensor(Int32Array.from([1]), [1], 'int32')), {
      code: 'INDEX_OUT_OF_RANGE',
    });
  });
});

test("starting wasm leaves Node's own uncaught-error handling in place", () => {
  // Emscripten's runtime installs handlers that rethrow with the module's minified source; they are removed.
  for (const event of ['uncaughtException', 'unhandledRejection']) {
    const listeners = process.listeners(event as 'uncaughtException') as unknown[];
    const foreign = listeners.filter((l) => /ExitStatus|throw reason|throw ex\b/.test(String(l)));
    assert.deepEqual(foreign, [], `${event} handler left by the wasm runtime`);
  }
});
