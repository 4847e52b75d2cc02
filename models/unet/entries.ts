// The runner entry points of the diffusion models: pure functions of host-fed inputs and the module's parameters
// (models/runtime/runner.ts), so the same function runs eagerly on tfjs or is traced once into ONNX.
//
//   'unet'          [sample, timesteps, context]                   → [ε]
//   'unet+control'  [sample, timesteps, context, ...down, mid]     → [ε]
//   'controlnet'    [sample, timesteps, context, image, scale[1]]  → [...down, mid]
//   'vae_encode'    [image in [−1, 1]]                             → [moments]
//   'vae_decode'    [latent, unscaled]                             → [image in about [−1, 1]]

import type { ForwardFn } from '../runtime/runner.ts';
import type { ControlNetModel } from '../controlnet/controlnet.ts';
import type { AutoencoderKL } from '../vae/autoencoder.ts';
import type { UNet2DConditionModel } from './unet.ts';

export function unetEntry(unet: UNet2DConditionModel): ForwardFn {
  return (ops, inputs) => {
    const [sample, timesteps, context, ...residuals] = inputs;
    if (residuals.length === 0) return [unet.forward(ops, sample, timesteps, context)];
    const mid = residuals[residuals.length - 1];
    return [unet.forward(ops, sample, timesteps, context, { down: residuals.slice(0, -1), mid })];
  };
}

export function controlNetEntry(controlnet: ControlNetModel): ForwardFn {
  return (ops, inputs) => {
    const [sample, timesteps, context, image, scale] = inputs;
    const r = controlnet.forward(ops, sample, timesteps, context, image, scale);
    return [...r.down, r.mid];
  };
}

export function vaeEncodeEntry(vae: AutoencoderKL): ForwardFn {
  return (ops, [image]) => [vae.encodeMoments(ops, image)];
}

export function vaeDecodeEntry(vae: AutoencoderKL): ForwardFn {
  return (ops, [latent]) => [vae.decode(ops, latent)];
}
