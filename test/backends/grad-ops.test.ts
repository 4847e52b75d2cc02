// Reverse mode over the ops interface (GradOps): for every fixture (together they call every op), the gradients
// of every parameter equal tfjs autograd's — run eagerly on tfjs, and traced into one forward + backward ONNX graph
// run by ONNX Runtime — to 1e-4 relative; frozen parameters get no gradient and change nothing upstream.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTfjsOps, parameterGrads, tf } from '../../models/backends/tfjs/index.ts';
import { GradOps, type LossFn } from '../../models/autodiff/index.ts';
import { OnnxTrainer, traceStep } from '../../models/backends/onnx/train-step.ts';
import type { Ops } from '../../models/ops/ops.ts';
import type { Parameter } from '../../models/nn/module.ts';
import { fixtures, type Fixture } from './fixtures.ts';
import { lossOf, outputWeights } from './grad-check.ts';

const ops = await createTfjsOps('wasm');
const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'kosmos-grad-ops-'));
const trainer = new OnnxTrainer(cacheDir, 'cpu');
after(async () => {
  await trainer.sessions.clear();
  rmSync(cacheDir, { recursive: true, force: true });
});

/** The same loss as grad-check's lossOf, written once against Ops: Σ_outputs Σ out·r. */
function genericLoss(fx: Fixture, weights: Float32Array[]): LossFn {
  return <T>(o: Ops<T>): T => {
    const outs = fx.forward(o, fx.inputs.map((h) => o.tensor(h.data, h.shape, h.dtype)));
    const terms = outs.map((y, i) => o.sum(o.mul(o.toFloat(y), o.tensor(weights[i]!.subarray(0, o.shape(y).reduce((a, b) => a * b, 1)), o.shape(y)))));
    return terms.reduce((a, b) => o.add(a, b));
  };
}

function reference(fx: Fixture, params: Parameter[], weights: Float32Array[]) {
  return parameterGrads(ops, params, () => lossOf(ops, fx, weights));
}

function assertClose(got: Map<Parameter, Float32Array>, want: Map<Parameter, Float32Array>, where: string): void {
  for (const [p, w] of want) {
    const g = got.get(p);
    assert.ok(g, `${where}: no gradient for ${p.key}`);
    const scale = Math.max(1e-6, ...w.map(Math.abs));
    let err = 0;
    w.forEach((v, i) => (err = Math.max(err, Math.abs(v - g[i]!))));
    assert.ok(err / scale <= 1e-4, `${where} ${p.key}: relative error ${(err / scale).toExponential(2)}`);
  }
}

for (const fx of fixtures()) {
  test(`${fx.name}: GradOps on tfjs and on ONNX Runtime give tfjs autograd's gradients`, async () => {
    const params = fx.model.parameters();
    const weights = outputWeights(ops, fx);
    const want = reference(fx, params, weights);
    const tensors = tf.tidy(() => {
      const g = new GradOps(ops, new Set(params));
      const grads = g.backward(genericLoss(fx, weights)(g));
      return params.map((p) => grads.get(p)!);
    });
    const eager = new Map(params.map((p, i) => [p, Float32Array.from(tensors[i]!.dataSync() as Float32Array)]));
    tf.dispose(tensors);
    assertClose(eager, want.grads, `${fx.name} (GradOps on tfjs)`);
    const onnx = await trainer.gradients(params, genericLoss(fx, weights));
    assert.ok(Math.abs(onnx.loss - want.loss) <= 1e-4 * Math.max(1, Math.abs(want.loss)), `${fx.name} loss ${onnx.loss} vs ${want.loss}`);
    assertClose(onnx.grads, want.grads, `${fx.name} (ONNX Runtime)`);
    ops.release(params);
  });
}

test('frozen parameters: no gradient output, no weight-gradient ops, the same gradients upstream', async () => {
  const fx = fixtures()[1]!; // conv-net
  const params = fx.model.parameters();
  const weights = outputWeights(ops, fx);
  const upstream = params.filter((p) => p.key.startsWith('conv_in.'));
  const all = await trainer.gradients(params, genericLoss(fx, weights));
  for (const p of params) if (!p.key.startsWith('conv_in.')) p.trainable = false;
  try {
    const frozen = await trainer.gradients(params, genericLoss(fx, weights));
    assert.deepEqual([...frozen.grads.keys()], upstream);
    assertClose(frozen.grads, new Map(upstream.map((p) => [p, all.grads.get(p)!])), 'frozen conv-net');
    // A frozen convolution computes its input gradient only (a ConvTranspose): its weight gradient (a MatMul) is gone.
    const graph = (s: ReturnType<typeof traceStep>) => s.ops.graph.nodes.map((n) => n.op);
    const convs = (names: string[]) => names.filter((n) => n === 'MatMul').length;
    const full = graph(traceStep(params.map((p) => Object.assign(p, { trainable: true })), genericLoss(fx, weights)));
    for (const p of params) if (!p.key.startsWith('conv_in.')) p.trainable = false;
    const part = graph(traceStep(params, genericLoss(fx, weights)));
    assert.ok(convs(part) < convs(full), `frozen weights still get weight-gradient convolutions: ${convs(part)} vs ${convs(full)}`);
  } finally {
    for (const p of params) p.trainable = true;
  }
});

test('a step graph is compiled once per input shape: later steps with new data only feed it', async () => {
  const fx = fixtures()[0]!;
  const params = fx.model.parameters();
  const weights = outputWeights(ops, fx);
  const before = trainer.compiles;
  const first = await trainer.gradients(params, genericLoss(fx, weights));
  const moved = weights.map((w) => w.map((v) => v * 2));
  const second = await trainer.gradients(params, genericLoss(fx, moved));
  assert.ok(trainer.compiles - before <= 1, `compiled ${trainer.compiles - before} graphs for one shape`);
  assert.ok(Math.abs(second.loss - 2 * first.loss) <= 1e-4 * Math.abs(first.loss), `the new data reached the graph: ${second.loss} vs 2 × ${first.loss}`);
});

test('evaluation feeds the trained parameters: new weights reuse the evaluation graph and change the loss', async () => {
  const fx = fixtures()[0]!;
  const params = fx.model.parameters();
  const weights = outputWeights(ops, fx);
  const first = await trainer.loss(params, genericLoss(fx, weights));
  const before = trainer.compiles;
  const p = params[0]!;
  const saved = Float32Array.from(p.data);
  p.set(p.data.map((v) => v * 1.5));
  try {
    const second = await trainer.loss(params, genericLoss(fx, weights));
    assert.equal(trainer.compiles, before, 'no new graph for new weights');
    assert.notEqual(second, first);
    const want = tf.tidy(() => lossOf(ops, fx, weights).dataSync()[0]!);
    assert.ok(Math.abs(second - want) <= 1e-4 * Math.abs(want), `${second} vs tfjs ${want}`);
  } finally {
    p.set(saved);
    ops.release(params);
  }
});
