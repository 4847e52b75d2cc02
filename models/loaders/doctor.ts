// `kosmos-g doctor`: what a model folder or weights file holds, read the way the loaders read it — which config
// reader applies, what it read, what it inferred, what it ignored and why, and whether the weights' keys and shapes
// fit the model that config builds. Only configs and safetensors headers are read: no tensor data, and models are
// built lazily (their parameters are never allocated), so real-size folders are checked in a moment.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { readSafetensorsHeader } from '../io/safetensors.ts';
import type { HostTensor } from '../ops/ops.ts';
import type { Module } from '../nn/module.ts';
import { readUNetConfig } from '../unet/config.ts';
import type { ReadConfig } from '../config-keys.ts';
import { UNet2DConditionModel } from '../unet/unet.ts';
import { linearProjectionsAsConvs } from '../unet/linear-projection.ts';
import { readControlNetConfig } from '../controlnet/config.ts';
import { ControlNetModel } from '../controlnet/controlnet.ts';
import { readVAEConfig } from '../vae/config.ts';
import { AutoencoderKL } from '../vae/autoencoder.ts';
import { mapLegacyVaeKeys } from '../vae/keys.ts';
import { CLIPTextModel } from '../clip/text-model.ts';
import { Rng } from '../ops/random.ts';
import { isLdmCheckpoint } from './ldm-checkpoint.ts';
import { parseJsonObject } from './json.ts';
import { readClipTextConfig } from './text-encoder-config.ts';
import { loadSchedulerConfig } from './scheduler-config.ts';

export type ComponentKind = 'unet' | 'controlnet' | 'vae' | 'text_encoder' | 'scheduler' | 'tokenizer' | 'weights';

export interface ComponentReport {
  kind: ComponentKind;
  dir: string;
  /** What was read: the config's main values, the weights file and its tensors. */
  loaded: string[];
  /** Defaults taken for absent keys, keys without effect here. */
  inferred: string[];
  /** Settings not implemented, unknown keys, weights that do not fit. */
  ignored: string[];
  /** What would stop the loader (bad config, missing weights). */
  errors: string[];
}

export interface DoctorReport {
  path: string;
  layout: string;
  components: ComponentReport[];
}

const WEIGHT_FILES = ['diffusion_pytorch_model.safetensors', 'model.safetensors', 'diffusion_pytorch_model.fp16.safetensors', 'model.fp16.safetensors'];
const PICKLES = /\.(bin|ckpt|pt|pth)$/;

const CLASS_KIND: Record<string, ComponentKind> = {
  UNet2DConditionModel: 'unet',
  ControlNetModel: 'controlnet',
  AutoencoderKL: 'vae',
  CLIPTextModel: 'text_encoder',
  CLIPTextModelWithProjection: 'text_encoder',
};

function report(kind: ComponentKind, dir: string): ComponentReport {
  return { kind, dir, loaded: [], inferred: [], ignored: [], errors: [] };
}

function message(e: unknown): string {
  const code = typeof e === 'object' && e !== null && 'code' in e ? `${String((e as { code: unknown }).code)}: ` : '';
  return `${code}${e instanceof Error ? e.message : String(e)}`;
}

/** The kind of component a config.json describes, from `_class_name` / `architectures` / `model_type`. */
function kindOfConfig(json: Record<string, unknown>): ComponentKind | undefined {
  const cls = json['_class_name'];
  if (typeof cls === 'string' && CLASS_KIND[cls]) return CLASS_KIND[cls];
  const arch = Array.isArray(json['architectures']) ? json['architectures'][0] : undefined;
  if (typeof arch === 'string' && CLASS_KIND[arch]) return CLASS_KIND[arch];
  if (json['model_type'] === 'clip_text_model') return 'text_encoder';
  return undefined;
}

