// The ONNX path: disk cache keyed by graph + weights, hot path without re-tracing, external data, external ONNX
// files with metadata read at load time, clear errors for corrupt files, missing providers and bad shapes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTfjsOps } from '../../models/backends/tfjs/index.ts';
import { TfjsRunner } from '../../models/runtime/tfjs-runner.ts';
import { OnnxRunner, traceForward } from '../../models/backends/onnx/runner.ts';
import { loadExternalOnnx } from '../../models/backends/onnx/external.ts';
import { writeModel } from '../../models/backends/onnx/serialize.ts';
import { graphFlops } from '../../models/backends/onnx/flops.ts';
import { pruneCache } from '../../models/backends/onnx/cache.ts';
import { SessionCache, checkProvider, requestedProvider } from '../../models/backends/onnx/session.ts';
import type { InferenceSession } from 'onnxruntime-node';
import { fromHalf, fromOrt, toHalf, toOrt } from '../../models/backends/onnx/tensors.ts';
import { Module } from '../../models/nn/module.ts';
import { Linear } from '../../models/nn/layers.ts';
import { Rng, randn } from '../../models/ops/random.ts';
import { hostTensor, type Ops } from '../../models/ops/ops.ts';
import type { ForwardFn } from '../../models/runtime/runner.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'kosmos-onnx-'));
const runners: OnnxRunner[] = [];
const runner = (dir: string, threshold?: number) => {
  const r = new OnnxRunner(path.join(root, dir), 'cpu', threshold);
  runners.push(r);
  return r;
};
after(async () => {
  for (const r of runners) await r.sessions.clear();
  rmSync(root, { recursive: true, force: true });
});

class Head extends Module {
  proj: Linear;
  constructor(seed: number) {
    super();
    this.proj = new Linear(4, 3, new Rng(seed));
  }
  forward<T>(o: Ops<T>, x: T): T {
    return o.softmax(this.proj.forward(o, x), -1);
  }
}
/** The forward function of whichever Head is `current` (each test sets its own). */
let current = new Head(1);
const forward: ForwardFn = (o, [x]) => [current.forward(o, x!)];
const x = hostTensor(randn(8, 5), [2, 4]);

const onnxFiles = (dir: string) => readdirSync(path.join(root, dir)).filter((f) => f.endsWith('.onnx'));

test('the traced model is cached on disk and reused; a weight change gives a new model', async () => {
  const model = (current = new Head(1));
  const r1 = runner('cache');
  const a = await r1.run(model, 'head', forward, [x]);
  const b = await r1.run(model, 'head', forward, [x]);
  assert.equal(r1.traces, 1, 'the hot path must not re-trace');
  assert.deepEqual(b[0]!.data, a[0]!.data);
  assert.equal(onnxFiles('cache').length, 1);

  const r2 = runner('cache'); // a fresh process would find the same file
  await r2.run(model, 'head', forward, [x]);
  assert.equal(onnxFiles('cache').length, 1);

  model.proj.bias!.set(Float32Array.from([5, 0, 0]));
  const c = await r1.run(model, 'head', forward, [x]);
  assert.equal(r1.traces, 2);
  assert.equal(onnxFiles('cache').length, 2);
  assert.ok(c[0]!.data[0]! > a[0]!.data[0]!, 'the new bias must be used');
  // a different input shape is a different entry in the cache
  await r1.run(model, 'head', forward, [hostTensor(randn(12, 6), [3, 4])]);
  assert.equal(onnxFiles('cache').length, 3);
});

test('the disk cache is pruned oldest-used first, never the model in use', async () => {
  const r = runner('prune');
  const dir = path.join(root, 'prune');
  const files: string[] = [];
  for (const seed of [10, 11, 12]) {
    await r.run((current = new Head(seed)), 'head', forward, [x]);
    files.push(onnxFiles('prune').find((f) => !files.includes(f))!);
    await new Promise((ok) => setTimeout(ok, 20)); // distinct mtimes
  }
  const removed = pruneCache(dir, path.join(dir, files[2]!), 1);
  assert.deepEqual(removed.map((f) => path.basename(f)), [files[0], files[1]]);
  assert.deepEqual(onnxFiles('prune'), [files[2]]);
});

