// Weight files for the KOSMOS-G parts: read a safetensors file (or a folder holding one, e.g. a diffusers
// `text_encoder/`) or a PyTorch checkpoint such as `checkpoint_final.pt` (as data, `model` state dict), save parts with their config in the safetensors metadata, and build each part from a file with
// config 'real' | 'small' | 'from-file'. Parts are found in a full checkpoint by its prefixes (spec §1.11) or
// saved alone with bare keys.

import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadSafetensors, readSafetensorsHeader, saveSafetensors } from '../io/safetensors.ts';
import { loadTorchCheckpoint } from '../io/pytorch/index.ts';
import type { HostTensor } from '../ops/ops.ts';
import type { Module } from '../nn/module.ts';
import { Rng } from '../ops/random.ts';
import { CLIPVision } from '../clip/vision-model.ts';
import { CLIP_VISION_REAL, CLIP_VISION_SMALL, type CLIPVisionConfig } from '../clip/vision-config.ts';
import { CLIPTextModel } from '../clip/text-model.ts';
import { CLIP_TEXT_REAL, clipTextSmall, type CLIPTextConfig } from '../clip/text-config.ts';
import { XConnector } from '../connector/connector.ts';
import { CONNECTOR_REAL, CONNECTOR_SMALL, type ConnectorConfig } from '../connector/config.ts';
import { MLLM } from '../mllm/mllm.ts';
import { MLLM_REAL, mllmSmall, type MLLMConfig } from '../mllm/config.ts';
import { AlignerNet } from '../aligner/aligner.ts';
import { ALIGNER_REAL, ALIGNER_SMALL, type AlignerConfig } from '../aligner/config.ts';
import {
  inferAlignerConfig,
  inferConnectorConfig,
  inferMLLMConfig,
  inferVisionConfig,
  KOSMOS_G_REAL,
  kosmosGSmall,
  PREFIX,
  type KosmosGConfig,
} from './config.ts';
import { ignoredCheckpointKey, KosmosG, loadKosmosGCheckpoint, splitVisionInProj } from './kosmosg.ts';
import { clipTextConfigFromFile } from './clip-text-source.ts';
import type { ReadConfig } from '../config-keys.ts';

export { inferCLIPTextConfig } from './clip-text-source.ts';

export type ConfigChoice = 'real' | 'small' | 'from-file';
export const CONFIG_CHOICES: readonly ConfigChoice[] = ['real', 'small', 'from-file'];

/** The safetensors metadata key holding the parts' configs as JSON. */
export const CONFIG_METADATA_KEY = 'kosmos_g_config';

export class WeightsFileError extends Error {
  constructor(
    readonly code: 'WEIGHTS_NOT_FOUND' | 'WEIGHTS_FORMAT' | 'WEIGHTS_CONFIG',
    message: string,
  ) {
    super(message);
  }
}

export interface WeightFile {
  path: string;
  tensors: Map<string, HostTensor>;
  /** Configs stored beside the weights, when the project wrote the file. */
  configs: Partial<KosmosGConfig> & { clipText?: CLIPTextConfig };
}

/** A safetensors file, or the one in a folder (model.safetensors, text_encoder/model.safetensors, or the only one). */
export function resolveWeightsPath(p: string): string {
  if (!p) throw new WeightsFileError('WEIGHTS_NOT_FOUND', 'no weights path given');
  if (!existsSync(p)) throw new WeightsFileError('WEIGHTS_NOT_FOUND', `${p}: no such file or folder`);
  if (!statSync(p).isDirectory()) {
    return p;
  }
  const candidates = [
    'model.safetensors',
    'text_encoder/model.safetensors',
    'checkpoint.safetensors',
    'checkpoint_final.pt',
    'pytorch_model.bin',
    'text_encoder/pytorch_model.bin',
  ];
  for (const name of candidates) {
    if (existsSync(path.join(p, name))) return path.join(p, name);
  }
  const found = readdirSync(p).filter((f) => f.endsWith('.safetensors'));
  if (found.length === 1) return path.join(p, found[0]!);
  throw new WeightsFileError(
    'WEIGHTS_NOT_FOUND',
    found.length === 0 ? `${p}: no .safetensors file in this folder` : `${p}: several .safetensors files (${found.join(', ')}); name one`,
  );
}

