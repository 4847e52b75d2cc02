// The same modules, weights and inputs through the tfjs backend and through the ONNX tracer + ONNX Runtime agree
// to a relative error below 1e-4 (fp32, relative-error.ts), output by output.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTfjsOps } from '../../models/backends/tfjs/index.ts';
import { TfjsRunner } from '../../models/runtime/tfjs-runner.ts';
import { OnnxRunner } from '../../models/backends/onnx/runner.ts';
import { fixtures } from './fixtures.ts';
import { relativeError } from './relative-error.ts';

const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'kosmos-onnx-parity-'));
const tfjs = new TfjsRunner(await createTfjsOps('wasm'));
const onnx = new OnnxRunner(cacheDir, 'cpu');
after(async () => {
  await onnx.sessions.clear();
  rmSync(cacheDir, { recursive: true, force: true });
});

for (const fx of fixtures()) {
  test(`${fx.name}: tfjs and ONNX Runtime agree`, async () => {
    const ref = await tfjs.run(fx.model, fx.name, fx.forward, fx.inputs);
    const got = await onnx.run(fx.model, fx.name, fx.forward, fx.inputs);
    assert.equal(got.length, ref.length);
    got.forEach((g, i) => {
      assert.deepEqual(g.shape, ref[i]!.shape, `${fx.name} output ${i} shape`);
      const err = relativeError(g.data, ref[i]!.data);
      assert.ok(err < 1e-4, `${fx.name} output ${i}: relative error ${err}`);
    });
  });
}
