// U-Net configuration (diffusers `UNet2DConditionModel` config, spec §3.3): the real SD 1.5 preset, a small preset
// for tests and the embedded default, and a reader for a diffusers `unet/config.json`.

import { ignoredSettings, noEffectNotes, type ReadConfig } from '../config-keys.ts';

export type DownBlockType = 'CrossAttnDownBlock2D' | 'DownBlock2D';
export type UpBlockType = 'CrossAttnUpBlock2D' | 'UpBlock2D';

export interface UNetConfig {
  inChannels: number;
  outChannels: number;
  blockOutChannels: number[];
  layersPerBlock: number;
  downBlockTypes: DownBlockType[];
  upBlockTypes: UpBlockType[];
  crossAttentionDim: number;
  /**
   * Heads per block (diffusers' `attention_head_dim`, which for SD 1.5 actually means the head count: 8 heads of
   * C/8 channels, spec §3.3). One number applies to every block.
   */
  attentionHeads: number | number[];
  normNumGroups: number;
  normEps: number;
  flipSinToCos: boolean;
  freqShift: number;
  sampleSize: number;
  /**
   * diffusers `addition_embed_type`: 'text' adds the pooled condition to the timestep embedding (TextTimeEmbedding,
   * as in DeepFloyd IF); absent or null (SD 1.5): none.
   */
  additionEmbedType?: 'text' | null;
  /** diffusers `addition_embed_type_num_heads` (default 64): the heads of that pooling. */
  additionEmbedHeads?: number;
}

export const SD15_UNET_CONFIG: UNetConfig = {
  inChannels: 4,
  outChannels: 4,
  blockOutChannels: [320, 640, 1280, 1280],
  layersPerBlock: 2,
  downBlockTypes: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  upBlockTypes: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
  crossAttentionDim: 768,
  attentionHeads: 8,
  normNumGroups: 32,
  normEps: 1e-5,
  flipSinToCos: true,
  freqShift: 0,
  sampleSize: 64,
};

/** A tiny U-Net with the same structure: two levels, one layer per block, 8 norm groups, 32-wide condition. */
export const SMALL_UNET_CONFIG: UNetConfig = {
  inChannels: 4,
  outChannels: 4,
  blockOutChannels: [32, 64],
  layersPerBlock: 1,
  downBlockTypes: ['CrossAttnDownBlock2D', 'DownBlock2D'],
  upBlockTypes: ['UpBlock2D', 'CrossAttnUpBlock2D'],
  crossAttentionDim: 32,
  attentionHeads: 2,
  normNumGroups: 8,
  normEps: 1e-5,
  flipSinToCos: true,
  freqShift: 0,
  sampleSize: 8,
};

/** diffusers' default `addition_embed_type_num_heads`. */
export const DEFAULT_ADDITION_EMBED_HEADS = 64;

/** The heads of the pooled condition's attention (addition_embed_type 'text'), diffusers' default when unset. */
export function additionEmbedHeads(config: UNetConfig): number {
  return config.additionEmbedHeads ?? DEFAULT_ADDITION_EMBED_HEADS;
}

export function headsForBlock(config: UNetConfig, block: number): number {
  const h = config.attentionHeads;
  return Array.isArray(h) ? h[block] : h;
}

/** Checks the invariants the module relies on; throws with code UNET_CONFIG. */
export function checkUNetConfig(config: UNetConfig): void {
  const fail = (msg: string): never => {
    throw Object.assign(new Error(`U-Net config: ${msg}`), { code: 'UNET_CONFIG' });
  };
  const n = config.blockOutChannels.length;
  if (n < 1) fail('blockOutChannels is empty');
  if (config.downBlockTypes.length !== n) fail(`downBlockTypes has ${config.downBlockTypes.length} entries, expected ${n}`);
  if (config.upBlockTypes.length !== n) fail(`upBlockTypes has ${config.upBlockTypes.length} entries, expected ${n}`);
  for (const c of config.blockOutChannels) {
    if (c % config.normNumGroups !== 0) fail(`channels ${c} not divisible by normNumGroups ${config.normNumGroups}`);
  }
  if (config.additionEmbedType) {
    const heads = additionEmbedHeads(config);
    if (config.additionEmbedType !== 'text') fail(`additionEmbedType "${String(config.additionEmbedType)}" is not supported (only "text")`);
    if (!(heads >= 1) || config.crossAttentionDim % heads !== 0) fail(`the pooled condition's ${config.crossAttentionDim} channels are not divisible by ${heads} heads`);
  }
  for (let i = 0; i < n; i++) {
    const heads = headsForBlock(config, i);
    if (!(heads >= 1) || config.blockOutChannels[i] % heads !== 0) {
      fail(`block ${i}: ${config.blockOutChannels[i]} channels not divisible by ${heads} heads`);
    }
  }
}


