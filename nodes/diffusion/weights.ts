// Finding and reading a component's weights from what a user points a loader at: a diffusers pipeline folder
// (unet/, vae/, … each with config.json + diffusion_pytorch_model.safetensors), a component folder, or a single
// .safetensors file (diffusers keys, or an LDM checkpoint mapped through models/loaders when it is one).

import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { HostTensor } from '../../models/ops/ops.ts';
import { loadSafetensors } from '../../models/io/safetensors.ts';
import { diffusionError } from './common.ts';

export type Component = 'unet' | 'vae' | 'controlnet';

export interface ComponentFiles {
  weights: string;
  /** config.json beside the weights, when there is one. */
  config?: string;
}

const WEIGHT_NAMES = ['diffusion_pytorch_model.safetensors', 'model.safetensors'];

export function findComponentFiles(where: string, component: Component): ComponentFiles {
  if (!existsSync(where)) throw diffusionError('FILE_NOT_FOUND', `${component} weights: ${where} does not exist`);
  if (statSync(where).isFile()) {
    if (!where.endsWith('.safetensors')) {
      throw diffusionError(
        'UNSUPPORTED_FORMAT',
        `${where}: only .safetensors weights are read (pickled .ckpt/.bin files are never executed; convert them first)`,
      );
    }
    const config = path.join(path.dirname(where), 'config.json');
    return { weights: where, config: existsSync(config) ? config : undefined };
  }
  const sub = component === 'controlnet' ? where : path.join(where, component);
  for (const dir of existsSync(sub) ? [sub, where] : [where]) {
    for (const name of WEIGHT_NAMES) {
      const file = path.join(dir, name);
      if (existsSync(file)) {
        const config = path.join(dir, 'config.json');
        return { weights: file, config: existsSync(config) ? config : undefined };
      }
    }
  }
  throw diffusionError(
    'FILE_NOT_FOUND',
    `${where}: no ${component} weights (looked for ${component === 'controlnet' ? '' : `${component}/`}${WEIGHT_NAMES.join(' or ')})`,
  );
}

export function readConfigJson(file: string | undefined, component: Component): Record<string, unknown> {
  if (!file) throw diffusionError('CONFIG_NOT_FOUND', `${component}: config 'from-file' needs a config.json beside the weights`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw diffusionError('CONFIG_INVALID', `${file}: ${(e as Error).message}`);
  }
}

export function readStateDict(file: string): Promise<Map<string, HostTensor>> {
  return loadSafetensors(file);
}

/** Strips a common prefix (`unet.`, `model.diffusion_model.` after mapping, …) when every key of `expected` is under it. */
export function stripPrefix(source: Map<string, HostTensor>, prefixes: string[]): Map<string, HostTensor> {
  for (const prefix of prefixes) {
    const under = [...source.keys()].filter((k) => k.startsWith(prefix));
    if (under.length > 0 && under.length === source.size) {
      return new Map([...source].map(([k, v]) => [k.slice(prefix.length), v]));
    }
  }
  return source;
}
