// Weights held once on the ONNX path: a model written with external data releases its host copies to the side
// file, reads them back unchanged when asked, is re-traced without becoming whole on the host again, survives the
// cache being removed, and a re-trace for new weights closes the old weights' session.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OnnxRunner } from '../../models/backends/onnx/runner.ts';
import { Module, type Parameter } from '../../models/nn/module.ts';
import { Linear } from '../../models/nn/layers.ts';
import { Rng, randn } from '../../models/ops/random.ts';
import { hostTensor, type Ops } from '../../models/ops/ops.ts';
import type { ForwardFn } from '../../models/runtime/runner.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'kosmos-onnx-release-'));
const runners: OnnxRunner[] = [];
/** threshold 0: every model goes external, as a real-size one does. */
const runner = (dir: string, threshold?: number, release?: boolean) => {
  const r = new OnnxRunner(path.join(root, dir), 'cpu', threshold, release);
  runners.push(r);
  return r;
};
after(async () => {
  for (const r of runners) await r.sessions.clear();
  rmSync(root, { recursive: true, force: true });
});

class Net extends Module {
  a: Linear;
  b: Linear;
  constructor(seed: number) {
    super();
    const rng = new Rng(seed);
    this.a = new Linear(64, 32, rng); // 8 KiB of weight: external; its 128-byte bias stays in the model file
    this.b = new Linear(32, 16, rng);
  }
  forward<T>(o: Ops<T>, x: T): T {
    return this.b.forward(o, o.gelu(this.a.forward(o, x)));
  }
}
const forwardOf = (net: Net): ForwardFn => (o, [x]) => [net.forward(o, x!)];
const input = (batch: number) => hostTensor(randn(batch * 64, batch), [batch, 64]);
const copies = (net: Net) => new Map(net.namedParameters().map(([k, p]) => [k, Float32Array.from(p.data)]));

test('external data releases the host weights; outputs, re-traces and the values read back are unchanged', async () => {
  const ref = new Net(1);
  const net = new Net(1);
  const inline = runner('ref');
  const expect2 = await inline.run(ref, 'net', forwardOf(ref), [input(2)]);
  const expect3 = await inline.run(ref, 'net', forwardOf(ref), [input(3)]);
  assert.ok(ref.parameters().every((p) => !p.released), 'a model kept in the model file keeps its host weights');
  const before = copies(net);

  const ext = runner('ext', 0);
  const got2 = await ext.run(net, 'net', forwardOf(net), [input(2)]);
  assert.deepEqual(got2[0]!.data, expect2[0]!.data);
  assert.ok(net.a.weight.released && net.b.weight.released, 'weights in the side file are released');
  assert.ok(!net.a.bias!.released, 'a weight kept in the model file stays on the host');

  await ext.run(net, 'net', forwardOf(net), [input(2)]);
  assert.equal(ext.traces, 1, 'the hot path does not re-trace');
  const got3 = await ext.run(net, 'net', forwardOf(net), [input(3)]);
  assert.equal(ext.traces, 2);
  assert.deepEqual(got3[0]!.data, expect3[0]!.data);
  assert.ok(net.a.weight.released, 'writing a released weight again does not keep it on the host');

  for (const [key, p] of net.namedParameters()) assert.deepEqual(p.data, before.get(key), `${key} reads back unchanged`);
  assert.ok(!net.a.weight.released, 'read back, it is on the host again');
});

test('released weights still read back after the cache folder is removed; the model rebuilds', async () => {
  const net = new Net(2);
  const before = copies(net);
  const r = runner('removed', 0);
  const first = await r.run(net, 'net', forwardOf(net), [input(2)]);
  assert.ok(net.a.weight.released);
  await r.sessions.clear();
  rmSync(path.join(root, 'removed'), { recursive: true, force: true });
  const again = await runner('removed', 0).run(net, 'net', forwardOf(net), [input(2)]);
  assert.deepEqual(again[0]!.data, first[0]!.data);
  for (const [key, p] of net.namedParameters()) assert.deepEqual(p.data, before.get(key), key);
});

test('a weight change after release re-traces with the new values and closes the old session', async () => {
  const net = new Net(3);
  const r = runner('changed', 0);
  const first = await r.run(net, 'net', forwardOf(net), [input(2)]);
  const w: Parameter = net.a.weight;
  const changed = Float32Array.from(w.data, (v) => v * 2);
  w.set(changed);
  const second = await r.run(net, 'net', forwardOf(net), [input(2)]);
  assert.notDeepEqual(second[0]!.data, first[0]!.data);
  assert.equal(r.sessions.size, 1, 'the session of the old weights is closed');
  const ref = new Net(3);
  ref.a.weight.set(Float32Array.from(changed));
  const expect = await runner('changed-ref').run(ref, 'net', forwardOf(ref), [input(2)]);
  assert.deepEqual(second[0]!.data, expect[0]!.data);
});

test('releaseHostWeights = false (KOSMOS_G_ORT_KEEP_HOST_WEIGHTS=1) keeps them', async () => {
  const net = new Net(4);
  await runner('kept', 0, false).run(net, 'net', forwardOf(net), [input(2)]);
  assert.ok(net.parameters().every((p) => p.materialized && !p.released));
});