/** Keys of UNet2DConditionModel / ControlNetModel configs whose listed values are what this U-Net builds. */
const UNET_AS_IS: Record<string, readonly unknown[]> = {
  act_fn: ['silu'],
  attention_type: ['default'],
  center_input_sample: [false],
  class_embed_type: [null],
  class_embeddings_concat: [false],
  conv_in_kernel: [3],
  conv_out_kernel: [3],
  cross_attention_norm: [null],
  downsample_padding: [1],
  dropout: [0],
  dual_cross_attention: [false],
  encoder_hid_dim_type: [null],
  mid_block_only_cross_attention: [null],
  mid_block_scale_factor: [1],
  mid_block_type: ['UNetMidBlock2DCrossAttn'],
  num_class_embeds: [null],
  only_cross_attention: [false],
  projection_class_embeddings_input_dim: [null],
  addition_time_embed_dim: [null],
  resnet_out_scale_factor: [1],
  resnet_skip_time_act: [false],
  resnet_time_scale_shift: ['default'],
  reverse_transformer_layers_per_block: [null],
  time_cond_proj_dim: [null],
  time_embedding_act_fn: [null],
  time_embedding_dim: [null],
  time_embedding_type: ['positional'],
  timestep_post_act: [null],
  transformer_layers_per_block: [1],
};

/** SD 2.x settings that change nothing in this implementation, and why. */
const UNET_NO_EFFECT: Record<string, string> = {
  upcast_attention: 'attention already runs in float32 here',
  use_linear_projection: 'Linear proj_in/proj_out weights are loaded as the equivalent 1×1 convs',
};

const UNET_READ = [
  'in_channels',
  'out_channels',
  'block_out_channels',
  'layers_per_block',
  'down_block_types',
  'up_block_types',
  'cross_attention_dim',
  'attention_head_dim',
  'num_attention_heads',
  'norm_num_groups',
  'norm_eps',
  'flip_sin_to_cos',
  'freq_shift',
  'sample_size',
  'addition_embed_type',
  'addition_embed_type_num_heads',
  'encoder_hid_dim',
];

/** The rules for the keys every U-Net-shaped config shares (the ControlNet reader adds its own). */
const UNET_KEY_RULES = { read: UNET_READ, asIs: UNET_AS_IS, noEffect: UNET_NO_EFFECT };

function configError(message: string): Error {
  return Object.assign(new Error(message), { code: 'UNET_CONFIG' });
}

/** The up path that mirrors a down path (what a ControlNet's U-Net has; ControlNet configs list no up blocks). */
export function mirroredUpBlocks(down: readonly DownBlockType[]): UpBlockType[] {
  return [...down].reverse().map((t) => (t === 'CrossAttnDownBlock2D' ? 'CrossAttnUpBlock2D' : 'UpBlock2D'));
}

/**
 * Reads the U-Net part of a diffusers config (snake_case keys): `unet/config.json`, or a ControlNet's config
 * (`kind: 'controlnet'`: no up blocks, which are mirrored from the down blocks). Absent keys take SD 1.5's values
 * and are noted; settings that cannot be honoured are refused (UNET_CONFIG) or noted as ignored.
 */
