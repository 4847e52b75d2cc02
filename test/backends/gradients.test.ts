// Gradients on the tfjs backends agree with finite differences, for every parameter of every fixture (wasm, the
// default, and cpu, tfjs's reference backend), and a training step (gradients + AdamW) leaks no tensors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTfjsOps, parameterGrads, tf } from '../../models/backends/tfjs/index.ts';
import { AdamW } from '../../models/optim/adamw.ts';
import { fixtures } from './fixtures.ts';
import { checkParameterGradients, lossOf, outputWeights } from './grad-check.ts';

const ops = await createTfjsOps('wasm');

for (const fx of fixtures()) {
  test(`${fx.name}: parameter gradients match central finite differences (wasm)`, () => checkParameterGradients(ops, fx));
}

test('every fixture trains on the cpu backend too', async () => {
  const cpu = await createTfjsOps('cpu');
  try {
    for (const fx of fixtures()) checkParameterGradients(cpu, fx);
  } finally {
    await createTfjsOps('wasm'); // the backend is process-wide: give the other tests theirs back
  }
});

test('a training step (gradients + AdamW) leaves tf.memory().numTensors unchanged and lowers the loss', () => {
  const fx = fixtures()[2]!; // the causal block: embedding, attention, layer norm, linear
  const conv = fixtures()[1]!; // and convolutions
  const params = [...fx.model.parameters(), ...conv.model.parameters()];
  const weights = outputWeights(ops, fx);
  const convWeights = outputWeights(ops, conv);
  const opt = new AdamW(params, { lr: 1e-2 });
  const loss = () => tf.add(tf.square(lossOf(ops, fx, weights)), tf.square(lossOf(ops, conv, convWeights)));
  const step = () => {
    const r = parameterGrads(ops, params, loss);
    opt.update(r.grads);
    return r.loss;
  };
  const first = step(); // creates the parameter variables
  const before = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 3; i++) last = step();
  assert.equal(tf.memory().numTensors, before, 'tensors leaked by a training step');
  assert.ok(last < first, `loss did not go down: ${first} → ${last}`);
  ops.release(params);
});

test('frozen convolutions (non-trainable weights, or weights outside the gradient: their gradient is skipped) pass the same gradient to what feeds them', () => {
  const conv = fixtures()[1]!;
  const weights = outputWeights(ops, conv);
  const params = conv.model.parameters();
  const upstream = params.filter((p) => p.key.startsWith('conv_in.'));
  const all = parameterGrads(ops, params, () => lossOf(ops, conv, weights));
  for (const p of params) if (!p.key.startsWith('conv_in.')) p.trainable = false;
  const frozen = parameterGrads(ops, params, () => lossOf(ops, conv, weights));
  const before = tf.memory().numTensors;
  parameterGrads(ops, params, () => lossOf(ops, conv, weights));
  assert.equal(tf.memory().numTensors, before, 'tensors leaked by a step through frozen convolutions');
  assert.equal(frozen.grads.size, upstream.length, 'only conv_in is trainable');
  assert.ok(Math.abs(all.loss - frozen.loss) < 1e-6);
  // Trainable parameters left out of the gradient are constants for it in the same way.
  for (const p of params) p.trainable = true;
  const subset = parameterGrads(ops, upstream, () => lossOf(ops, conv, weights));
  assert.equal(subset.grads.size, upstream.length);
  for (const p of upstream) {
    const a = all.grads.get(p)!, b = frozen.grads.get(p)!, c = subset.grads.get(p)!;
    a.forEach((v, i) => assert.ok(Math.abs(v - c[i]!) <= 1e-5 * Math.max(...a.map(Math.abs)), `${p.key}[${i}] (subset): ${v} vs ${c[i]}`));
    const scale = Math.max(...a.map(Math.abs));
    assert.ok(scale > 0);
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= 1e-5 * scale, `${p.key}[${i}]: ${v} vs ${b[i]}`));
  }
  ops.release(params);
});

test('linear layers outside the gradient get no weight gradient and pass the same gradient upstream', () => {
  const block = fixtures()[2]!; // embedding → attention → layer norm → fc1 → fc2
  const weights = outputWeights(ops, block);
  const params = block.model.parameters();
  const upstream = params.filter((p) => p.key.startsWith('embed_tokens.'));
  const all = parameterGrads(ops, params, () => lossOf(ops, block, weights));
  const subset = parameterGrads(ops, upstream, () => lossOf(ops, block, weights));
  for (const p of upstream) {
    const a = all.grads.get(p)!, c = subset.grads.get(p)!;
    const scale = Math.max(...a.map(Math.abs));
    assert.ok(scale > 0);
    a.forEach((v, i) => assert.ok(Math.abs(v - c[i]!) <= 1e-5 * scale, `${p.key}[${i}]: ${v} vs ${c[i]}`));
  }
  // The left-out parameters read as trainable again afterwards (the next full step must see them).
  assert.ok(params.every((p) => ops.variableOf(p).trainable));
  ops.release(params);
});
