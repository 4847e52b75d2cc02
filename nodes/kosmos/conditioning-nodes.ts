// Nodes that combine conditionings, wherever they came from (KOSMOS-G, CLIP text): ConditioningAverage.
import { defineNode } from '../../engine/node-def.ts';
import { blendConditioning, ConditioningBlendError } from '../../models/conditioning.ts';
import { kosmosError } from './common.ts';

export const ConditioningAverage = defineNode({
  type: 'ConditioningAverage',
  category: 'kosmos-g/conditioning',
  description:
    'strength · to + (1 − strength) · from, for the condition and the unconditional embedding (both must have one shape, e.g. a KOSMOS-G and a CLIP text condition of one U-Net): walks from one prompt to another',
  inputs: { conditioning_to: { type: 'CONDITIONING' }, conditioning_from: { type: 'CONDITIONING' } },
  widgets: { strength: { kind: 'FLOAT', default: 0.5, min: 0, max: 1, step: 0.01, description: "conditioning_to's share" } },
  outputs: { conditioning: { type: 'CONDITIONING' } },
  execute({ conditioning_to, conditioning_from, strength }) {
    try {
      return { conditioning: blendConditioning(conditioning_to, conditioning_from, strength) };
    } catch (e) {
      if (e instanceof ConditioningBlendError) throw kosmosError(e.code, `ConditioningAverage: ${e.message}`);
      throw e;
    }
  },
});