export function readUNetConfig(
  json: Record<string, unknown>,
  where = 'unet/config.json',
  kind: 'unet' | 'controlnet' = 'unet',
  extraKeys: readonly string[] = [],
): ReadConfig<UNetConfig> {
  const inferred: string[] = [];
  const base = SD15_UNET_CONFIG;
  const get = <T>(key: string, fallback: T): T => {
    if (key in json && json[key] !== null) return json[key] as T;
    inferred.push(`${key} absent: ${JSON.stringify(fallback)} (SD 1.5)`);
    return fallback;
  };
  const downBlockTypes = get('down_block_types', base.downBlockTypes);
  // diffusers: num_attention_heads defaults to attention_head_dim, which holds head counts (the naming bug, spec
  // §3.3); SD 2.x lists one per level, [5, 10, 20, 20]: 64-wide heads.
  const heads = json['num_attention_heads'] ?? null;
  const config: UNetConfig = {
    inChannels: get('in_channels', base.inChannels),
    outChannels: kind === 'unet' ? get('out_channels', base.outChannels) : ((json['in_channels'] as number | undefined) ?? base.inChannels),
    blockOutChannels: get('block_out_channels', base.blockOutChannels),
    layersPerBlock: get('layers_per_block', base.layersPerBlock),
    downBlockTypes,
    upBlockTypes: kind === 'unet' ? get('up_block_types', base.upBlockTypes) : mirroredUpBlocks(downBlockTypes),
    crossAttentionDim: get('cross_attention_dim', base.crossAttentionDim),
    attentionHeads: heads !== null ? (heads as number | number[]) : get('attention_head_dim', base.attentionHeads),
    normNumGroups: get('norm_num_groups', base.normNumGroups),
    normEps: get('norm_eps', base.normEps),
    flipSinToCos: get('flip_sin_to_cos', base.flipSinToCos),
    freqShift: get('freq_shift', base.freqShift),
    // A ControlNet config has no sample_size (it takes the U-Net's latents, whatever their size).
    sampleSize: kind === 'unet' ? get('sample_size', base.sampleSize) : ((json['sample_size'] as number | undefined) ?? base.sampleSize),
  };
  if (kind === 'controlnet') inferred.push(`up blocks (a ControlNet has none): mirrored from down_block_types for the checks`);
  const addition = json['addition_embed_type'] ?? null;
  if (addition !== null) {
    // SDXL's 'text_time' and the image kinds need inputs this U-Net does not take: refuse rather than load wrongly.
    if (addition !== 'text') throw configError(`${where}: addition_embed_type "${String(addition)}" is not supported (only "text")`);
    config.additionEmbedType = 'text';
    config.additionEmbedHeads = (json['addition_embed_type_num_heads'] as number | undefined) ?? DEFAULT_ADDITION_EMBED_HEADS;
  }
  if ((json['encoder_hid_dim'] ?? null) !== null) {
    throw configError(`${where}: encoder_hid_dim is not supported (the condition must already be cross_attention_dim wide)`);
  }
  const known: string[] = ['CrossAttnDownBlock2D', 'DownBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'];
  for (const t of [...config.downBlockTypes, ...config.upBlockTypes]) {
    if (!known.includes(t)) throw configError(`${where}: unsupported block type "${t}"`);
  }
  if (Array.isArray(config.attentionHeads) && config.attentionHeads.length !== config.blockOutChannels.length) {
    throw configError(`${where}: attention_head_dim lists ${config.attentionHeads.length} values for ${config.blockOutChannels.length} levels`);
  }
  try {
    checkUNetConfig(config);
  } catch (e) {
    throw configError(`${where}: ${(e as Error).message}`);
  }
  const rules = { ...UNET_KEY_RULES, read: [...UNET_READ, ...extraKeys] };
  inferred.push(...noEffectNotes(json, rules));
  return { config, inferred, ignored: ignoredSettings(json, rules) };
}

/** Reads a diffusers `unet/config.json` object (snake_case keys). */
export function unetConfigFromDiffusers(json: Record<string, unknown>, where = 'unet/config.json'): UNetConfig {
  return readUNetConfig(json, where).config;
}

/** The diffusers `config.json` of a config: the inverse of `unetConfigFromDiffusers`. */
export function unetConfigToDiffusers(c: UNetConfig): Record<string, unknown> {
  return {
    _class_name: 'UNet2DConditionModel',
    in_channels: c.inChannels,
    out_channels: c.outChannels,
    block_out_channels: c.blockOutChannels,
    layers_per_block: c.layersPerBlock,
    down_block_types: c.downBlockTypes,
    up_block_types: c.upBlockTypes,
    cross_attention_dim: c.crossAttentionDim,
    attention_head_dim: c.attentionHeads,
    norm_num_groups: c.normNumGroups,
    norm_eps: c.normEps,
    flip_sin_to_cos: c.flipSinToCos,
    freq_shift: c.freqShift,
    sample_size: c.sampleSize,
    ...(c.additionEmbedType ? { addition_embed_type: c.additionEmbedType, addition_embed_type_num_heads: additionEmbedHeads(c) } : {}),
  };
}

