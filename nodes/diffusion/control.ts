// ApplyControlNet: binds a ControlNet to its control image with a conditioning scale and a start/end window
// (spec §1.8); chaining several sums their residuals (spec §5.1). The ControlNet sees whatever conditioning the
// U-Net gets, KOSMOS-G's included.

import { defineNode } from '../../engine/node-def.ts';
import { diffusionError } from './common.ts';
import type { ControlFit, ControlNetValue, ControlValue, ImageValue } from './values.ts';

export const ApplyControlNet = defineNode({
  type: 'ApplyControlNet',
  category: 'diffusion/control',
  description: 'Use a ControlNet with a control image (RGB in [0, 1]; fitted to the output size) at a scale, within a start/end fraction of the steps',
  inputs: {
    controlnet: { type: 'CONTROLNET' },
    image: { type: 'IMAGE' },
    previous: { type: 'CONTROL', optional: true, description: 'Another ControlNet to combine with (residuals add up)' },
  },
  widgets: {
    scale: { kind: 'FLOAT', default: 1, min: 0, max: 4, step: 0.05 },
    start: { kind: 'FLOAT', default: 0, min: 0, max: 1, step: 0.01 },
    end: { kind: 'FLOAT', default: 1, min: 0, max: 1, step: 0.01 },
    fit: {
      kind: 'ENUM',
      options: ['crop', 'stretch', 'exact'],
      default: 'crop',
      description: 'a control image of another size: crop = scale to cover and cut the centre, stretch = scale each side, exact = refuse',
    },
  },
  outputs: { control: { type: 'CONTROL' } },
  execute(args) {
    if (args.start > args.end) throw diffusionError('WIDGET_RANGE', `ApplyControlNet: start ${args.start} is after end ${args.end}`);
    const control: ControlValue = {
      controlnet: args.controlnet as ControlNetValue,
      image: args.image as ImageValue,
      fit: args.fit as ControlFit,
      scale: args.scale,
      start: args.start,
      end: args.end,
      next: args.previous as ControlValue | undefined,
    };
    return { control };
  },
});
