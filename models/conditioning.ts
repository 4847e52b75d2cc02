// What flows from the prompt side to the U-Net: the conditioning the cross-attention reads, and the
// unconditional embedding classifier-free guidance pairs it with. For KOSMOS-G the unconditional embedding is
// the model's own null condition (MLLM + AlignerNet-M on `[<s>]`, spec §1.6); for plain SD 1.5 it is CLIP("").
import { hostTensor, type HostTensor } from './ops/ops.ts';

export interface Conditioning {
  /** [B, 77, 768] (or [B, L, D] for small configs). */
  cond: HostTensor;
  /** Same shape as `cond`, or [1, L, D] to broadcast over the batch. */
  uncond?: HostTensor;
  /** Where it came from, for messages: 'kosmos-g', 'clip-text', … */
  source?: string;
}

/** Why two conditionings cannot be blended (the message says which tensor). */
export class ConditioningBlendError extends Error {
  readonly code = 'CONDITIONING_SHAPE';
  constructor(message: string) {
    super(message);
    this.name = 'ConditioningBlendError';
  }
}

function lerp(to: HostTensor, from: HostTensor, weight: number, what: string): HostTensor {
  if (to.shape.length !== from.shape.length || to.shape.some((d, i) => d !== from.shape[i])) {
    throw new ConditioningBlendError(`${what}: [${to.shape.join(', ')}] and [${from.shape.join(', ')}] differ; only conditionings of one shape blend`);
  }
  const a = to.data, b = from.data;
  return hostTensor(Float32Array.from(a, (x, i) => weight * x + (1 - weight) * b[i]!), to.shape);
}

/**
 * `weight · to + (1 − weight) · from`, element by element, for the condition and (where both have one) the
 * unconditional embedding; otherwise `to`'s unconditional embedding stays. Blending is how one walks from one
 * prompt's condition to another's (prompt interpolation), and how the benches measure how close a condition must
 * come to a target before the picture follows it.
 */
export function blendConditioning(to: Conditioning, from: Conditioning, weight: number): Conditioning {
  const cond = lerp(to.cond, from.cond, weight, 'condition');
  const uncond = to.uncond && from.uncond ? lerp(to.uncond, from.uncond, weight, 'unconditional embedding') : to.uncond;
  return { cond, ...(uncond ? { uncond } : {}), source: `blend(${to.source ?? '?'} ${weight}, ${from.source ?? '?'})` };
}
