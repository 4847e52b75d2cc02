// ONNX exports of SD 1.5 made elsewhere (diffusers' convert script or optimum, spec §4.2): unet/model.onnx,
// vae_encoder/model.onnx, vae_decoder/model.onnx run as they are on ONNX Runtime. Input names, element types and
// ranks are read from each model at load time and the feeds adapted: the timestep as a scalar, [1] or one value
// per batch item (float or int64); the encoder's `latent_sample` (already a sample) or `latent_parameters`
// (mean ‖ logvar). Such a model has no ControlNet inputs and cannot take an unmerged LoRA.

import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { loadExternalOnnx, type ExternalOnnxModel, type OnnxValueInfo } from '../../models/backends/onnx/index.ts';
import { hostTensor, type HostTensor } from '../../models/ops/ops.ts';
import { diffusionError } from './common.ts';

export type OnnxPart = 'unet' | 'vae_encoder' | 'vae_decoder';

/** The model.onnx of `part` when `where` is an ONNX export folder (or that file itself); undefined otherwise. */
export function findOnnxFile(where: string, part: OnnxPart): string | undefined {
  if (where === '' || !existsSync(where)) return undefined;
  if (statSync(where).isFile()) return where.endsWith('.onnx') ? where : undefined;
  for (const file of [path.join(where, part, 'model.onnx'), path.join(where, 'model.onnx')]) if (existsSync(file)) return file;
  return undefined;
}

function pick(list: OnnxValueInfo[], names: string[], index: number, file: string, what: string): OnnxValueInfo {
  const named = list.find((v) => names.includes(v.name));
  if (named) return named;
  const positional = list[index];
  if (positional && list.length === 3) return positional;
  throw diffusionError('ONNX_SIGNATURE', `${file}: no ${what} (${names.join(' or ')}); it has ${list.map((v) => v.name).join(', ')}`);
}

export class ExternalUNet {
  private constructor(
    readonly onnx: ExternalOnnxModel,
    private readonly sample: OnnxValueInfo,
    private readonly timestep: OnnxValueInfo,
    private readonly context: OnnxValueInfo,
  ) {}

  static async load(file: string): Promise<ExternalUNet> {
    const onnx = await loadExternalOnnx(file);
    const u = new ExternalUNet(
      onnx,
      pick(onnx.inputs, ['sample'], 0, file, 'latent input'),
      pick(onnx.inputs, ['timestep', 'timesteps'], 1, file, 'timestep input'),
      pick(onnx.inputs, ['encoder_hidden_states'], 2, file, 'conditioning input'),
    );
    if (u.timestep.shape.length > 1) {
      throw diffusionError('ONNX_SIGNATURE', `${file}: the timestep input must be a scalar or 1-D, it is [${u.timestep.shape.join(', ')}]`);
    }
    return u;
  }

  /** ε for latents [N, C, h, w] at timestep t with condition [N, L, D]. */
  async predict(latents: HostTensor, t: number, cond: HostTensor): Promise<HostTensor> {
    const n = latents.shape[0];
    const dims = this.timestep.shape;
    // Spec §4.2: diffusers exports take float [batch]; optimum int64 [steps] or a float scalar; some fix [1].
    const ts = dims.length === 0 ? hostTensor(new Float32Array([t]), []) : dims[0] === 1 ? hostTensor(new Float32Array([t]), [1]) : hostTensor(new Float32Array(n).fill(t), [n]);
    const out = await this.onnx.run({ [this.sample.name]: latents, [this.timestep.name]: ts, [this.context.name]: cond });
    const first = this.onnx.outputs.find((o) => o.name === 'out_sample') ?? this.onnx.outputs[0];
    return out[first.name];
  }
}

export interface ExternalVAE {
  encoder?: ExternalOnnxModel;
  decoder?: ExternalOnnxModel;
}

export async function loadExternalVAE(where: string): Promise<ExternalVAE | undefined> {
  const enc = findOnnxFile(where, 'vae_encoder');
  const dec = findOnnxFile(where, 'vae_decoder');
  if (!dec || dec === findOnnxFile(where, 'unet')) return undefined;
  return { encoder: enc && enc !== dec ? await loadExternalOnnx(enc) : undefined, decoder: await loadExternalOnnx(dec) };
}

/** Unscaled latent → image in about [−1, 1] (the decoder includes post_quant_conv). */
export async function externalDecode(vae: ExternalOnnxModel, latent: HostTensor): Promise<HostTensor> {
  const out = await vae.run([latent]);
  return out[vae.outputs.find((o) => o.name === 'sample')?.name ?? vae.outputs[0].name];
}

/**
 * Image in [−1, 1] → the encoder's output as moments [B, 2L, h, w]: `latent_parameters` already is; a
 * `latent_sample` export gives a sample, returned with logvar −30 so sampling it again changes nothing.
 */
export async function externalEncodeMoments(vae: ExternalOnnxModel, image: HostTensor): Promise<HostTensor> {
  const out = await vae.run([image]);
  const info = vae.outputs.find((o) => o.name === 'latent_parameters' || o.name === 'latent_sample') ?? vae.outputs[0];
  const t = out[info.name];
  if (info.name === 'latent_parameters') return t;
  const [b, l, h, w] = t.shape;
  const plane = l * h * w;
  const data = new Float32Array(2 * b * plane).fill(-30);
  for (let n = 0; n < b; n++) data.set(t.data.subarray(n * plane, (n + 1) * plane), n * 2 * plane);
  return hostTensor(data, [b, 2 * l, h, w]);
}
