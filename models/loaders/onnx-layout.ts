// SD 1.5 ONNX export folders (spec §4.2): text_encoder/, unet/, vae_encoder/, vae_decoder/ each with model.onnx,
// written by diffusers' convert script or by optimum. The two differ in input signatures, and optimum changed
// its own over time, so every difference is read from the model and adapted here:
//   text ids          int32 (diffusers) or int64 (optimum)
//   unet timestep     float [batch] (diffusers), int64 [steps] (optimum < 2024-11), float scalar [] (optimum after);
//                     fed as a scalar for rank 0, as [1] for a fixed size 1, else one value per batch item
//   vae_encoder out   `latent_sample` (a sample, 4 channels) or `latent_parameters` (mean ‖ logvar, 8 channels)

import { stat } from 'node:fs/promises';
import path from 'node:path';
import { hostTensor, type HostTensor } from '../ops/ops.ts';
import type { Rng } from '../ops/random.ts';
import { floatsToHalves, halvesToFloats } from '../io/float16.ts';
import { LoaderError } from './errors.ts';
import { readOnnxSignature, type OnnxElementType, type OnnxModelSignature, type OnnxValueInfo } from './onnx-signature.ts';

export type OnnxRole = 'textEncoder' | 'unet' | 'vaeEncoder' | 'vaeDecoder';
const ROLE_DIRS: Record<OnnxRole, string> = { textEncoder: 'text_encoder', unet: 'unet', vaeEncoder: 'vae_encoder', vaeDecoder: 'vae_decoder' };

export type FloatType = 'float32' | 'float16';

export interface TextEncoderLayout {
  idsName: string;
  idsType: 'int32' | 'int64';
  lastHiddenState: string;
  pooled?: string;
}

export interface UNetLayout {
  sampleName: string;
  sampleType: FloatType;
  timestepName: string;
  timestepType: 'float32' | 'float16' | 'int32' | 'int64';
  /** scalar: dims []; single: dims [1]; batch: one value per latent. */
  timestepForm: 'scalar' | 'single' | 'batch';
  hiddenStatesName: string;
  hiddenStatesType: FloatType;
  outputName: string;
}

export interface VaeEncoderLayout {
  sampleName: string;
  sampleType: FloatType;
  outputName: string;
  /** 'latent_sample': already a posterior sample; 'latent_parameters': mean ‖ logvar along channels. */
  output: 'latent_sample' | 'latent_parameters';
}

export interface VaeDecoderLayout {
  latentName: string;
  latentType: FloatType;
  outputName: string;
}

export interface OnnxPipelineLayout {
  root: string;
  files: Partial<Record<OnnxRole, string>>;
  textEncoder?: TextEncoderLayout;
  unet?: UNetLayout;
  vaeEncoder?: VaeEncoderLayout;
  vaeDecoder?: VaeDecoderLayout;
  /** Best guess from the signatures: int32 ids / per-batch float timestep → diffusers; int64 ids → optimum. */
  exporter: 'diffusers' | 'optimum' | 'unknown';
}

function fail(where: string, message: string): never {
  throw new LoaderError('ONNX_SIGNATURE', `${where}: ${message}`);
}

function find(list: OnnxValueInfo[], names: string[], where: string, what: string): OnnxValueInfo {
  const v = list.find((x) => names.includes(x.name));
  if (!v) fail(where, `no ${what} (${names.join(' or ')}); it has ${list.map((x) => x.name).join(', ') || 'nothing'}`);
  return v;
}

function floatType(v: OnnxValueInfo, where: string): FloatType {
  if (v.type === 'float32' || v.type === 'float16') return v.type;
  return fail(where, `${v.name} must be float32 or float16, it is ${v.type}`);
}

export function textEncoderLayout(sig: OnnxModelSignature, where = 'text_encoder/model.onnx'): TextEncoderLayout {
  const ids = find(sig.inputs, ['input_ids'], where, 'token id input');
  if (ids.type !== 'int32' && ids.type !== 'int64') fail(where, `input_ids must be int32 or int64, it is ${ids.type}`);
  const last = find(sig.outputs, ['last_hidden_state'], where, 'hidden-state output');
  const pooled = sig.outputs.find((o) => o.name === 'pooler_output');
  return { idsName: ids.name, idsType: ids.type, lastHiddenState: last.name, pooled: pooled?.name };
}

