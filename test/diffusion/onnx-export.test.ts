// SD 1.5 ONNX export folders (spec §4.2) load through LoadStableDiffusion and run as they are: the fixture is
// this project's own small U-Net and VAE traced to model.onnx files with the exporters' input/output names, in
// the diffusers layout (timestep float [batch], latent_sample) and the newer optimum one (timestep scalar,
// latent_parameters). Predictions equal the same weights run in-process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { traceForward, writeModel, Sym } from '../../models/backends/onnx/index.ts';
import type { ForwardFn } from '../../models/runtime/runner.ts';
import type { Module } from '../../models/nn/module.ts';
import { hostTensor, type HostTensor } from '../../models/ops/ops.ts';
import { getRunner } from '../../models/runtime/runners.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { SMALL_UNET_CONFIG } from '../../models/unet/config.ts';
import { unetEntry, vaeDecodeEntry, vaeEncodeEntry } from '../../models/unet/entries.ts';
import { AutoencoderKL } from '../../models/vae/autoencoder.ts';
import { SMALL_VAE_CONFIG } from '../../models/vae/config.ts';
import type { AnyNodeDefinition, NodeContext } from '../../engine/node-def.ts';
import { LoadStableDiffusion } from '../../nodes/diffusion/loaders.ts';
import { predictNoise } from '../../nodes/diffusion/denoise.ts';
import { VAEDecode, VAEEncode } from '../../nodes/diffusion/latent.ts';
import type { UNetValue, VAEValue } from '../../nodes/diffusion/values.ts';
import { assertClose, randomHost } from './helpers.ts';

const ctx = {} as NodeContext;
const exec = (def: AnyNodeDefinition, args: Record<string, unknown>): Promise<Record<string, unknown>> =>
  Promise.resolve(def.execute(args as never, ctx)) as Promise<Record<string, unknown>>;

/** Trace `forward` and write it with the given input/output names, as an exporter names them. */
function exportOnnx(file: string, model: Module, forward: ForwardFn, inputs: { name: string; shape: number[] }[], outputs: string[]): void {
  const g = traceForward(model, forward, inputs.map((i) => ({ shape: i.shape, dtype: 'float32' }))).graph;
  inputs.forEach((spec, i) => {
    const traced = g.inputs[i];
    g.inputs[i] = new Sym(spec.name, spec.shape, 'float32');
    g.nodes.unshift({ op: 'Identity', inputs: [spec.name], outputs: [traced.name], attrs: [] });
  });
  outputs.forEach((name, i) => {
    const traced = g.outputs[i];
    g.outputs[i] = new Sym(name, traced.shape, traced.dtype);
    g.nodes.push({ op: 'Identity', inputs: [traced.name], outputs: [name], attrs: [] });
  });
  writeModel(g, file);
}

const unet = new UNet2DConditionModel(SMALL_UNET_CONFIG, 51);
const vae = new AutoencoderKL(SMALL_VAE_CONFIG, 52);

/**
 * diffusers: timestep float [batch], encoder output `latent_sample` (a 4-channel sample; here the mean).
 * optimum (after 2024-11): timestep a float scalar [], encoder output `latent_parameters` (mean ‖ logvar).
 */
function writeExport(root: string, layout: 'diffusers' | 'optimum'): void {
  for (const d of ['unet', 'vae_encoder', 'vae_decoder']) mkdirSync(path.join(root, d), { recursive: true });
  const plain = unetEntry(unet);
  const scalarTimestep: ForwardFn = (ops, [sample, t, context]) =>
    plain(ops, [sample, ops.mul(ops.tensor(new Float32Array([1, 1]), [2]), ops.reshape(t, [1])), context]);
  exportOnnx(
    path.join(root, 'unet', 'model.onnx'),
    unet,
    layout === 'diffusers' ? plain : scalarTimestep,
    [
      { name: 'sample', shape: [2, 4, 8, 8] },
      { name: 'timestep', shape: layout === 'diffusers' ? [2] : [] },
      { name: 'encoder_hidden_states', shape: [2, 5, 32] },
    ],
    ['out_sample'],
  );
  exportOnnx(path.join(root, 'vae_decoder', 'model.onnx'), vae, vaeDecodeEntry(vae), [{ name: 'latent_sample', shape: [1, 4, 8, 8] }], ['sample']);
  const moments = vaeEncodeEntry(vae);
  const mean: ForwardFn = (ops, xs) => [ops.slice(moments(ops, xs)[0], [0, 0, 0, 0], [-1, 4, -1, -1])];
  exportOnnx(path.join(root, 'vae_encoder', 'model.onnx'), vae, layout === 'diffusers' ? mean : moments, [{ name: 'sample', shape: [1, 3, 32, 32] }], [
    layout === 'diffusers' ? 'latent_sample' : 'latent_parameters',
  ]);
}

for (const layout of ['diffusers', 'optimum'] as const) {
  test(`${layout}-layout ONNX export folder: U-Net ε, VAE decode and encode equal the in-process model`, async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), `kosmos-onnx-${layout}-`));
    writeExport(root, layout);
    const loaded = await exec(LoadStableDiffusion, { path: root, config: 'small', backend: 'onnx', seed: 0 });
    const u = loaded.unet as UNetValue;
    const v = loaded.vae as VAEValue;
    assert.ok(u.external && v.external?.decoder && v.external.encoder);
    assert.ok(u.model.namedParameters().every(([, p]) => !p.materialized), 'an ONNX export allocates no module weights');

    const x = randomHost([2, 4, 8, 8], 1);
    const c = randomHost([2, 5, 32], 2);
    const eps = await predictNoise(u, x, 321, c);
    const [ref] = await (await getRunner('tfjs')).run(unet, 'unet', unetEntry(unet), [x, hostTensor(new Float32Array([321, 321]), [2]), c]);
    assertClose(eps.data, ref.data, 1e-4, 'external U-Net');

    const latent: HostTensor = randomHost([1, 4, 8, 8], 3);
    const decoded = (await exec(VAEDecode, { vae: v, latent: { samples: latent, kind: 'image' } })).image as { data: Float32Array };
    const [img] = await (await getRunner('tfjs')).run(vae, 'vae_decode', vaeDecodeEntry(vae), [
      hostTensor(Float32Array.from(latent.data, (z) => z / 0.18215), [1, 4, 8, 8]),
    ]);
    assertClose(decoded.data, Float32Array.from(img.data, (s) => Math.min(1, Math.max(0, s / 2 + 0.5))), 1e-4, 'external VAE decode');

    const image = { data: new Float32Array(3 * 32 * 32).fill(0.5), batch: 1, channels: 3, height: 32, width: 32 };
    const enc = (await exec(VAEEncode, { vae: v, image, mode: 'sample', seed: 0 })).latent as { samples: HostTensor };
    const [m] = await (await getRunner('tfjs')).run(vae, 'vae_encode', vaeEncodeEntry(vae), [hostTensor(new Float32Array(3 * 32 * 32), [1, 3, 32, 32])]);
    assert.deepEqual(enc.samples.shape, [1, 4, 8, 8]);
    if (layout === 'diffusers') {
      // latent_sample is already a sample: encoding adds no second noise.
      assertClose(enc.samples.data, Float32Array.from(m.data.subarray(0, 256), (z) => z * 0.18215), 1e-4, 'external VAE encode');
    } else {
      const again = (await exec(VAEEncode, { vae: v, image, mode: 'mean', seed: 0 })).latent as { samples: HostTensor };
      assertClose(again.samples.data, Float32Array.from(m.data.subarray(0, 256), (z) => z * 0.18215), 1e-4, 'latent_parameters mean');
    }
  });
}
