// Loader nodes: LoadStableDiffusion, LoadUNet, LoadVAE, LoadControlNet. An empty path builds a seeded random model
// of the chosen preset (the 'RandomInit' path the tests and CI workflows use).

import { defineNode } from '../../engine/node-def.ts';
import { asBackend, BACKEND_WIDGET, CONFIG_WIDGET } from './common.ts';
import { buildControlNet, buildUNet, buildVAE, preload } from './build.ts';
import { moduleBytes, type ControlNetValue, type UNetValue, type VAEValue } from './values.ts';
import type { Module } from '../../models/nn/module.ts';
import type { BackendName } from '../../models/runtime/runner.ts';

const PATH_WIDGET = {
  kind: 'PATH',
  default: '',
  mode: 'read',
  extensions: ['.safetensors'],
  description: 'A diffusers folder, a component folder or a .safetensors file; empty: a seeded random model',
} as const;
const SEED_WIDGET = { kind: 'SEED', default: 0, description: 'Seed of the random weights when the path is empty' } as const;

function value<M extends Module>(built: { model: M; source: string }, backend: BackendName) {
  return { model: built.model, source: built.source, backend, byteSize: () => moduleBytes(built.model) };
}

export const LoadStableDiffusion = defineNode({
  type: 'LoadStableDiffusion',
  category: 'diffusion/loaders',
  description: 'Load the U-Net and VAE of a Stable Diffusion 1.x model (diffusers folder or .safetensors), or build small random ones',
  inputs: {},
  widgets: { path: PATH_WIDGET, config: CONFIG_WIDGET, backend: BACKEND_WIDGET, seed: SEED_WIDGET },
  outputs: { unet: { type: 'UNET' }, vae: { type: 'VAE' } },
  async execute({ path, config, backend, seed }) {
    const b = asBackend(backend);
    const file = await preload(path);
    const [unet, vae] = await Promise.all([buildUNet(path, config, seed, file), buildVAE(path, config, seed + 1, file)]);
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
  async execute({ path, config, backend, seed }) {
    return { unet: value(await buildUNet(path, config, seed), asBackend(backend)) as UNetValue };
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
    return { vae: value(await buildVAE(path, config, seed), asBackend(backend)) as VAEValue };
  },
});

export const LoadControlNet = defineNode({
  type: 'LoadControlNet',
  category: 'diffusion/loaders',
  description: 'Load an SD 1.5 ControlNet; an empty path gives one with zero convs (it changes nothing until trained)',
  inputs: {},
  widgets: { path: PATH_WIDGET, config: CONFIG_WIDGET, backend: BACKEND_WIDGET, seed: SEED_WIDGET },
  outputs: { controlnet: { type: 'CONTROLNET' } },
  async execute({ path, config, backend, seed }) {
    return { controlnet: value(await buildControlNet(path, config, seed), asBackend(backend)) as ControlNetValue };
  },
});