export function unetLayout(sig: OnnxModelSignature, where = 'unet/model.onnx'): UNetLayout {
  const sample = find(sig.inputs, ['sample'], where, 'latent input');
  const t = find(sig.inputs, ['timestep', 'timesteps'], where, 'timestep input');
  const hidden = find(sig.inputs, ['encoder_hidden_states'], where, 'conditioning input');
  const out = find(sig.outputs, ['out_sample', 'sample'], where, 'noise output');
  if (t.type === 'other') fail(where, `timestep has an unsupported element type`);
  if (t.dims.length > 1) fail(where, `timestep must be a scalar or 1-D, it has dims [${t.dims.join(', ')}]`);
  const timestepForm = t.dims.length === 0 ? 'scalar' : t.dims[0] === 1 ? 'single' : 'batch';
  return {
    sampleName: sample.name,
    sampleType: floatType(sample, where),
    timestepName: t.name,
    timestepType: t.type,
    timestepForm,
    hiddenStatesName: hidden.name,
    hiddenStatesType: floatType(hidden, where),
    outputName: out.name,
  };
}

export function vaeEncoderLayout(sig: OnnxModelSignature, where = 'vae_encoder/model.onnx'): VaeEncoderLayout {
  const sample = find(sig.inputs, ['sample'], where, 'image input');
  const out = find(sig.outputs, ['latent_sample', 'latent_parameters', 'latent_dist'], where, 'latent output');
  return {
    sampleName: sample.name,
    sampleType: floatType(sample, where),
    outputName: out.name,
    output: out.name === 'latent_sample' ? 'latent_sample' : 'latent_parameters',
  };
}

export function vaeDecoderLayout(sig: OnnxModelSignature, where = 'vae_decoder/model.onnx'): VaeDecoderLayout {
  const latent = find(sig.inputs, ['latent_sample', 'latent'], where, 'latent input');
  const out = find(sig.outputs, ['sample'], where, 'image output');
  return { latentName: latent.name, latentType: floatType(latent, where), outputName: out.name };
}

/** Builds the layout from signatures already read (e.g. from sessions the runner opened). */
export function pipelineLayoutFromSignatures(root: string, files: Partial<Record<OnnxRole, string>>, sigs: Partial<Record<OnnxRole, OnnxModelSignature>>): OnnxPipelineLayout {
  const layout: OnnxPipelineLayout = { root, files, exporter: 'unknown' };
  if (sigs.textEncoder) layout.textEncoder = textEncoderLayout(sigs.textEncoder, files.textEncoder);
  if (sigs.unet) layout.unet = unetLayout(sigs.unet, files.unet);
  if (sigs.vaeEncoder) layout.vaeEncoder = vaeEncoderLayout(sigs.vaeEncoder, files.vaeEncoder);
  if (sigs.vaeDecoder) layout.vaeDecoder = vaeDecoderLayout(sigs.vaeDecoder, files.vaeDecoder);
  if (layout.textEncoder?.idsType === 'int64' || layout.unet?.timestepType === 'int64' || layout.unet?.timestepForm === 'scalar' || layout.vaeEncoder?.output === 'latent_parameters') {
    layout.exporter = 'optimum';
  } else if (layout.textEncoder?.idsType === 'int32' || layout.unet?.timestepForm === 'batch') {
    layout.exporter = 'diffusers';
  }
  return layout;
}

/** Finds <root>/{text_encoder,unet,vae_encoder,vae_decoder}/model.onnx and reads each model's signature. */
export async function detectOnnxPipeline(root: string): Promise<OnnxPipelineLayout> {
  const files: Partial<Record<OnnxRole, string>> = {};
  for (const [role, dir] of Object.entries(ROLE_DIRS) as [OnnxRole, string][]) {
    const file = path.join(root, dir, 'model.onnx');
    try {
      if ((await stat(file)).isFile()) files[role] = file;
    } catch {
      // absent component
    }
  }
  if (!files.unet && !files.textEncoder && !files.vaeDecoder) {
    throw new LoaderError('NOT_ONNX_PIPELINE', `${root}: no text_encoder/, unet/ or vae_decoder/ model.onnx`);
  }
  const sigs: Partial<Record<OnnxRole, OnnxModelSignature>> = {};
  for (const [role, file] of Object.entries(files) as [OnnxRole, string][]) sigs[role] = await readOnnxSignature(file);
  return pipelineLayoutFromSignatures(root, files, sigs);
}

