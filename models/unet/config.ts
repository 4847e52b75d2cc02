// U-Net configuration (diffusers `UNet2DConditionModel` config, spec §3.3): the real SD 1.5 preset, a small preset
// for tests and the embedded default, and a reader for a diffusers `unet/config.json`.

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

/** Reads a diffusers `unet/config.json` object (snake_case keys). */
export function unetConfigFromDiffusers(json: Record<string, unknown>, where = 'unet/config.json'): UNetConfig {
  const get = <T>(key: string, fallback: T): T => (key in json ? (json[key] as T) : fallback);
  const base = SD15_UNET_CONFIG;
  const config: UNetConfig = {
    inChannels: get('in_channels', base.inChannels),
    outChannels: get('out_channels', base.outChannels),
    blockOutChannels: get('block_out_channels', base.blockOutChannels),
    layersPerBlock: get('layers_per_block', base.layersPerBlock),
    downBlockTypes: get('down_block_types', base.downBlockTypes),
    upBlockTypes: get('up_block_types', base.upBlockTypes),
    crossAttentionDim: get('cross_attention_dim', base.crossAttentionDim),
    // diffusers: num_attention_heads defaults to attention_head_dim (the naming bug, spec §3.3)
    attentionHeads: get('num_attention_heads', null) ?? get('attention_head_dim', base.attentionHeads),
    normNumGroups: get('norm_num_groups', base.normNumGroups),
    normEps: get('norm_eps', base.normEps),
    flipSinToCos: get('flip_sin_to_cos', base.flipSinToCos),
    freqShift: get('freq_shift', base.freqShift),
    sampleSize: get('sample_size', base.sampleSize),
  };
  const addition = get<unknown>('addition_embed_type', null);
  if (addition !== null) {
    // SDXL's 'text_time' and the image kinds need inputs this U-Net does not take: refuse rather than load wrongly.
    if (addition !== 'text') throw Object.assign(new Error(`${where}: addition_embed_type "${String(addition)}" is not supported (only "text")`), { code: 'UNET_CONFIG' });
    config.additionEmbedType = 'text';
    config.additionEmbedHeads = get('addition_embed_type_num_heads', DEFAULT_ADDITION_EMBED_HEADS);
  }
  if (get<unknown>('encoder_hid_dim', null) !== null) {
    throw Object.assign(new Error(`${where}: encoder_hid_dim is not supported (the condition must already be cross_attention_dim wide)`), { code: 'UNET_CONFIG' });
  }
  const known: string[] = ['CrossAttnDownBlock2D', 'DownBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'];
  for (const t of [...config.downBlockTypes, ...config.upBlockTypes]) {
    if (!known.includes(t)) {
      throw Object.assign(new Error(`${where}: unsupported block type "${t}"`), { code: 'UNET_CONFIG' });
    }
  }
  if (get('use_linear_projection', false)) {
    throw Object.assign(new Error(`${where}: use_linear_projection is not supported (SD 1.x uses 1×1 convs)`), {
      code: 'UNET_CONFIG',
    });
  }
  checkUNetConfig(config);
  return config;
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

