// AdamW: one step by hand, decoupled weight decay, frozen parameters untouched, state round trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdamW } from '../../models/optim/adamw.ts';
import { Parameter } from '../../models/nn/module.ts';

test('first step moves each weight by lr·sign(g) plus the decoupled decay', () => {
  const p = new Parameter([2], Float32Array.from([1, -2]));
  p.key = 'w';
  const opt = new AdamW([p], { lr: 0.1, weightDecay: 0.5, eps: 0 });
  const v0 = p.version;
  opt.update(new Map([[p, Float32Array.from([3, -0.01])]]));
  // m̂ = g, v̂ = g², so the Adam step is lr·g/|g|; the decay multiplies by (1 − lr·λ) = 0.95 first.
  assert.ok(Math.abs(p.data[0]! - (0.95 - 0.1)) < 1e-6, String(p.data[0]));
  assert.ok(Math.abs(p.data[1]! - (-1.9 + 0.1)) < 1e-6, String(p.data[1]));
  assert.equal(p.version, v0 + 1, 'the backend must see the change');
});

test('frozen parameters and parameters without gradients are skipped', () => {
  const a = new Parameter([1], Float32Array.from([1]), false);
  const b = new Parameter([1], Float32Array.from([1]));
  const opt = new AdamW([a, b], { lr: 0.1 });
  opt.update(new Map([[a, Float32Array.from([1])]]));
  assert.equal(a.data[0], 1);
  assert.equal(b.data[0], 1);
});

test('state round trip reproduces the next step exactly', () => {
  const make = () => {
    const p = new Parameter([3], Float32Array.from([0.5, -1, 2]));
    p.key = 'layer.weight';
    return p;
  };
  const g = () => new Map([[p1, Float32Array.from([0.1, 0.2, -0.3])]]);
  const p1 = make();
  const o1 = new AdamW([p1], { lr: 0.01 });
  o1.update(g());
  const p2 = make();
  p2.set(Float32Array.from(p1.data));
  const o2 = new AdamW([p2], { lr: 0.01 });
  o2.loadState(o1.state());
  o1.update(g());
  o2.update(new Map([[p2, Float32Array.from([0.1, 0.2, -0.3])]]));
  assert.deepEqual(Array.from(p2.data), Array.from(p1.data));
  assert.throws(() => o2.loadState({ step: 1, m: { 'layer.weight': new Float32Array(2) }, v: { 'layer.weight': new Float32Array(2) } }), {
    code: 'OPTIMIZER_STATE_MISMATCH',
  });
});