// ---- input adaptation

/** An input ready for `new ort.Tensor(type, data, dims)`; float16 data is the raw half bits. */
export interface OnnxFeed {
  name: string;
  type: 'float32' | 'float16' | 'int32' | 'int64';
  data: Float32Array | Uint16Array | Int32Array | BigInt64Array;
  dims: number[];
}

export function floatFeed(name: string, type: FloatType, data: Float32Array, dims: readonly number[]): OnnxFeed {
  if (type === 'float32') return { name, type, data, dims: [...dims] };
  return { name, type, data: floatsToHalves(data, 'float16'), dims: [...dims] };
}

/** Token ids as the text encoder declares them. */
export function textIdsFeed(layout: TextEncoderLayout, ids: Int32Array, dims: readonly number[]): OnnxFeed {
  const data = layout.idsType === 'int64' ? BigInt64Array.from(ids, (v) => BigInt(v)) : ids;
  return { name: layout.idsName, type: layout.idsType, data, dims: [...dims] };
}

/**
 * The timestep as the U-Net declares it. Integer exports get the rounded value (a fractional Euler timestep loses
 * its fraction there, as it would in diffusers' cast).
 */
export function timestepFeed(layout: UNetLayout, t: number, batch: number): OnnxFeed {
  const dims = layout.timestepForm === 'scalar' ? [] : layout.timestepForm === 'single' ? [1] : [batch];
  const n = layout.timestepForm === 'batch' ? batch : 1;
  const name = layout.timestepName;
  switch (layout.timestepType) {
    case 'int64':
      return { name, type: 'int64', data: new BigInt64Array(n).fill(BigInt(Math.round(t))), dims };
    case 'int32':
      return { name, type: 'int32', data: new Int32Array(n).fill(Math.round(t)), dims };
    case 'float16':
      return floatFeed(name, 'float16', new Float32Array(n).fill(t), dims);
    case 'float32':
      return floatFeed(name, 'float32', new Float32Array(n).fill(t), dims);
  }
}

/** float16 bits → float32 (ONNX outputs of half-precision exports). */
export function halfBitsToFloat(bits: Uint16Array): Float32Array {
  return halvesToFloats(bits);
}

/**
 * The unscaled 4-channel latent from a VAE-encoder output [B, C, h, w]. `latent_sample` is returned as is;
 * `latent_parameters` (mean ‖ logvar) gives the mean, or mean + exp(½·logvar)·z when an rng is given
 * (logvar clamped to [−30, 20] as diffusers' DiagonalGaussianDistribution does).
 */
export function latentFromEncoderOutput(layout: VaeEncoderLayout, output: HostTensor, rng?: Rng): HostTensor {
  if (layout.output === 'latent_sample') return output;
  const [b, c2, h, w] = output.shape as [number, number, number, number];
  if (output.shape.length !== 4 || c2 % 2 !== 0) {
    throw new LoaderError('ONNX_SIGNATURE', `${layout.outputName}: expected [B, 2C, h, w] mean ‖ logvar, got [${output.shape.join(', ')}]`);
  }
  const c = c2 / 2;
  const plane = h * w;
  const out = new Float32Array(b * c * plane);
  for (let n = 0; n < b; n++)
    for (let ch = 0; ch < c; ch++)
      for (let k = 0; k < plane; k++) {
        const mean = output.data[(n * c2 + ch) * plane + k]!;
        if (!rng) {
          out[(n * c + ch) * plane + k] = mean;
          continue;
        }
        const logvar = Math.min(20, Math.max(-30, output.data[(n * c2 + c + ch) * plane + k]!));
        out[(n * c + ch) * plane + k] = mean + Math.exp(0.5 * logvar) * rng.normal();
      }
  return hostTensor(out, [b, c, h, w]);
}

export type { OnnxElementType, OnnxModelSignature, OnnxValueInfo };
