// Building a U-Net, VAE or ControlNet for a loader node: a seeded random model of a preset config when the path
// is empty (tests and CI workflows use these until the project's trained default exists), else the weights from
// a file or folder, with the config chosen by the widget or read from config.json.

import type { Module } from '../../models/nn/module.ts';
import type { Logger } from '../../engine/node-def.ts';
import type { HostTensor } from '../../models/ops/ops.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { readUNetConfig, SD15_UNET_CONFIG, SMALL_UNET_CONFIG, type UNetConfig } from '../../models/unet/config.ts';
import type { ReadConfig } from '../../models/config-keys.ts';
import { linearProjectionsAsConvs } from '../../models/unet/linear-projection.ts';
import { readControlNetConfig } from '../../models/controlnet/config.ts';
import { AutoencoderKL } from '../../models/vae/autoencoder.ts';
import { readVAEConfig, SD15_VAE_CONFIG, SMALL_VAE_CONFIG, type VAEConfig } from '../../models/vae/config.ts';
import { mapLegacyVaeKeys } from '../../models/vae/keys.ts';
import { ControlNetModel, controlNetConfigFor, type ControlNetConfig } from '../../models/controlnet/controlnet.ts';
import { diffusionError } from './common.ts';
import { findComponentFiles, readConfigJson, readStateDict, stripPrefix, type Component } from './weights.ts';
import { convertLdmCheckpoint, countLdmUpBlocks, isLdmCheckpoint, mapLdmVaeKey } from '../../models/loaders/index.ts';
import { squeezeAttentionWeight } from '../../models/loaders/ldm-vae.ts';

export type ConfigChoice = 'small' | 'real' | 'from-file';

export interface Built<M extends Module> {
  model: M;
  source: string;
  /** What the config reader inferred and ignored (config 'from-file'), for the node's log. */
  inferred: string[];
  ignored: string[];
}

async function build<M extends Module, C>(
  component: Component,
  where: string,
  choice: string,
  seed: number,
  presets: { small: C; real: C; fromJson: (json: Record<string, unknown>, file: string) => ReadConfig<C> },
  make: (config: C, seed: number) => M,
  adapt: (sd: Map<string, HostTensor>) => Map<string, HostTensor>,
  preloaded?: Map<string, HostTensor>,
): Promise<Built<M>> {
  if (choice !== 'small' && choice !== 'real' && choice !== 'from-file') {
    throw diffusionError('UNKNOWN_CONFIG', `${component}: config '${choice}' is not one of small, real, from-file`);
  }
  if (where.trim() === '') {
    if (choice === 'from-file') throw diffusionError('MISSING_PATH', `${component}: config 'from-file' needs a path`);
    return { model: make(presets[choice], seed), source: `random ${choice} ${component} (seed ${seed})`, inferred: [], ignored: [] };
  }
  const files = findComponentFiles(where, component);
  const read: ReadConfig<C> =
    choice === 'from-file' ? presets.fromJson(readConfigJson(files.config, component), files.config!) : { config: presets[choice], inferred: [], ignored: [] };
  const model = make(read.config, seed);
  const sd = adapt(preloaded ?? (await readStateDict(files.weights)));
  model.loadStateDict(sd, { where: `${component} from ${files.weights}` });
  return { model, source: files.weights, inferred: read.inferred, ignored: read.ignored };
}

/** The U-Net part of a diffusers or LDM single-file state dict. */
function unetKeys(sd: Map<string, HostTensor>): Map<string, HostTensor> {
  return linearProjectionsAsConvs(isLdmCheckpoint(sd.keys()) ? convertLdmCheckpoint(sd).unet : stripPrefix(sd, ['unet.']));
}

/** The VAE part: diffusers keys (current or legacy attention names), an LDM checkpoint, or an LDM-style VAE file. */
function vaeKeys(sd: Map<string, HostTensor>): Map<string, HostTensor> {
  if (isLdmCheckpoint(sd.keys())) return convertLdmCheckpoint(sd).vae;
  if (sd.has('encoder.down.0.block.0.norm1.weight')) {
    const upBlocks = countLdmUpBlocks(sd.keys());
    const out = new Map<string, HostTensor>();
    for (const [k, t] of sd) {
      const mapped = mapLdmVaeKey(k, upBlocks);
      if (mapped) out.set(mapped, squeezeAttentionWeight(mapped, t));
      else if (!k.startsWith('loss.')) out.set(k, t); // reported as unexpected by loadStateDict
    }
    return out;
  }
  return mapLegacyVaeKeys(stripPrefix(sd, ['vae.']));
}

/** Logs on the node what a loader's config reader inferred (info) and ignored (warnings). */
export function logConfigNotes(log: Logger, component: string, built: Pick<Built<Module>, 'inferred' | 'ignored'>): void {
  for (const n of built.inferred) log.info(`${component} config: ${n}`);
  for (const n of built.ignored) log.warn(`${component} config: ${n}`);
}

/** Reads a single weights file once for several components (LoadStableDiffusion on an LDM checkpoint). */
export async function preload(where: string): Promise<Map<string, HostTensor> | undefined> {
  if (where.trim() === '' || !where.endsWith('.safetensors')) return undefined;
  return readStateDict(findComponentFiles(where, 'unet').weights);
}

export function buildUNet(where: string, choice: string, seed: number, preloaded?: Map<string, HostTensor>): Promise<Built<UNet2DConditionModel>> {
  return build<UNet2DConditionModel, UNetConfig>(
    'unet',
    where,
    choice,
    seed,
    { small: SMALL_UNET_CONFIG, real: SD15_UNET_CONFIG, fromJson: (json, file) => readUNetConfig(json, file) },
    (c, s) => new UNet2DConditionModel(c, s),
    unetKeys,
    preloaded,
  );
}

export function buildVAE(where: string, choice: string, seed: number, preloaded?: Map<string, HostTensor>): Promise<Built<AutoencoderKL>> {
  return build<AutoencoderKL, VAEConfig>(
    'vae',
    where,
    choice,
    seed,
    { small: SMALL_VAE_CONFIG, real: SD15_VAE_CONFIG, fromJson: (json, file) => readVAEConfig(json, file) },
    (c, s) => new AutoencoderKL(c, s),
    vaeKeys,
    preloaded,
  );
}

export function buildControlNet(where: string, choice: string, seed: number): Promise<Built<ControlNetModel>> {
  return build<ControlNetModel, ControlNetConfig>(
    'controlnet',
    where,
    choice,
    seed,
    {
      small: controlNetConfigFor(SMALL_UNET_CONFIG),
      real: controlNetConfigFor(SD15_UNET_CONFIG),
      fromJson: readControlNetConfig,
    },
    (c, s) => new ControlNetModel(c, s),
    (sd) => linearProjectionsAsConvs(stripPrefix(sd, ['controlnet.'])),
  );
}
