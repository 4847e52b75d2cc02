// UNetPredict: one noise prediction ε(latent, t, condition), the building block the Sampler repeats; useful to
// inspect a U-Net, and for tests.

import { defineNode } from '../../engine/node-def.ts';
import { checkCondition, checkLatentSize, predictNoise } from './denoise.ts';
import type { Conditioning, ControlValue, LatentValue, UNetValue } from './values.ts';

export const UNetPredict = defineNode({
  type: 'UNetPredict',
  category: 'diffusion/sampling',
  description: 'One U-Net noise prediction ε for a latent at a timestep under the conditioning (conditional half only)',
  inputs: {
    unet: { type: 'UNET' },
    latent: { type: 'LATENT' },
    conditioning: { type: 'CONDITIONING' },
    control: { type: 'CONTROL', optional: true },
  },
  widgets: { timestep: { kind: 'FLOAT', default: 999, min: 0, max: 999 } },
  outputs: { noise: { type: 'LATENT' } },
  async execute(args) {
    const unet = args.unet as UNetValue;
    const latent = args.latent as LatentValue;
    const cond = (args.conditioning as Conditioning).cond;
    checkLatentSize(unet, latent.samples);
    checkCondition(unet, cond, 'conditioning');
    const b = latent.samples.shape[0];
    if (cond.shape[0] !== b && cond.shape[0] !== 1) {
      throw Object.assign(new Error(`UNetPredict: conditioning batch ${cond.shape[0]} vs latent batch ${b}`), { code: 'BATCH_MISMATCH' });
    }
    const per = cond.data.length / cond.shape[0];
    const condB =
      cond.shape[0] === b
        ? cond
        : { ...cond, shape: [b, ...cond.shape.slice(1)], data: Float32Array.from({ length: per * b }, (_, i) => cond.data[i % per]) };
    const eps = await predictNoise(unet, latent.samples, args.timestep, condB, args.control as ControlValue | undefined);
    return { noise: { samples: eps, kind: 'image' } satisfies LatentValue };
  },
});
