// getRunner: one runner per backend name, both giving the same numbers through the Runner contract.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getRunner } from '../../models/runtime/runners.ts';
import { BACKENDS, type BackendName } from '../../models/runtime/runner.ts';
import { Module } from '../../models/nn/module.ts';
import { Embedding } from '../../models/nn/layers.ts';
import { Rng } from '../../models/ops/random.ts';
import { hostTensor } from '../../models/ops/ops.ts';

const cache = mkdtempSync(path.join(os.tmpdir(), 'kosmos-runners-'));
process.env.KOSMOS_G_CACHE = cache; // read when the shared ONNX runner is first made
after(() => rmSync(cache, { recursive: true, force: true }));

class Tokens extends Module {
  embed = new Embedding(5, 3, new Rng(1));
}

test('each backend name gives a runner of that backend, and they agree', async () => {
  const model = new Tokens();
  const ids = hostTensor(Int32Array.from([4, 0, 2]), [3]);
  const results = [];
  for (const name of BACKENDS) {
    const runner = await getRunner(name);
    assert.equal(runner.backend, name);
    assert.equal(await getRunner(name), runner, 'runners are shared');
    const [y] = await runner.run(model, 'embed', (o, [i]) => [o.mul(model.embed.forward(o, i!), 2)], [ids]);
    assert.deepEqual(y!.shape, [3, 3]);
    results.push(y!.data);
  }
  const weights = model.embed.weight.data;
  assert.deepEqual(Array.from(results[0]!), Array.from(results[1]!));
  assert.equal(results[0]![0], 2 * weights[12]!); // row 4, column 0
});

test('an unknown backend is an error with a code', async () => {
  await assert.rejects(getRunner('torch' as BackendName), { code: 'UNKNOWN_BACKEND' });
});