test('large models keep their weights as external data, with the same results', async () => {
  const model = (current = new Head(2));
  const inline = await runner('inline').run(model, 'head', forward, [x]);
  const ext = runner('external', 0);
  const got = await ext.run(model, 'head', forward, [x]);
  assert.deepEqual(got[0]!.data, inline[0]!.data);
  const files = readdirSync(path.join(root, 'external'));
  assert.ok(files.some((f) => f.endsWith('.onnx.data')), `no external data file in ${files.join(', ')}`);
});

test('a damaged cache file is rebuilt', async () => {
  const model = (current = new Head(3));
  const r = runner('damaged');
  const ref = await r.run(model, 'head', forward, [x]);
  const [file] = onnxFiles('damaged');
  writeFileSync(path.join(root, 'damaged', file!), 'not a model');
  const again = runner('damaged');
  const got = await again.run(model, 'head', forward, [x]);
  assert.deepEqual(got[0]!.data, ref[0]!.data);
});

test('external ONNX: names, types and shapes read at load time; inputs by name or position', async () => {
  const model = (current = new Head(4));
  const ops = traceForward(model, forward, [{ shape: [2, 4], dtype: 'float32' }]);
  const file = path.join(root, 'external-model.onnx');
  writeModel(ops.graph, file);
  const m = await loadExternalOnnx(file, 'cpu');
  assert.deepEqual(m.inputs, [{ name: 'input_0', type: 'float32', shape: [2, 4] }]);
  assert.deepEqual(m.outputs, [{ name: 'output_0', type: 'float32', shape: [2, 3] }]);
  const byName = await m.run({ input_0: x });
  const byPos = await m.run([x]);
  assert.deepEqual(byName.output_0!.data, byPos.output_0!.data);
  await assert.rejects(m.run({ input_0: hostTensor(new Float32Array(4), [1, 4]) }), (e: Error & { code?: string }) => {
    return e.code === 'ONNX_INPUT_MISMATCH' && /\[2, 4\]/.test(e.message) && /\[1, 4\]/.test(e.message);
  });
  await assert.rejects(m.run({}), { code: 'ONNX_INPUT_MISMATCH' });
  await m.release();
});

test('a corrupt or missing ONNX file is a clear error, not a crash', async () => {
  const bad = path.join(root, 'corrupt.onnx');
  writeFileSync(bad, Buffer.from([0x08, 0x07, 0x12, 0xff, 0xff, 0xff, 0x0f, 0x00]));
  await assert.rejects(loadExternalOnnx(bad, 'cpu'), (e: Error & { code?: string }) => e.code === 'ONNX_INVALID' && e.message.includes(bad));
  await assert.rejects(loadExternalOnnx(path.join(root, 'absent.onnx'), 'cpu'), { code: 'FILE_NOT_FOUND' });
});

test('a provider whose files are missing is named in the error', { skip: cudaInstalled() }, () => {
  assert.throws(
    () => checkProvider('cuda'),
    (e: Error & { code?: string }) => e.code === 'EP_UNAVAILABLE' && /libonnxruntime_providers_cuda\.so/.test(e.message),
  );
});

test('asking for WebGPU either runs and matches the CPU, or is an EP_UNAVAILABLE error; a bad EP name is too', async () => {
  const model = (current = new Head(7));
  const cpu = await runner('ep').run(model, 'head', forward, [x]);
  const gpu = new OnnxRunner(path.join(root, 'ep'), 'webgpu');
  runners.push(gpu);
  try {
    const got = await gpu.run(model, 'head', forward, [x]);
    got[0]!.data.forEach((v, i) => assert.ok(Math.abs(v - cpu[0]!.data[i]!) < 1e-4));
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'EP_UNAVAILABLE', String(err));
    assert.match((err as Error).message, /webgpu/);
  }
  const saved = process.env.KOSMOS_G_ORT_EP;
  process.env.KOSMOS_G_ORT_EP = 'tpu';
  try {
    assert.throws(() => requestedProvider(), (e: Error & { code?: string }) => e.code === 'EP_UNAVAILABLE' && /cpu, webgpu, cuda/.test(e.message));
  } finally {
    if (saved === undefined) delete process.env.KOSMOS_G_ORT_EP;
    else process.env.KOSMOS_G_ORT_EP = saved;
  }
});

