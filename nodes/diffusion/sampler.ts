// The Sampler: the guided sampling loop (models/sampling/guided.ts) over this pack's U-Net values, with
// ControlNets and unmerged LoRAs, per-step progress, an optional preview every N steps and cancellation at every
// step. As in ComfyUI, this node's seed is the noise: an empty latent (text-to-image) starts from that noise × the
// scheduler's init sigma (right for Euler too); an image latent (VAEEncode) is noised with it to the step that
// `denoise` selects.

import { defineNode } from '../../engine/node-def.ts';
import { hostTensor } from '../../models/ops/ops.ts';
import { randn } from '../../models/ops/random.ts';
import { createScheduler } from '../../models/schedulers/index.ts';
import { sampleGuided } from '../../models/sampling/guided.ts';
import { diffusionError } from './common.ts';
import { checkCondition, checkLatentSize, predictNoise } from './denoise.ts';
import { latentPreviewPng } from './preview.ts';
import type { Conditioning, ControlValue, LatentValue, SchedulerValue, UNetValue } from './values.ts';

export const Sampler = defineNode({
  type: 'Sampler',
  category: 'diffusion/sampling',
  description:
    'Classifier-free guided sampling: ε = ε_u + s·(ε_c − ε_u) with the conditioning\'s own unconditional embedding (KOSMOS-G\'s null condition, or CLIP("") for plain SD)',
  inputs: {
    unet: { type: 'UNET' },
    conditioning: { type: 'CONDITIONING' },
    latent: { type: 'LATENT' },
    scheduler: { type: 'SCHEDULER' },
    control: { type: 'CONTROL', optional: true, description: 'ControlNet(s) from ApplyControlNet' },
  },
  widgets: {
    guidance: { kind: 'FLOAT', default: 7.5, min: 0, max: 50, step: 0.5, description: 'Guidance scale s (1: no guidance)' },
    seed: { kind: 'SEED', default: 0, description: 'The noise: the start of text-to-image, or what is added to an image latent (denoise < 1)' },
    steps: { kind: 'INT', default: 0, min: 0, max: 1000, description: "0: the Scheduler node's steps" },
    denoise: { kind: 'FLOAT', default: 1, min: 0, max: 1, step: 0.05, description: 'Fraction of the schedule to run on an image latent' },
    preview_every: { kind: 'INT', default: 0, min: 0, max: 1000, description: 'A preview image every N steps (0: none)' },
  },
  outputs: { latent: { type: 'LATENT' } },
  async execute(args, ctx) {
    const unet = args.unet as UNetValue;
    const conditioning = args.conditioning as Conditioning;
    const latent = args.latent as LatentValue;
    const recipe = args.scheduler as SchedulerValue;
    const control = args.control as ControlValue | undefined;
    const steps = args.steps > 0 ? args.steps : recipe.steps;
    const scheduler = createScheduler(recipe.name, recipe.config, { ...recipe.options, steps, seed: args.seed });

    checkLatentSize(unet, latent.samples);
    checkCondition(unet, conditioning.cond, 'conditioning');
    if (conditioning.uncond) checkCondition(unet, conditioning.uncond, 'unconditional conditioning');
    if (args.guidance !== 1 && !conditioning.uncond) {
      throw diffusionError(
        'MISSING_UNCOND',
        `Sampler: guidance ${args.guidance} needs an unconditional embedding, and this ${conditioning.source ?? ''} conditioning has none (set guidance to 1)`,
      );
    }

    const total = scheduler.timesteps.length;
    const shape = latent.samples.shape;
    let startStep = 0;
    let start: Float32Array;
    if (latent.kind === 'noise') {
      start = Float32Array.from(latent.samples.data, (v) => v * scheduler.initNoiseSigma);
    } else {
      // An empty latent has nothing to keep: it always runs the whole schedule.
      startStep = latent.kind === 'empty' ? 0 : Math.min(total, total - Math.round(total * args.denoise));
      const noise = randn(latent.samples.data.length, args.seed);
      start =
        startStep === 0
          ? Float32Array.from(noise, (v) => v * scheduler.initNoiseSigma)
          : scheduler.addNoise(Float32Array.from(latent.samples.data), noise, startStep);
    }

    const samples = await sampleGuided({
      scheduler,
      latents: hostTensor(start, shape),
      cond: conditioning.cond,
      uncond: conditioning.uncond,
      guidanceScale: args.guidance,
      signal: ctx.signal,
      previewEvery: args.preview_every,
      startStep,
      predictEps: async (latents, t, cond, step) => (await predictNoise(unet, latents, t, cond, control, step)).data as Float32Array,
      onStep: async (done, n, x0) => {
        const preview = x0 ? { mime: 'image/png' as const, data: await latentPreviewPng(x0) } : undefined;
        ctx.progress({ value: done, max: n, preview });
      },
    });
    return { latent: { samples, kind: 'image' } satisfies LatentValue };
  },
});
