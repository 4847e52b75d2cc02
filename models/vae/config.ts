// AutoencoderKL configuration (SD 1.5 `vae/config.json`, spec §3.4): real and small presets, and a reader for the
// diffusers config file.

import { ignoredSettings, noEffectNotes, type ReadConfig } from '../config-keys.ts';

export interface VAEConfig {
  inChannels: number;
  outChannels: number;
  blockOutChannels: number[];
  layersPerBlock: number;
  latentChannels: number;
  normNumGroups: number;
  /** Latents are multiplied by this after encoding and divided before decoding (0.18215 for SD 1.5). */
  scalingFactor: number;
}

export const SD15_VAE_CONFIG: VAEConfig = {
  inChannels: 3,
  outChannels: 3,
  blockOutChannels: [128, 256, 512, 512],
  layersPerBlock: 2,
  latentChannels: 4,
  normNumGroups: 32,
  scalingFactor: 0.18215,
};

/** ×4 downsampling (two levels), 8 groups: pairs with SMALL_UNET_CONFIG on 32×32 images → 8×8 latents. */
export const SMALL_VAE_CONFIG: VAEConfig = {
  inChannels: 3,
  outChannels: 3,
  blockOutChannels: [16, 32, 32],
  layersPerBlock: 1,
  latentChannels: 4,
  normNumGroups: 8,
  scalingFactor: 0.18215,
};

/** AutoencoderKL keys whose listed values are what this VAE builds (any other value is reported). */
const VAE_RULES = {
  read: ['in_channels', 'out_channels', 'block_out_channels', 'layers_per_block', 'latent_channels', 'norm_num_groups', 'scaling_factor'],
  asIs: {
    act_fn: ['silu'],
    down_block_types: ['DownEncoderBlock2D'],
    up_block_types: ['UpDecoderBlock2D'],
    use_quant_conv: [true],
    use_post_quant_conv: [true],
    mid_block_add_attention: [true],
    shift_factor: [null],
    latents_mean: [null],
    latents_std: [null],
  },
  noEffect: {
    sample_size: 'images of any size (a multiple of the downscale) are encoded',
    force_upcast: 'the VAE already runs in float32',
  },
};

/** Reads a diffusers `vae/config.json` (snake_case keys), noting defaults taken and settings ignored. */
export function readVAEConfig(json: Record<string, unknown>, where = 'vae/config.json'): ReadConfig<VAEConfig> {
  const inferred: string[] = [];
  const get = <T>(key: string, fallback: T): T => {
    if (key in json && json[key] !== null) return json[key] as T;
    inferred.push(`${key} absent: ${JSON.stringify(fallback)} (SD 1.5)`);
    return fallback;
  };
  const b = SD15_VAE_CONFIG;
  const config: VAEConfig = {
    inChannels: get('in_channels', b.inChannels),
    outChannels: get('out_channels', b.outChannels),
    blockOutChannels: get('block_out_channels', b.blockOutChannels),
    layersPerBlock: get('layers_per_block', b.layersPerBlock),
    latentChannels: get('latent_channels', b.latentChannels),
    normNumGroups: get('norm_num_groups', b.normNumGroups),
    scalingFactor: get('scaling_factor', b.scalingFactor),
  };
  for (const c of config.blockOutChannels) {
    if (c % config.normNumGroups !== 0) {
      throw Object.assign(new Error(`${where}: channels ${c} not divisible by norm_num_groups ${config.normNumGroups}`), {
        code: 'VAE_CONFIG',
      });
    }
  }
  inferred.push(...noEffectNotes(json, VAE_RULES));
  return { config, inferred, ignored: ignoredSettings(json, VAE_RULES) };
}

export function vaeConfigFromDiffusers(json: Record<string, unknown>, where = 'vae/config.json'): VAEConfig {
  return readVAEConfig(json, where).config;
}

/** Image side / latent side. */
export function vaeDownscale(config: VAEConfig): number {
  return 2 ** (config.blockOutChannels.length - 1);
}

/** The diffusers `config.json` of a config: the inverse of `vaeConfigFromDiffusers`. */
export function vaeConfigToDiffusers(c: VAEConfig): Record<string, unknown> {
  return {
    _class_name: 'AutoencoderKL',
    in_channels: c.inChannels,
    out_channels: c.outChannels,
    block_out_channels: c.blockOutChannels,
    layers_per_block: c.layersPerBlock,
    latent_channels: c.latentChannels,
    norm_num_groups: c.normNumGroups,
    scaling_factor: c.scalingFactor,
  };
}
