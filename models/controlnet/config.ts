// The reader of a diffusers ControlNetModel `config.json`. It shares the U-Net's encoder keys (read by
// readUNetConfig, kind 'controlnet': a ControlNet lists no up blocks) and adds its own: the control-image
// embedding ladder, the control image's channels and channel order, and global pooling of the residuals
// (the "shuffle" ControlNets).

import { readUNetConfig } from '../unet/config.ts';
import type { ReadConfig } from '../config-keys.ts';
import type { ControlNetConfig } from './controlnet.ts';

/** diffusers' default `conditioning_embedding_out_channels`: 3 stride-2 steps, ×8 like the SD VAE. */
export const DEFAULT_CONDITIONING_EMBEDDING = [16, 32, 96, 256];

const CONTROLNET_KEYS = ['conditioning_channels', 'conditioning_embedding_out_channels', 'controlnet_conditioning_channel_order', 'global_pool_conditions'];

function fail(message: string): never {
  throw Object.assign(new Error(message), { code: 'CONTROLNET_CONFIG' });
}

export function readControlNetConfig(json: Record<string, unknown>, where = 'controlnet/config.json'): ReadConfig<ControlNetConfig> {
  const { config: unet, inferred, ignored } = readUNetConfig(json, where, 'controlnet', CONTROLNET_KEYS);
  let ladder = json['conditioning_embedding_out_channels'];
  if (ladder === undefined || ladder === null) {
    ladder = DEFAULT_CONDITIONING_EMBEDDING;
    inferred.push(`conditioning_embedding_out_channels absent: ${JSON.stringify(DEFAULT_CONDITIONING_EMBEDDING)} (diffusers' default)`);
  }
  if (!Array.isArray(ladder) || ladder.length < 1 || !ladder.every((c) => Number.isInteger(c) && c > 0)) {
    fail(`${where}: conditioning_embedding_out_channels must be a list of positive integers, got ${JSON.stringify(ladder)}`);
  }
  const channels = json['conditioning_channels'] ?? 3;
  if (!Number.isInteger(channels) || (channels as number) < 1) fail(`${where}: conditioning_channels must be a positive integer, got ${JSON.stringify(channels)}`);
  const order = json['controlnet_conditioning_channel_order'] ?? 'rgb';
  if (order !== 'rgb' && order !== 'bgr') fail(`${where}: controlnet_conditioning_channel_order must be "rgb" or "bgr", got ${JSON.stringify(order)}`);
  const pool = json['global_pool_conditions'] ?? false;
  if (typeof pool !== 'boolean') fail(`${where}: global_pool_conditions must be true or false, got ${JSON.stringify(pool)}`);
  if (pool) {
    inferred.push('global_pool_conditions: residuals are averaged over their pixels and, with guidance, steer the conditional half only (diffusers\' guess mode)');
  }
  const config: ControlNetConfig = {
    ...unet,
    conditioningEmbeddingChannels: ladder as number[],
    conditioningChannels: channels as number,
    ...(order === 'bgr' ? { channelOrder: 'bgr' as const } : {}),
    ...(pool ? { globalPoolConditions: true } : {}),
  };
  return { config, inferred, ignored };
}
