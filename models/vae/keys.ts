// Older VAE checkpoints name the mid-block attention `query/key/value/proj_attn` (and LDM-era files store them as
// 1×1 conv weights); diffusers renames them on load (spec §4.1). Map them to `to_q/to_k/to_v/to_out.0`.

import type { HostTensor } from '../ops/ops.ts';

const RENAMES: [RegExp, string][] = [
  [/(mid_block\.attentions\.0)\.query\./, '$1.to_q.'],
  [/(mid_block\.attentions\.0)\.key\./, '$1.to_k.'],
  [/(mid_block\.attentions\.0)\.value\./, '$1.to_v.'],
  [/(mid_block\.attentions\.0)\.proj_attn\./, '$1.to_out.0.'],
];

export function mapLegacyVaeKeys(source: Map<string, HostTensor>): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [key, tensor] of source) {
    let k = key;
    for (const [re, to] of RENAMES) k = k.replace(re, to);
    let t = tensor;
    // A 1×1 conv weight [C, C, 1, 1] standing in for a linear weight [C, C].
    if (k !== key || /mid_block\.attentions\.0\.to_[qkv]\.weight$|to_out\.0\.weight$/.test(k)) {
      if (t.shape.length === 4 && t.shape[2] === 1 && t.shape[3] === 1 && /mid_block\.attentions/.test(k)) {
        t = { ...t, shape: [t.shape[0], t.shape[1]] };
      }
    }
    out.set(k, t);
  }
  return out;
}
