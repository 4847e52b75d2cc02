// One noise prediction with everything a U-Net value carries: its unmerged LoRA, and the active ControlNets whose
// residuals (summed, spec §5.1) enter the U-Net's skips and mid block. Shared by UNetPredict and the Sampler.

import { createHash } from 'node:crypto';
import { hostTensor, type HostTensor } from '../../models/ops/ops.ts';
import { controlNetEntry, unetEntry } from '../../models/unet/entries.ts';
import type { ForwardFn } from '../../models/runtime/runner.ts';
import type { UnmergedLora } from '../../models/unet/lora-hook.ts';
import { diffusionError, runEntry } from './common.ts';
import { resize } from '../core/image-nodes.ts';
import { imageValue } from '../../models/image.ts';
import type { ControlValue, ImageValue, UNetValue } from './values.ts';

/** A [N] float tensor of one timestep repeated over the batch (the diffusers ONNX layout, spec §4.2). */
export function timestepTensor(t: number, batch: number): HostTensor {
  return hostTensor(new Float32Array(batch).fill(t), [batch]);
}

/** The control image as [N, 3, H, W]: a batch of 1 repeats, a batch of B tiles over the [uncond; cond] halves. */
export function controlImageBatch(image: ImageValue, n: number): HostTensor {
  const per = 3 * image.height * image.width;
  if (n % image.batch !== 0) {
    throw diffusionError('BATCH_MISMATCH', `ApplyControlNet: control image batch ${image.batch} does not divide the latent batch ${n}`);
  }
  const data = new Float32Array(n * per);
  for (let i = 0; i < n; i++) data.set(image.data.subarray((i % image.batch) * per, ((i % image.batch) + 1) * per), i * per);
  return hostTensor(data, [n, 3, image.height, image.width]);
}

/** A centre window of the image with the given aspect ratio (width / height). */
function centreCrop(image: ImageValue, aspect: number): ImageValue {
  const { width: w, height: h } = image;
  const cw = Math.min(w, Math.round(h * aspect));
  const ch = Math.min(h, Math.round(w / aspect));
  if (cw === w && ch === h) return image;
  const left = Math.floor((w - cw) / 2), top = Math.floor((h - ch) / 2);
  const out = new Float32Array(image.batch * 3 * cw * ch);
  for (let plane = 0; plane < image.batch * 3; plane++) {
    for (let y = 0; y < ch; y++) out.set(image.data.subarray(plane * w * h + (top + y) * w + left, plane * w * h + (top + y) * w + left + cw), (plane * ch + y) * cw);
  }
  return imageValue(out, image.batch, ch, cw);
}

/** Fitted control images, per control and size: the sampler asks at every step. */
const fitted = new WeakMap<ControlValue, Map<string, ImageValue>>();

/** The control image at the size the latents need (latent size × the ControlNet's downscale), as `fit` says. */
export function fitControlImage(control: ControlValue, latents: HostTensor): ImageValue {
  const f = control.controlnet.model.imageDownscale;
  const [, , h, w] = latents.shape;
  const { image } = control;
  if (image.height === h * f && image.width === w * f) return image;
  if (control.fit === 'exact') {
    throw diffusionError(
      'CONTROL_SIZE',
      `ApplyControlNet: control image is ${image.width}×${image.height}, the latents need ${w * f}×${h * f} (latent ${w}×${h} × ${f}; fit 'crop' or 'stretch' resizes it)`,
    );
  }
  const key = `${control.fit}:${w * f}x${h * f}`;
  let sizes = fitted.get(control);
  if (!sizes) fitted.set(control, (sizes = new Map()));
  let out = sizes.get(key);
  if (!out) {
    out = resize(control.fit === 'crop' ? centreCrop(image, w / h) : image, w * f, h * f, false);
    sizes.set(key, out);
  }
  return out;
}

export interface StepPosition {
  index: number;
  total: number;
  /** The batch is [uncond; cond]. */
  guided?: boolean;
}

/**
 * Whether a ControlNet with window [start, end] acts at this step: diffusers' keep = 1 − (i/n < start or
 * (i+1)/n > end). Without a position (a single prediction) it always acts.
 */
export function controlActive(c: { start: number; end: number }, step?: StepPosition): boolean {
  if (!step) return true;
  return !(step.index / step.total < c.start || (step.index + 1) / step.total > c.end);
}

