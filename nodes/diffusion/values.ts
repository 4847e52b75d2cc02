// The values the diffusion nodes pass along their sockets. A model value carries its module, the backend its
// node chose, and where it came from (for messages); it is what the executor caches, so it reports its size.

import type { BackendName } from '../../models/runtime/runner.ts';
import type { HostTensor } from '../../models/ops/ops.ts';
import type { Module } from '../../models/nn/module.ts';
import type { UNet2DConditionModel } from '../../models/unet/unet.ts';
import type { UnmergedLora } from '../../models/unet/lora-hook.ts';
import type { AutoencoderKL } from '../../models/vae/autoencoder.ts';
import type { ControlNetModel } from '../../models/controlnet/controlnet.ts';
import type { SchedulerName } from '../../models/schedulers/scheduler.ts';
import type { SchedulerConfig } from '../../models/schedulers/schedule.ts';
import type { SchedulerOptions } from '../../models/schedulers/index.ts';
import type { ImageValue } from '../../models/image.ts';
import type { ExternalUNet, ExternalVAE } from './external.ts';
import type { Conditioning } from '../../models/conditioning.ts';

export interface ModelValue<M extends Module> {
  model: M;
  backend: BackendName;
  /** 'random small (seed 3)', a file path, … */
  source: string;
  byteSize(): number;
  /** Frees what the value holds outside the JS heap (ONNX Runtime sessions of external exports). */
  dispose?(): void;
}

export interface UNetValue extends ModelValue<UNet2DConditionModel> {
  /** Unmerged LoRAs applied in-graph (ApplyLoRA mode 'unmerged'). */
  lora?: UnmergedLora;
  /** Identifies the LoRA set in runner entry names (a content hash), so each traced graph is cached apart. */
  loraTag?: string;
  /** An ONNX export run as it is (then `model` only describes the config and holds no weights). */
  external?: ExternalUNet;
}
export interface VAEValue extends ModelValue<AutoencoderKL> {
  external?: ExternalVAE;
}
export type ControlNetValue = ModelValue<ControlNetModel>;

/** A ControlNet bound to its control image: what ApplyControlNet gives the Sampler. */
export type ControlFit = 'crop' | 'stretch' | 'exact';

export interface ControlValue {
  controlnet: ControlNetValue;
  /** [B | 1, 3, H, W] in [0, 1]; fitted to the latent size × the ControlNet's downscale as `fit` says. */
  image: ImageValue;
  /** crop: scale to cover, then cut the centre (ComfyUI's hint handling); stretch: scale each side; exact: refuse. */
  fit: ControlFit;
  scale: number;
  /** Active for step fractions in [start, end] (spec §1.8 keep window). */
  start: number;
  end: number;
  /** Several ControlNets: residuals are summed (spec §5.1). */
  next?: ControlValue;
}

/**
 * LATENT: scaled latents [B, C, h, w]. `empty`: EmptyLatent's zeros (text-to-image: the Sampler draws the noise from
 * its seed); `noise`: noise a node drew itself (used as the start, × init sigma); `image`: a real latent.
 */
export interface LatentValue {
  samples: HostTensor;
  kind: 'empty' | 'noise' | 'image';
}

/** SCHEDULER: a recipe; the Sampler creates a fresh stateful scheduler from it for every run. */
export interface SchedulerValue {
  name: SchedulerName;
  steps: number;
  config: Partial<SchedulerConfig>;
  options: SchedulerOptions;
}

/** LORA: the file's tensors; ApplyLoRA resolves them against the U-Net it is applied to. */
export interface LoraValue {
  tensors: Map<string, HostTensor>;
  source: string;
  /** The PEFT adapter config's lora_alpha, when the file's folder has adapter_config.json. */
  alpha?: number;
}

declare module '../../engine/node-def.ts' {
  interface SocketTypes {
    UNET: UNetValue;
    VAE: VAEValue;
    CONTROLNET: ControlNetValue;
    CONTROL: ControlValue;
    LATENT: LatentValue;
    SCHEDULER: SchedulerValue;
    LORA: LoraValue;
  }
}

/** Bytes the module's parameters take once used (lazily initialised ones included: the cache must plan for them). */
export function moduleBytes(model: Module): number {
  return model.parameterCount() * 4;
}

export type { ImageValue, Conditioning };
