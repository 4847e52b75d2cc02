// LDM (`first_stage_model.`) AutoencoderKL names → diffusers names (after diffusers' single-file converter):
//   {encoder,decoder}.conv_in/conv_out, norm_out → conv_norm_out
//   encoder.down.i.block.j → encoder.down_blocks.i.resnets.j;  encoder.down.i.downsample.conv → …downsamplers.0.conv
//   decoder.up.i.block.j   → decoder.up_blocks.(N−1−i).resnets.j (LDM counts up-blocks from the bottom)
//   {encoder,decoder}.mid.block_{1,2} → mid_block.resnets.{0,1};  mid.attn_1.{norm,q,k,v,proj_out} →
//   mid_block.attentions.0.{group_norm,to_q,to_k,to_v,to_out.0} (1×1 conv weights → linear [C, C])
//   nin_shortcut → conv_shortcut;  quant_conv, post_quant_conv unchanged.

import type { HostTensor } from '../ops/ops.ts';

const ATTN_PARTS: Record<string, string> = { norm: 'group_norm', q: 'to_q', k: 'to_k', v: 'to_v', proj_out: 'to_out.0' };

/** Maps one LDM VAE key (without `first_stage_model.`); `upBlocks` is the decoder's number of up blocks. */
export function mapLdmVaeKey(key: string, upBlocks: number): string | undefined {
  if (/^(post_)?quant_conv\./.test(key)) return key;
  const m = /^(encoder|decoder)\.(.+)$/.exec(key);
  if (!m) return undefined;
  const side = m[1]!;
  let rest = m[2]!;
  rest = rest.replace(/^norm_out\./, 'conv_norm_out.');
  if (/^(conv_in|conv_out|conv_norm_out)\./.test(rest)) return `${side}.${rest}`;
  let r = /^down\.(\d+)\.block\.(\d+)\.(.+)$/.exec(rest);
  if (r && side === 'encoder') return `encoder.down_blocks.${r[1]}.resnets.${r[2]}.${resnetPart(r[3]!)}`;
  r = /^down\.(\d+)\.downsample\.conv\.(.+)$/.exec(rest);
  if (r && side === 'encoder') return `encoder.down_blocks.${r[1]}.downsamplers.0.conv.${r[2]}`;
  r = /^up\.(\d+)\.block\.(\d+)\.(.+)$/.exec(rest);
  if (r && side === 'decoder') return `decoder.up_blocks.${upBlocks - 1 - Number(r[1])}.resnets.${r[2]}.${resnetPart(r[3]!)}`;
  r = /^up\.(\d+)\.upsample\.conv\.(.+)$/.exec(rest);
  if (r && side === 'decoder') return `decoder.up_blocks.${upBlocks - 1 - Number(r[1])}.upsamplers.0.conv.${r[2]}`;
  r = /^mid\.block_([12])\.(.+)$/.exec(rest);
  if (r) return `${side}.mid_block.resnets.${Number(r[1]) - 1}.${resnetPart(r[2]!)}`;
  r = /^mid\.attn_1\.(norm|q|k|v|proj_out)\.(weight|bias)$/.exec(rest);
  if (r) return `${side}.mid_block.attentions.0.${ATTN_PARTS[r[1]!]}.${r[2]}`;
  return undefined;
}

function resnetPart(part: string): string {
  return part.replace(/^nin_shortcut\./, 'conv_shortcut.');
}

/** The decoder's number of up blocks, read from the LDM keys (`decoder.up.<i>.…`). */
export function countLdmUpBlocks(keys: Iterable<string>): number {
  let max = -1;
  for (const k of keys) {
    const m = /^decoder\.up\.(\d+)\./.exec(k);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max + 1;
}

/** A mid-attention q/k/v/out weight stored as a 1×1 conv [C, C, 1, 1] becomes a linear weight [C, C]. */
export function squeezeAttentionWeight(key: string, t: HostTensor): HostTensor {
  if (/mid_block\.attentions\.0\.(to_q|to_k|to_v|to_out\.0)\.weight$/.test(key) && t.shape.length === 4 && t.shape[2] === 1 && t.shape[3] === 1) {
    return { ...t, shape: [t.shape[0]!, t.shape[1]!] };
  }
  return t;
}