/** Residuals of every ControlNet active at this step, summed; undefined when none is. */
export async function controlResiduals(
  control: ControlValue | undefined,
  latents: HostTensor,
  t: number,
  cond: HostTensor,
  step?: StepPosition,
): Promise<HostTensor[] | undefined> {
  let sum: HostTensor[] | undefined;
  for (let c = control; c; c = c.next) {
    if (!controlActive(c, step) || c.scale === 0) continue;
    const n = latents.shape[0];
    const inputs = [latents, timestepTensor(t, n), cond, controlImageBatch(fitControlImage(c, latents), n), hostTensor(new Float32Array([c.scale]), [1])];
    let out = await runEntry(c.controlnet.backend, c.controlnet.model, 'controlnet', controlNetEntry(c.controlnet.model), inputs);
    // Pooled ("shuffle") ControlNets steer the conditional half only, as diffusers' pipeline does (guess mode).
    if (c.controlnet.model.config.globalPoolConditions && step?.guided) out = out.map(zeroFirstHalf);
    if (!sum) sum = out;
    else sum = sum.map((s, i) => addHost(s, out[i]));
  }
  return sum;
}

/** The residual with its first batch half (the unconditional one) set to 0. */
function zeroFirstHalf(r: HostTensor): HostTensor {
  const d = Float32Array.from(r.data);
  d.fill(0, 0, d.length / 2);
  return hostTensor(d, r.shape);
}

function addHost(a: HostTensor, b: HostTensor): HostTensor {
  const d = new Float32Array(a.data.length);
  for (let i = 0; i < d.length; i++) d[i] = a.data[i] + b.data[i];
  return hostTensor(d, a.shape);
}

function withLora(forward: ForwardFn, lora: UnmergedLora | undefined): ForwardFn {
  if (!lora) return forward;
  return (ops, inputs) => forward(lora.wrap(ops), inputs);
}

export function loraTag(lora: UnmergedLora): string {
  const h = createHash('sha256');
  h.update(String(lora.multiplier));
  for (const [key, list] of lora._patches) {
    for (const p of list) {
      h.update(key);
      h.update(String(p.scale));
      h.update(new Uint8Array(p.up.data.buffer, p.up.data.byteOffset, p.up.data.byteLength));
      h.update(new Uint8Array(p.down.data.buffer, p.down.data.byteOffset, p.down.data.byteLength));
    }
  }
  return h.digest('hex').slice(0, 16);
}

export function checkLatentSize(unet: UNetValue, latents: HostTensor): void {
  const m = unet.model.sizeMultiple;
  const [, c, h, w] = latents.shape;
  if (latents.shape.length !== 4 || c !== unet.model.config.inChannels || h % m !== 0 || w % m !== 0) {
    throw diffusionError(
      'LATENT_SHAPE',
      `U-Net: latents [${latents.shape.join(', ')}] must be [B, ${unet.model.config.inChannels}, h, w] with h, w multiples of ${m}`,
    );
  }
}

export function checkCondition(unet: UNetValue, cond: HostTensor, what: string): void {
  const d = unet.model.config.crossAttentionDim;
  if (cond.shape.length !== 3 || cond.shape[2] !== d) {
    throw diffusionError(
      'CONDITIONING_SHAPE',
      `${what} [${cond.shape.join(', ')}] does not fit this U-Net: it expects [B, L, ${d}] (cross_attention_dim ${d})`,
    );
  }
}

/** ε for `latents` [N, C, h, w] at timestep t with condition [N, L, D]. */
export async function predictNoise(
  unet: UNetValue,
  latents: HostTensor,
  t: number,
  cond: HostTensor,
  control?: ControlValue,
  step?: StepPosition,
): Promise<HostTensor> {
  const n = latents.shape[0];
  if (unet.external) {
    for (let c = control; c; c = c.next) {
      if (controlActive(c, step) && c.scale !== 0) {
        throw diffusionError('CONTROLNET_UNSUPPORTED', `${unet.source}: an ONNX export has no ControlNet inputs; load the U-Net from safetensors`);
      }
    }
    return unet.external.predict(latents, t, cond);
  }
  const residuals = await controlResiduals(control, latents, t, cond, step);
  const inputs = [latents, timestepTensor(t, n), cond, ...(residuals ?? [])];
  const entry = (residuals ? 'unet+control' : 'unet') + (unet.lora ? `+lora:${unet.loraTag ?? loraTag(unet.lora)}` : '');
  const [eps] = await runEntry(unet.backend, unet.model, entry, withLora(unetEntry(unet.model), unet.lora), inputs);
  return eps;
}