/** PyTorch checkpoints (fairseq `checkpoint_final.pt` included) are read as data: the pickle is never executed. */
const TORCH_FILE = /\.(pt|pth|bin|ckpt)$/i;

export async function readWeightFile(p: string, filter?: (key: string) => boolean): Promise<WeightFile> {
  const file = resolveWeightsPath(p);
  if (TORCH_FILE.test(file)) {
    const all = loadTorchCheckpoint(file);
    const tensors = filter ? new Map([...all].filter(([k]) => filter(k))) : all;
    return { path: file, tensors, configs: {} };
  }
  if (!file.endsWith('.safetensors')) {
    throw new WeightsFileError('WEIGHTS_FORMAT', `${file}: not a .safetensors or PyTorch (.pt/.pth/.bin/.ckpt) file`);
  }
  const header = await readSafetensorsHeader(file);
  let configs: WeightFile['configs'] = {};
  const raw = header.metadata[CONFIG_METADATA_KEY];
  if (raw) {
    try {
      configs = JSON.parse(raw) as WeightFile['configs'];
    } catch (e) {
      throw new WeightsFileError('WEIGHTS_CONFIG', `${file}: metadata ${CONFIG_METADATA_KEY} is not JSON (${(e as Error).message})`);
    }
  }
  return { path: file, tensors: await loadSafetensors(file, filter), configs };
}

/** Save a module (its keys under `prefix`) with its config in the metadata. Atomic (temp + rename). */
export async function saveWeightFile(file: string, parts: [prefix: string, module: Module][], configs: WeightFile['configs']): Promise<void> {
  const tensors = new Map<string, HostTensor>();
  for (const [prefix, m] of parts) for (const [k, t] of m.stateDict()) tensors.set(prefix + k, t);
  await saveSafetensors(file, tensors, { [CONFIG_METADATA_KEY]: JSON.stringify(configs) });
}

export async function saveKosmosG(file: string, model: KosmosG): Promise<void> {
  await saveWeightFile(file, model.parts(), model.config);
}

/** Which prefix a part has in this file: the full-checkpoint prefix when present, else bare keys. */
function partPrefix(tensors: Map<string, HostTensor>, checkpointPrefix: string, probe: string): string {
  if (tensors.has(checkpointPrefix + probe)) return checkpointPrefix;
  if (tensors.has(probe)) return '';
  for (const k of tensors.keys()) if (k.endsWith(probe)) return k.slice(0, k.length - probe.length);
  return checkpointPrefix;
}

function choose<C>(choice: ConfigChoice, real: C, small: C, stored: C | undefined, infer: () => C): C {
  if (choice === 'real') return real;
  if (choice === 'small') return small;
  return stored ?? infer();
}

function load(module: Module, file: WeightFile, prefix: string, skip?: (key: string) => boolean): void {
  module.loadStateDict(file.tensors, {
    prefix,
    where: file.path,
    ignore: (k) => ignoredCheckpointKey(prefixed(module, prefix, k)) || (skip?.(k) ?? false),
  });
}

// `ignoredCheckpointKey` speaks full checkpoint keys; map a bare part key back to one.
function prefixed(module: Module, prefix: string, key: string): string {
  if (prefix) return prefix + key;
  if (module instanceof MLLM) return PREFIX.mllm + key;
  if (module instanceof CLIPVision) return PREFIX.vision + key;
  return key;
}

