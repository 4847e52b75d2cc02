// What flows from the prompt side to the U-Net: the conditioning the cross-attention reads, and the
// unconditional embedding classifier-free guidance pairs it with. For KOSMOS-G the unconditional embedding is
// the model's own null condition (MLLM + AlignerNet-M on `[<s>]`, spec §1.6); for plain SD 1.5 it is CLIP("").
import type { HostTensor } from './ops/ops.ts';

export interface Conditioning {
  /** [B, 77, 768] (or [B, L, D] for small configs). */
  cond: HostTensor;
  /** Same shape as `cond`, or [1, L, D] to broadcast over the batch. */
  uncond?: HostTensor;
  /** Where it came from, for messages: 'kosmos-g', 'clip-text', … */
  source?: string;
}