/** Weights keys and shapes (from the header only) against the keys and shapes `model` expects. */
async function checkWeights(r: ComponentReport, file: string, model: Module | undefined, adapt: (sd: Map<string, HostTensor>) => Map<string, HostTensor>): Promise<void> {
  const header = await readSafetensorsHeader(file);
  const dtypes = [...new Set([...header.tensors.values()].map((t) => t.dtype))].join('/');
  r.loaded.push(`weights ${path.basename(file)}: ${header.tensors.size} tensors, ${dtypes}, ${(header.fileSize / 2 ** 20).toFixed(1)} MiB`);
  if (!model) return;
  const shapes = adapt(new Map([...header.tensors].map(([k, t]) => [k, { data: new Float32Array(0), shape: t.shape, dtype: 'float32' } as HostTensor])));
  const expected = new Map(model.namedParameters().map(([k, p]) => [k, p.shape]));
  const missing = [...expected.keys()].filter((k) => !shapes.has(k));
  const unexpected = [...shapes.keys()].filter((k) => !expected.has(k) && !CLIPTextModel.ignoredKey(k));
  const mismatched = [...expected].filter(([k, s]) => shapes.has(k) && shapes.get(k)!.shape.join('×') !== s.join('×'));
  if (missing.length + mismatched.length === 0) r.loaded.push(`all ${expected.size} parameters found with the shapes the config gives`);
  const few = (keys: string[]) => `${keys.slice(0, 5).join(', ')}${keys.length > 5 ? `, … (${keys.length})` : ''}`;
  if (missing.length) r.errors.push(`${missing.length} parameters missing from the weights: ${few(missing)}`);
  if (mismatched.length) {
    r.errors.push(`${mismatched.length} shapes differ from the config's: ${few(mismatched.map(([k, s]) => `${k} ${shapes.get(k)!.shape.join('×')} (config: ${s.join('×')})`))}`);
  }
  if (unexpected.length) r.ignored.push(`${unexpected.length} tensors the model has no place for: ${few(unexpected)}`);
}

function configSummary(config: object): string {
  return Object.entries(config)
    .map(([k, v]) => `${k} ${Array.isArray(v) ? `[${v.join(', ')}]` : String(v)}`)
    .join(', ');
}

/** One model component folder (config.json + weights). */
async function diagnoseComponent(kind: ComponentKind, dir: string): Promise<ComponentReport> {
  const r = report(kind, dir);
  const names = readdirSync(dir);
  const configFile = path.join(dir, 'config.json');
  const weights = WEIGHT_FILES.find((n) => names.includes(n));
  if (!weights) {
    const pickle = names.find((n) => PICKLES.test(n));
    r.errors.push(pickle ? `${pickle}: PyTorch pickle weights are not read; convert to safetensors` : `no weights file (${WEIGHT_FILES.join(', ')})`);
  }
  if (!existsSync(configFile)) {
    r.errors.push(`no config.json: 'from-file' cannot build this ${kind}`);
    if (weights) await checkWeights(r, path.join(dir, weights), undefined, (m) => m);
    return r;
  }
  let model: Module | undefined;
  let adapt = (sd: Map<string, HostTensor>) => sd;
  try {
    const json = parseJsonObject(readFileSync(configFile, 'utf8'), configFile);
    let read: ReadConfig<object>;
    if (kind === 'unet') {
      const u = readUNetConfig(json, configFile);
      model = new UNet2DConditionModel(u.config);
      adapt = linearProjectionsAsConvs;
      read = u;
    } else if (kind === 'controlnet') {
      const c = readControlNetConfig(json, configFile);
      model = new ControlNetModel(c.config);
      adapt = linearProjectionsAsConvs;
      read = c;
    } else if (kind === 'vae') {
      const v = readVAEConfig(json, configFile);
      model = new AutoencoderKL(v.config);
      adapt = mapLegacyVaeKeys;
      read = v;
    } else {
      const t = readClipTextConfig(json, configFile);
      model = new CLIPTextModel(t.config, new Rng(0));
      read = t;
    }
    r.loaded.push(`config (${String(json['_class_name'] ?? json['architectures'] ?? kind)}): ${configSummary(read.config)}`);
    r.inferred.push(...read.inferred);
    r.ignored.push(...read.ignored);
  } catch (e) {
    r.errors.push(message(e));
  }
  if (weights) {
    try {
      await checkWeights(r, path.join(dir, weights), model, adapt);
    } catch (e) {
      r.errors.push(message(e));
    }
  }
  return r;
}

async function diagnoseScheduler(dir: string): Promise<ComponentReport> {
  const r = report('scheduler', dir);
  try {
    const s = await loadSchedulerConfig(dir);
    r.loaded.push(`${path.basename(s.file)} (${s.className ?? 'no _class_name'}${s.suggested ? ` → ${s.suggested}` : ''}): ${configSummary({ ...s.config, ...s.options }) || 'no settings'}`);
    r.ignored.push(...s.warnings);
  } catch (e) {
    r.errors.push(message(e));
  }
  return r;
}

