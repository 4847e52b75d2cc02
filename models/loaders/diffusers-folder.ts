// A diffusers model folder (`save_pretrained` / hub layout): model_index.json plus unet/, vae/, text_encoder/,
// tokenizer/, scheduler/, each with its config and safetensors weights. Detection only reads directory listings
// and the small JSON files; weights are read when a component is loaded.

import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { HostTensor } from '../ops/ops.ts';
import { loadSafetensors } from '../io/safetensors.ts';
import { unetConfigFromDiffusers, type UNetConfig } from '../unet/config.ts';
import { vaeConfigFromDiffusers, type VAEConfig } from '../vae/config.ts';
import { mapLegacyVaeKeys } from '../vae/keys.ts';
import { linearProjectionsAsConvs } from '../unet/linear-projection.ts';
import type { CLIPTextConfig } from '../clip/text-config.ts';
import { LoaderError } from './errors.ts';
import { parseJsonObject } from './json.ts';
import { schedulerConfigFromDiffusers, type LoadedSchedulerConfig } from './scheduler-config.ts';
import { clipTextConfigFromTransformers } from './text-encoder-config.ts';

/** Weight file names in order of preference (full precision first). */
const WEIGHT_FILES = [
  'diffusion_pytorch_model.safetensors',
  'model.safetensors',
  'diffusion_pytorch_model.fp16.safetensors',
  'model.fp16.safetensors',
];
const PICKLE_FILES = ['diffusion_pytorch_model.bin', 'pytorch_model.bin', 'diffusion_pytorch_model.fp16.bin', 'pytorch_model.fp16.bin'];

export interface ComponentFiles<C> {
  dir: string;
  /** The weights file that will be read. */
  weights: string;
  /** The parsed config.json. */
  config: C;
  rawConfig: Record<string, unknown>;
}

export interface TokenizerFiles {
  dir: string;
  /** CLIP BPE: vocab.json + merges.txt, and/or tokenizer.json. */
  vocab?: string;
  merges?: string;
  tokenizerJson?: string;
}

export interface DiffusersFolder {
  root: string;
  modelIndex?: Record<string, unknown>;
  unet?: ComponentFiles<UNetConfig>;
  vae?: ComponentFiles<VAEConfig>;
  textEncoder?: ComponentFiles<CLIPTextConfig>;
  tokenizer?: TokenizerFiles;
  scheduler?: LoadedSchedulerConfig & { file: string };
  /** Sub-folders present but not usable, with why (e.g. only .bin weights). */
  problems: string[];
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function readJson(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new LoaderError('MISSING_FILE', `${file}: not found`);
  }
  return parseJsonObject(text, file);
}

async function componentFiles<C>(
  dir: string,
  configFile: string,
  parse: (json: Record<string, unknown>, where: string) => C,
  problems: string[],
): Promise<ComponentFiles<C> | undefined> {
  if (!(await isDir(dir))) return undefined;
  const names = new Set(await readdir(dir));
  const weights = WEIGHT_FILES.find((n) => names.has(n));
  if (!weights) {
    const pickle = PICKLE_FILES.find((n) => names.has(n));
    problems.push(
      pickle
        ? `${path.join(dir, pickle)}: PyTorch pickle weights are not read; convert the folder to safetensors`
        : `${dir}: no weights file (${WEIGHT_FILES.join(', ')})`,
    );
    return undefined;
  }
  const where = path.join(dir, configFile);
  const rawConfig = await readJson(where);
  return { dir, weights: path.join(dir, weights), config: parse(rawConfig, where), rawConfig };
}

/** Reads the layout of a diffusers folder. Errors when it holds none of unet/, vae/, text_encoder/. */
export async function detectDiffusersFolder(root: string): Promise<DiffusersFolder> {
  if (!(await isDir(root))) throw new LoaderError('NOT_A_FOLDER', `${root}: not a folder`);
  const problems: string[] = [];
  const folder: DiffusersFolder = { root, problems };
  const index = path.join(root, 'model_index.json');
  try {
    await stat(index);
    folder.modelIndex = await readJson(index);
  } catch (e) {
    if (e instanceof LoaderError && e.code === 'BAD_JSON') throw e;
  }
  folder.unet = await componentFiles(path.join(root, 'unet'), 'config.json', unetConfigFromDiffusers, problems);
  folder.vae = await componentFiles(path.join(root, 'vae'), 'config.json', vaeConfigFromDiffusers, problems);
  folder.textEncoder = await componentFiles(path.join(root, 'text_encoder'), 'config.json', clipTextConfigFromTransformers, problems);
  const tokDir = path.join(root, 'tokenizer');
  if (await isDir(tokDir)) {
    const names = new Set(await readdir(tokDir));
    const at = (n: string): string | undefined => (names.has(n) ? path.join(tokDir, n) : undefined);
    folder.tokenizer = { dir: tokDir, vocab: at('vocab.json'), merges: at('merges.txt'), tokenizerJson: at('tokenizer.json') };
    if (!folder.tokenizer.tokenizerJson && !(folder.tokenizer.vocab && folder.tokenizer.merges)) {
      problems.push(`${tokDir}: needs vocab.json + merges.txt or tokenizer.json`);
    }
  }
  const schedFile = path.join(root, 'scheduler', 'scheduler_config.json');
  if (await isDir(path.join(root, 'scheduler'))) {
    folder.scheduler = { ...schedulerConfigFromDiffusers(await readJson(schedFile), schedFile), file: schedFile };
  }
  if (!folder.unet && !folder.vae && !folder.textEncoder) {
    const why = problems.length ? `: ${problems.join('; ')}` : ' (no unet/, vae/ or text_encoder/ with safetensors weights)';
    throw new LoaderError('NOT_DIFFUSERS_FOLDER', `${root}: not a usable diffusers folder${why}`);
  }
  return folder;
}

export type DiffusersComponent = 'unet' | 'vae' | 'textEncoder';

/**
 * The weights of one component as a diffusers-named state dict. VAE files with the older
 * `query/key/value/proj_attn` names are renamed; text-encoder `position_ids` buffers are dropped; SD 2.x U-Net
 * Linear proj_in/proj_out weights get their 1×1 conv shape.
 */
export async function loadDiffusersComponent(folder: DiffusersFolder, component: DiffusersComponent): Promise<Map<string, HostTensor>> {
  const files = folder[component];
  if (!files) throw new LoaderError('MISSING_COMPONENT', `${folder.root}: no ${component} weights in this folder`);
  const tensors = await loadSafetensors(files.weights, component === 'textEncoder' ? (k) => !k.endsWith('position_ids') : undefined);
  if (component === 'vae') return mapLegacyVaeKeys(tensors);
  return component === 'unet' ? linearProjectionsAsConvs(tensors) : tensors;
}
