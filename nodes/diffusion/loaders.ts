// Loader nodes: LoadStableDiffusion, LoadUNet, LoadVAE, LoadControlNet. An empty path builds a seeded random model
// of the chosen preset (the 'RandomInit' path the tests and CI workflows use).

import { defineNode } from '../../engine/node-def.ts';
import { asBackend, BACKEND_WIDGET, CONFIG_WIDGET, diffusionError } from './common.ts';
import { ExternalUNet, findOnnxFile, loadExternalVAE } from './external.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { SD15_UNET_CONFIG, SMALL_UNET_CONFIG } from '../../models/unet/config.ts';
import { AutoencoderKL } from '../../models/vae/autoencoder.ts';
import { SD15_VAE_CONFIG, SMALL_VAE_CONFIG } from '../../models/vae/config.ts';
import { buildControlNet, buildUNet, buildVAE, logConfigNotes, preload } from './build.ts';
import { moduleBytes, type ControlNetValue, type UNetValue, type VAEValue } from './values.ts';
import type { Module } from '../../models/nn/module.ts';
import type { BackendName } from '../../models/runtime/runner.ts';

const PATH_WIDGET = {
  kind: 'PATH',
  default: '',
  mode: 'read',
  extensions: ['.safetensors', '.onnx'],
  description:
    'A diffusers folder, a component folder, a .safetensors file (diffusers or LDM keys) or an SD 1.5 ONNX export folder / model.onnx; empty: a seeded random model',
} as const;
const SEED_WIDGET = { kind: 'SEED', default: 0, description: 'Seed of the random weights when the path is empty' } as const;

function value<M extends Module>(built: { model: M; source: string }, backend: BackendName) {
  return { model: built.model, source: built.source, backend, byteSize: () => moduleBytes(built.model) };
}

/** An SD 1.5 ONNX export (diffusers or optimum layout) instead of safetensors weights, when `path` is one. */
async function externalUNet(path: string, config: string, backend: BackendName): Promise<UNetValue | undefined> {
  const file = findOnnxFile(path, 'unet');
  if (!file) return undefined;
  const model = new UNet2DConditionModel(config === 'small' ? SMALL_UNET_CONFIG : SD15_UNET_CONFIG);
  const external = await ExternalUNet.load(file);
  // The ONNX Runtime session is this value's only resource: release it when the cache lets the value go.
  return { model, backend, source: file, external, byteSize: () => 0, dispose: () => void external.onnx.release() };
}

async function externalVAE(path: string, config: string, backend: BackendName): Promise<VAEValue | undefined> {
  const external = await loadExternalVAE(path);
  if (!external) return undefined;
  const model = new AutoencoderKL(config === 'small' ? SMALL_VAE_CONFIG : SD15_VAE_CONFIG);
  const dispose = () => {
    void external.encoder?.release();
    void external.decoder?.release();
  };
  return { model, backend, source: path, external, byteSize: () => 0, dispose };
}

export const LoadStableDiffusion = defineNode({
  type: 'LoadStableDiffusion',
  category: 'diffusion/loaders',
  description: 'Load the U-Net and VAE of a Stable Diffusion 1.x model (diffusers folder or .safetensors), or build small random ones',
  inputs: {},
  widgets: { path: PATH_WIDGET, config: CONFIG_WIDGET, backend: BACKEND_WIDGET, seed: SEED_WIDGET },
  outputs: { unet: { type: 'UNET' }, vae: { type: 'VAE' } },
  async execute({ path, config, backend, seed }, ctx) {
    const b = asBackend(backend);
    const onnxUnet = await externalUNet(path, config, b);
    if (onnxUnet) {
      const vae = await externalVAE(path, config, b);
      if (!vae) throw diffusionError('FILE_NOT_FOUND', `${path}: an ONNX export needs vae_decoder/model.onnx beside unet/`);
      return { unet: onnxUnet, vae };
    }
    const file = await preload(path);
    const [unet, vae] = await Promise.all([buildUNet(path, config, seed, file), buildVAE(path, config, seed + 1, file)]);
    logConfigNotes(ctx.log, 'unet', unet);
    logConfigNotes(ctx.log, 'vae', vae);
    return { unet: value(unet, b) as UNetValue, vae: value(vae, b) as VAEValue };
  },
});

export const LoadUNet = defineNode({
  type: 'LoadUNet',
  category: 'diffusion/loaders',
  description: 'Load a U-Net (UNet2DConditionModel) alone',
  inputs: {},
  widgets: { path: PATH_WIDGET, config: CONFIG_WIDGET, backend: BACKEND_WIDGET, seed: SEED_WIDGET },
  outputs: { unet: { type: 'UNET' } },
  async execute({ path, config, backend, seed }, ctx) {
    const b = asBackend(backend);
    const external = await externalUNet(path, config, b);
    if (external) return { unet: external };
    const built = await buildUNet(path, config, seed);
    logConfigNotes(ctx.log, 'unet', built);
    return { unet: value(built, b) as UNetValue };
  },
});

export const LoadVAE = defineNode({
  type: 'LoadVAE',
  category: 'diffusion/loaders',
  description: 'Load a VAE (AutoencoderKL); accepts the old query/key/value/proj_attn attention names',
  inputs: {},
  widgets: { path: PATH_WIDGET, config: CONFIG_WIDGET, backend: BACKEND_WIDGET, seed: SEED_WIDGET },
  outputs: { vae: { type: 'VAE' } },
  async execute({ path, config, backend, seed }) {
    const b = asBackend(backend);
    return { vae: (await externalVAE(path, config, b)) ?? (value(await buildVAE(path, config, seed), b) as VAEValue) };
  },
});

export const LoadControlNet = defineNode({
  type: 'LoadControlNet',
  category: 'diffusion/loaders',
  description: 'Load an SD 1.5 ControlNet; an empty path gives one with zero convs (it changes nothing until trained)',
  inputs: {},
  widgets: { path: PATH_WIDGET, config: CONFIG_WIDGET, backend: BACKEND_WIDGET, seed: SEED_WIDGET },
  outputs: { controlnet: { type: 'CONTROLNET' } },
  async execute({ path, config, backend, seed }, ctx) {
    const built = await buildControlNet(path, config, seed);
    logConfigNotes(ctx.log, 'controlnet', built);
    return { controlnet: value(built, asBackend(backend)) as ControlNetValue };
  },
});