function diagnoseTokenizer(dir: string): ComponentReport {
  const r = report('tokenizer', dir);
  const names = readdirSync(dir);
  const found = ['vocab.json', 'merges.txt', 'tokenizer.json'].filter((n) => names.includes(n));
  if (found.includes('tokenizer.json') || (found.includes('vocab.json') && found.includes('merges.txt'))) r.loaded.push(`CLIP BPE: ${found.join(', ')}`);
  else r.errors.push('needs vocab.json + merges.txt or tokenizer.json');
  return r;
}

/** A single weights file: an LDM checkpoint, a file the project saved (configs in its metadata), or one component. */
async function diagnoseFile(file: string): Promise<DoctorReport> {
  if (PICKLES.test(file)) {
    const r = report('weights', path.dirname(file));
    r.loaded.push('PyTorch checkpoint: read as data (never unpickled) by the KOSMOS-G loaders; convert to safetensors for the diffusion loaders');
    return { path: file, layout: 'PyTorch checkpoint', components: [r] };
  }
  const r = report('weights', path.dirname(file));
  const header = await readSafetensorsHeader(file);
  const keys = [...header.tensors.keys()];
  r.loaded.push(`${keys.length} tensors, ${(header.fileSize / 2 ** 20).toFixed(1)} MiB`);
  let layout = 'safetensors file';
  if (isLdmCheckpoint(keys)) {
    layout = 'LDM single-file checkpoint';
    const count = (p: string) => keys.filter((k) => k.startsWith(p)).length;
    r.loaded.push(
      `U-Net ${count('model.diffusion_model.')} tensors, VAE ${count('first_stage_model.')}, text encoder ${count('cond_stage_model.')}: mapped to diffusers keys by the §4.1 block mapping`,
    );
    r.inferred.push('the LDM file stores no config: config "real" (SD 1.5) or a config.json beside it is used');
  }
  if (header.metadata['kosmos_g_config']) {
    layout = 'KOSMOS-G weights file (configs in its metadata)';
    r.loaded.push(`stored configs: ${Object.keys(JSON.parse(header.metadata['kosmos_g_config']) as object).join(', ')}`);
  }
  const components = [r];
  const beside = path.join(path.dirname(file), 'config.json');
  if (existsSync(beside)) {
    const kind = kindOfConfig(parseJsonObject(readFileSync(beside, 'utf8'), beside));
    if (kind) components.push(await diagnoseComponent(kind, path.dirname(file)));
  }
  return { path: file, layout, components };
}

/** Everything `kosmos-g doctor PATH` reports. */
export async function diagnoseModelPath(where: string): Promise<DoctorReport> {
  if (!existsSync(where)) throw Object.assign(new Error(`${where}: no such file or folder`), { code: 'FILE_NOT_FOUND' });
  if (!statSync(where).isDirectory()) return diagnoseFile(where);
  const components: ComponentReport[] = [];
  const sub = (n: string) => path.join(where, n);
  const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
  for (const kind of ['unet', 'vae', 'text_encoder', 'controlnet'] as const) {
    if (isDir(sub(kind))) components.push(await diagnoseComponent(kind, sub(kind)));
  }
  if (isDir(sub('scheduler'))) components.push(await diagnoseScheduler(sub('scheduler')));
  if (isDir(sub('tokenizer'))) components.push(diagnoseTokenizer(sub('tokenizer')));
  if (components.length > 0) return { path: where, layout: existsSync(sub('model_index.json')) ? 'diffusers pipeline folder' : 'diffusers-style folder', components };
  // A component folder on its own (a ControlNet, a text_encoder/, a scheduler/ …).
  if (existsSync(sub('scheduler_config.json'))) return { path: where, layout: 'scheduler folder', components: [await diagnoseScheduler(where)] };
  if (existsSync(sub('config.json'))) {
    const kind = kindOfConfig(parseJsonObject(readFileSync(sub('config.json'), 'utf8'), sub('config.json')));
    if (kind) return { path: where, layout: `${kind} folder`, components: [await diagnoseComponent(kind, where)] };
  }
  const single = readdirSync(where).filter((n) => n.endsWith('.safetensors'));
  if (single.length === 1) return diagnoseFile(sub(single[0]!));
  throw Object.assign(new Error(`${where}: no model found (no unet/, vae/, text_encoder/, controlnet/, scheduler/, config.json or single .safetensors file)`), {
    code: 'NOT_A_MODEL',
  });
}
