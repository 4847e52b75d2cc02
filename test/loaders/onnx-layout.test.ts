// ONNX export layouts: tiny models carrying the diffusers, optimum (new) and optimum (old) signatures are
// written here, detected, and then actually run by onnxruntime-node with the adapted feeds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { hostTensor } from '../../models/ops/ops.ts';
import { Rng } from '../../models/ops/random.ts';
import {
  detectOnnxPipeline,
  floatFeed,
  halfBitsToFloat,
  latentFromEncoderOutput,
  textIdsFeed,
  timestepFeed,
  type OnnxFeed,
} from '../../models/loaders/onnx-layout.ts';
import { signatureModel, type FixtureValue } from './onnx-fixture.ts';

type Variant = { ids: 'int32' | 'int64'; timestep: FixtureValue; vaeOut: 'latent_sample' | 'latent_parameters' };

function writePipeline(root: string, v: Variant): void {
  const put = (dir: string, inputs: FixtureValue[], outputs: FixtureValue[]): void => {
    mkdirSync(path.join(root, dir), { recursive: true });
    writeFileSync(path.join(root, dir, 'model.onnx'), signatureModel(inputs, outputs));
  };
  const bs = ['batch', 'sequence'];
  put('text_encoder', [{ name: 'input_ids', type: v.ids, dims: bs }], [
    { name: 'last_hidden_state', type: 'float32', dims: bs },
    { name: 'pooler_output', type: 'float32', dims: bs },
  ]);
  const latent = ['batch', 4, 'height', 'width'];
  put('unet', [{ name: 'sample', type: 'float32', dims: latent }, v.timestep, { name: 'encoder_hidden_states', type: 'float32', dims: ['batch', 'sequence', 8] }], [
    { name: 'out_sample', type: 'float32', dims: latent },
  ]);
  put('vae_encoder', [{ name: 'sample', type: 'float32', dims: ['batch', 3, 'height', 'width'] }], [
    { name: v.vaeOut, type: 'float32', dims: ['batch', 3, 'height', 'width'] },
  ]);
  put('vae_decoder', [{ name: 'latent_sample', type: 'float16', dims: latent }], [{ name: 'sample', type: 'float16', dims: latent }]);
}

async function run(file: string, feeds: OnnxFeed[]): Promise<ort.InferenceSession.ReturnType> {
  const session = await ort.InferenceSession.create(file);
  try {
    return await session.run(Object.fromEntries(feeds.map((f) => [f.name, new ort.Tensor(f.type, f.data, f.dims)])));
  } finally {
    await session.release();
  }
}

const variants: [string, Variant, string][] = [
  ['diffusers', { ids: 'int32', timestep: { name: 'timestep', type: 'float32', dims: ['batch'] }, vaeOut: 'latent_sample' }, 'diffusers'],
  ['optimum (2024-11 on)', { ids: 'int64', timestep: { name: 'timestep', type: 'float32', dims: [] }, vaeOut: 'latent_parameters' }, 'optimum'],
  ['optimum (before 2024-11)', { ids: 'int64', timestep: { name: 'timestep', type: 'int64', dims: ['steps'] }, vaeOut: 'latent_sample' }, 'optimum'],
  ['fixed [1] timestep', { ids: 'int32', timestep: { name: 'timestep', type: 'float32', dims: [1] }, vaeOut: 'latent_sample' }, 'diffusers'],
];

for (const [label, variant, exporter] of variants) {
  test(`ONNX layout: ${label}`, async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'onnx-'));
    try {
      writePipeline(root, variant);
      const layout = await detectOnnxPipeline(root);
      assert.equal(layout.exporter, exporter);
      assert.equal(layout.textEncoder!.idsType, variant.ids);
      assert.equal(layout.textEncoder!.pooled, 'pooler_output');
      assert.equal(layout.unet!.timestepType, variant.timestep.type);
      const form = variant.timestep.dims.length === 0 ? 'scalar' : variant.timestep.dims[0] === 1 ? 'single' : 'batch';
      assert.equal(layout.unet!.timestepForm, form);
      assert.equal(layout.vaeEncoder!.output, variant.vaeOut);
      assert.equal(layout.vaeDecoder!.latentType, 'float16');

      // The adapted feeds are accepted by ONNX Runtime.
      const ids = await run(layout.files.textEncoder!, [textIdsFeed(layout.textEncoder!, new Int32Array([49406, 320, 49407, 49407]), [2, 2])]);
      assert.deepEqual([...(ids['last_hidden_state']!.data as Float32Array)], [49406, 320, 49407, 49407]);
      const u = layout.unet!;
      const out = await run(layout.files.unet!, [
        floatFeed(u.sampleName, u.sampleType, new Float32Array(8).fill(0.25), [2, 4, 1, 1]),
        timestepFeed(u, 946.3, 2),
        floatFeed(u.hiddenStatesName, u.hiddenStatesType, new Float32Array(16), [2, 1, 8]),
      ]);
      assert.deepEqual(out[u.outputName]!.dims, [2, 4, 1, 1]);
      const d = layout.vaeDecoder!;
      const img = await run(layout.files.vaeDecoder!, [floatFeed(d.latentName, d.latentType, Float32Array.from([0.5, -2, 1.25, 3]), [1, 4, 1, 1])]);
      assert.deepEqual([...halfBitsToFloat(img['sample']!.data as Uint16Array)], [0.5, -2, 1.25, 3]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}

test('timestep feeds: int64 rounds, float keeps the fraction, forms give the dims', () => {
  const base = { sampleName: 's', sampleType: 'float32', timestepName: 't', hiddenStatesName: 'h', hiddenStatesType: 'float32', outputName: 'o' } as const;
  const i64 = timestepFeed({ ...base, timestepType: 'int64', timestepForm: 'batch' }, 946.6, 3);
  assert.deepEqual([...(i64.data as BigInt64Array)], [947n, 947n, 947n]);
  assert.deepEqual(i64.dims, [3]);
  const f = timestepFeed({ ...base, timestepType: 'float32', timestepForm: 'scalar' }, 946.5, 3);
  assert.deepEqual([f.dims, [...f.data]], [[], [946.5]]);
  assert.deepEqual(timestepFeed({ ...base, timestepType: 'float32', timestepForm: 'single' }, 1, 2).dims, [1]);
});

test('latent_parameters: mean, or a seeded sample of N(mean, exp(logvar))', () => {
  const layout = { sampleName: 'sample', sampleType: 'float32', outputName: 'latent_parameters', output: 'latent_parameters' } as const;
  // [1, 4, 1, 1]: two channels of mean, two of logvar.
  const params = hostTensor(Float32Array.from([1, -1, Math.log(4), -100]), [1, 4, 1, 1]);
  assert.deepEqual([...latentFromEncoderOutput(layout, params).data], [1, -1]);
  const z = new Rng(5);
  const want = [1 + 2 * z.normal(), -1 + Math.exp(-15) * z.normal()];
  const got = latentFromEncoderOutput(layout, params, new Rng(5));
  assert.deepEqual(got.shape, [1, 2, 1, 1]);
  got.data.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-5, `${v} vs ${want[i]}`));
});

test('a folder without models is a coded error', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'onnx-'));
  try {
    await assert.rejects(detectOnnxPipeline(root), { code: 'NOT_ONNX_PIPELINE' });
    mkdirSync(path.join(root, 'unet'));
    writeFileSync(path.join(root, 'unet', 'model.onnx'), 'not a model');
    await assert.rejects(detectOnnxPipeline(root), { code: 'BAD_ONNX_MODEL' });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