export function clipVisionFrom(file: WeightFile, choice: ConfigChoice): CLIPVision {
  const tensors = splitVisionInProj(file.tensors);
  const f = { ...file, tensors };
  const prefix = partPrefix(tensors, PREFIX.vision, 'visual.conv1.weight');
  const c: CLIPVisionConfig = choose(choice, CLIP_VISION_REAL, CLIP_VISION_SMALL, file.configs.vision, () => inferVisionConfig(tensors, prefix, undefined, file.path));
  const m = new CLIPVision(c, new Rng(0));
  // A whole OpenAI/open_clip CLIP file also holds the text tower: only `visual.*` belongs to this part.
  load(m, f, prefix, (k) => !k.startsWith('visual.'));
  return m;
}

export function connectorFrom(file: WeightFile, choice: ConfigChoice): XConnector {
  const prefix = partPrefix(file.tensors, PREFIX.connector, 'latent_query');
  const c: ConnectorConfig = choose(choice, CONNECTOR_REAL, CONNECTOR_SMALL, file.configs.connector, () => inferConnectorConfig(file.tensors, prefix, undefined, file.path));
  const m = new XConnector(c, new Rng(0));
  load(m, file, prefix);
  return m;
}

export function mllmFrom(file: WeightFile, choice: ConfigChoice): MLLM {
  const prefix = partPrefix(file.tensors, PREFIX.mllm, 'embed_tokens.weight');
  const vocab = file.tensors.get(`${prefix}embed_tokens.weight`)?.shape[0];
  const c: MLLMConfig = choose(choice, MLLM_REAL, mllmSmall(vocab), file.configs.mllm, () => inferMLLMConfig(file.tensors, prefix, undefined, file.path));
  const m = new MLLM(c, new Rng(0));
  load(m, file, prefix);
  return m;
}

export function alignerFrom(file: WeightFile, choice: ConfigChoice): AlignerNet {
  const prefix = partPrefix(file.tensors, PREFIX.aligner, 'encoder_query');
  const c: AlignerConfig = choose(choice, ALIGNER_REAL, ALIGNER_SMALL, file.configs.aligner, () => inferAlignerConfig(file.tensors, prefix, undefined, file.path));
  const m = new AlignerNet(c, new Rng(0), { reconstruction: file.tensors.has(`${prefix}decoder_query`) });
  load(m, file, prefix);
  return m;
}

/** The SD 1.5 text encoder (diffusers `text_encoder/` folder or file), or the one inside a stage-2 checkpoint. */
export function clipTextFrom(file: WeightFile, choice: ConfigChoice): CLIPTextModel {
  return readClipText(file, choice).model;
}

/** `clipTextFrom` with what the config came from: stored, config.json beside the weights, or inferred (clip-text-source.ts). */
export function readClipText(file: WeightFile, choice: ConfigChoice): ReadConfig<CLIPTextConfig> & { model: CLIPTextModel } {
  const prefix = partPrefix(file.tensors, 'aligner.clip_encoder.', 'text_model.final_layer_norm.weight');
  const bare = prefix ? new Map([...file.tensors].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t])) : file.tensors;
  const vocab = bare.get('text_model.embeddings.token_embedding.weight')?.shape[0];
  const read: ReadConfig<CLIPTextConfig> =
    choice === 'from-file'
      ? clipTextConfigFromFile(file.path, file.configs.clipText, bare)
      : { config: choice === 'real' ? CLIP_TEXT_REAL : clipTextSmall(vocab), inferred: [], ignored: [] };
  const model = new CLIPTextModel(read.config, new Rng(0));
  model.loadStateDict(bare, { where: file.path, ignore: CLIPTextModel.ignoredKey });
  return { ...read, model };
}

/** All KOSMOS-G parts from one checkpoint file. */
export function kosmosGFrom(file: WeightFile, choice: ConfigChoice): KosmosG {
  const stored = file.configs.vision && file.configs.connector && file.configs.mllm && file.configs.aligner ? (file.configs as KosmosGConfig) : undefined;
  const vocab = file.tensors.get(`${PREFIX.mllm}embed_tokens.weight`)?.shape[0];
  const config = choice === 'real' ? KOSMOS_G_REAL : choice === 'small' ? kosmosGSmall(vocab) : stored;
  return loadKosmosGCheckpoint(file.tensors, { config, where: file.path }).model;
}