test('a shape mismatch inside a module names the component, entry, module path and both shapes', async () => {
  const model = (current = new Head(5));
  const wrong = hostTensor(new Float32Array(10), [2, 5]);
  const tfjs = new TfjsRunner(await createTfjsOps('wasm'));
  for (const r of [runner('errors'), tfjs]) {
    await assert.rejects(r.run(model, 'head', forward, [wrong]), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'SHAPE_MISMATCH');
      assert.match(e.message, /Head 'head'/);
      assert.match(e.message, /\[2, 5\]/);
      assert.match(e.message, /\[3, 4\]/);
      assert.match(e.message, /in module proj\b/);
      return true;
    });
  }
});

test('theoretical FLOPs are counted from the traced graph', () => {
  const model = (current = new Head(6));
  const g = traceForward(model, forward, [{ shape: [2, 4], dtype: 'float32' }]).graph;
  assert.equal(graphFlops(g), 2 * 2 * 3 * 4); // one [2, 4] × [4, 3] product
});

test('open sessions are kept in an LRU: the least recently used is released first', async () => {
  const released: string[] = [];
  const fake = (name: string) => async () => ({ release: async () => void released.push(name) }) as unknown as InferenceSession;
  const lru = new SessionCache(2);
  const a = await lru.get('a', fake('a'));
  await lru.get('b', fake('b'));
  assert.equal(await lru.get('a', fake('a2')), a, 'a hit returns the open session');
  await lru.get('c', fake('c')); // evicts b, the least recently used
  await new Promise((ok) => setImmediate(ok));
  assert.deepEqual(released, ['b']);
  assert.equal(lru.size, 2);
  await lru.clear();
  assert.deepEqual(released.sort(), ['a', 'b', 'c']);
});

test('a session evicted while a run is in flight is released when the run ends, not before', async () => {
  const released: string[] = [];
  const fake = (name: string) => async () => ({ release: async () => void released.push(name) }) as unknown as InferenceSession;
  const lru = new SessionCache(1);
  const a = await lru.get('a', fake('a'));
  let finish!: () => void;
  const run = lru.using(a, () => new Promise<void>((ok) => (finish = ok)));
  await lru.get('b', fake('b')); // evicts a while it runs
  await lru.evict('b');
  await new Promise((ok) => setImmediate(ok));
  assert.deepEqual(released, ['b'], 'an idle session is released at once, a running one is not');
  finish();
  await run;
  assert.deepEqual(released, ['b', 'a']);
  assert.equal(lru.size, 0);
});

test('host ↔ ORT conversions: int64 ids, float16 round trip', () => {
  const ids = toOrt(hostTensor(Int32Array.from([1, -2, 3]), [3]), 'int64');
  assert.equal(ids.type, 'int64');
  assert.deepEqual(Array.from(fromOrt(ids).data), [1, -2, 3]);
  for (const v of [0, 1, -2.5, 65504, 1e-5, 0.333251953125]) {
    const back = fromHalf(toHalf(v));
    assert.ok(Math.abs(back - v) <= Math.abs(v) * 1e-3 + 6e-8, `${v} → ${back}`);
  }
  assert.equal(fromHalf(toHalf(1e6)), Infinity);
  const half = toOrt(hostTensor(Float32Array.from([0.5, 2]), [2]), 'float16');
  assert.deepEqual(Array.from(fromOrt(half).data), [0.5, 2]);
});

function cudaInstalled(): string | undefined {
  try {
    checkProvider('cuda');
    const reason = 'the CUDA provider files are installed here';
    console.log(`# skip: ${reason}`);
    return reason;
  } catch {
    return undefined;
  }
}
