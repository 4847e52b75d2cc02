// The diffusion pack: SD 1.5 U-Net, VAE, ControlNet and LoRA as graph nodes, and the guided Sampler.
// (PreviewImage and SaveImage are the core pack's.)

import { definePack } from '../../engine/node-def.ts';
import { releaseRunners } from '../../models/runtime/runners.ts';
import { LoadControlNet, LoadStableDiffusion, LoadUNet, LoadVAE } from './loaders.ts';
import { EmptyLatent, VAEDecode, VAEEncode } from './latent.ts';
import { Scheduler } from './scheduler.ts';
import { UNetPredict } from './predict.ts';
import { Sampler } from './sampler.ts';
import { ApplyControlNet } from './control.ts';
import { ApplyLoRA, LoadLoRA } from './lora.ts';

export default definePack('diffusion', [
  LoadStableDiffusion,
  LoadUNet,
  LoadVAE,
  LoadControlNet,
  LoadLoRA,
  ApplyLoRA,
  Scheduler,
  EmptyLatent,
  VAEEncode,
  VAEDecode,
  UNetPredict,
  Sampler,
  ApplyControlNet,
], { release: releaseRunners });
