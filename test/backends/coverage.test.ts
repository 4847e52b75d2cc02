// The fixtures used by the parity and gradient tests call every op of the interface (the record below must list
// every key of Ops — the compiler checks it — and the test checks each was called).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TraceOps } from '../../models/backends/onnx/trace.ts';
import type { Ops } from '../../models/ops/ops.ts';
import { fixtures } from './fixtures.ts';

const ALL_OPS: Record<Exclude<keyof Ops<unknown>, 'name'>, true> = {
  param: true, tensor: true, fill: true, shape: true, dtype: true, toFloat: true,
  add: true, sub: true, mul: true, div: true, neg: true, exp: true, log: true, sqrt: true, sin: true, cos: true,
  tanh: true, sigmoid: true, square: true, abs: true, clamp: true,
  relu: true, silu: true, gelu: true, quickGelu: true, softmax: true, logSoftmax: true,
  sum: true, mean: true, max: true, matmul: true, linear: true, conv2d: true, layerNorm: true, groupNorm: true,
  embedding: true, reshape: true, transpose: true, concat: true, split: true, slice: true, upsampleNearest2d: true,
  attention: true, multiHeadAttention: true, erf: true, sign: true, conv2dTranspose: true, broadcastTo: true, scatterAdd: true,
};

test('the fixtures exercise every op of the interface', () => {
  const called = new Set<string>();
  for (const fx of fixtures()) {
    const ops = new TraceOps();
    const spy = new Proxy(ops, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof prop === 'string' && prop in ALL_OPS) called.add(prop);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    fx.model.namedParameters();
    fx.forward(spy, fx.inputs.map((h) => ops.input(h.shape, h.dtype)));
  }
  const missing = Object.keys(ALL_OPS).filter((k) => !called.has(k));
  assert.deepEqual(missing, []);
});
