// LDM (CompVis / single-file) U-Net names → diffusers names (spec §4.1, after diffusers'
// `_maybe_map_sgm_blocks_to_diffusers` and the single-file converter). Works on dotted state-dict keys and, for
// kohya LoRA names, on the same structure written with underscores.
//
//   input_blocks.0.0            → conv_in
//   input_blocks.i.0 (i ≥ 1)    → down_blocks[(i−1)//3].resnets[(i−1)%3], or .downsamplers.0 when (i−1)%3 = 2 (`op`)
//   input_blocks.i.1            → down_blocks[(i−1)//3].attentions[(i−1)%3]
//   middle_block.{0,1,2}        → mid_block.resnets.0, mid_block.attentions.0, mid_block.resnets.1
//   output_blocks.i.0           → up_blocks[i//3].resnets[i%3]
//   output_blocks.i.1           → up_blocks[i//3].attentions[i%3], or .upsamplers.0 when it is a `conv` (no attention)
//   output_blocks.i.2           → up_blocks[i//3].upsamplers.0
//   time_embed.{0,2}            → time_embedding.linear_{1,2};  out.{0,2} → conv_norm_out, conv_out

/** ResBlock internals: LDM name → diffusers name. */
export const LDM_RESNET_PARTS: Readonly<Record<string, string>> = {
  'in_layers.0': 'norm1',
  'in_layers.2': 'conv1',
  'emb_layers.1': 'time_emb_proj',
  'out_layers.0': 'norm2',
  'out_layers.3': 'conv2',
  skip_connection: 'conv_shortcut',
};

const TOP_LEVEL: Readonly<Record<string, string>> = {
  'time_embed.0': 'time_embedding.linear_1',
  'time_embed.2': 'time_embedding.linear_2',
  'input_blocks.0.0': 'conv_in',
  'out.0': 'conv_norm_out',
  'out.2': 'conv_out',
};

/**
 * Maps one LDM U-Net key (without `model.diffusion_model.`) to its diffusers key, or undefined when the key is
 * not part of the SD 1.x U-Net structure. `rest` after the block index keeps its own separators.
 */
export function mapLdmUnetKey(key: string): string | undefined {
  for (const [ldm, df] of Object.entries(TOP_LEVEL)) {
    if (key.startsWith(ldm + '.')) return df + key.slice(ldm.length);
  }
  let m = /^input_blocks\.(\d+)\.(\d+)\.(.+)$/.exec(key);
  if (m) {
    const i = Number(m[1]);
    const sub = Number(m[2]);
    const rest = m[3]!;
    if (i < 1) return undefined;
    const block = Math.floor((i - 1) / 3);
    const layer = (i - 1) % 3;
    if (sub === 0 && rest.startsWith('op.')) return `down_blocks.${block}.downsamplers.0.conv.${rest.slice(3)}`;
    if (sub === 0) return mapResnet(`down_blocks.${block}.resnets.${layer}`, rest);
    if (sub === 1) return `down_blocks.${block}.attentions.${layer}.${rest}`;
    return undefined;
  }
  m = /^middle_block\.(\d+)\.(.+)$/.exec(key);
  if (m) {
    const j = Number(m[1]);
    const rest = m[2]!;
    if (j === 0) return mapResnet('mid_block.resnets.0', rest);
    if (j === 1) return `mid_block.attentions.0.${rest}`;
    if (j === 2) return mapResnet('mid_block.resnets.1', rest);
    return undefined;
  }
  m = /^output_blocks\.(\d+)\.(\d+)\.(.+)$/.exec(key);
  if (m) {
    const i = Number(m[1]);
    const sub = Number(m[2]);
    const rest = m[3]!;
    const block = Math.floor(i / 3);
    const layer = i % 3;
    if (sub === 0) return mapResnet(`up_blocks.${block}.resnets.${layer}`, rest);
    if (rest.startsWith('conv.') && (sub === 1 || sub === 2)) return `up_blocks.${block}.upsamplers.0.${rest}`;
    if (sub === 1) return `up_blocks.${block}.attentions.${layer}.${rest}`;
    return undefined;
  }
  return undefined;
}

function mapResnet(prefix: string, rest: string): string | undefined {
  for (const [ldm, df] of Object.entries(LDM_RESNET_PARTS)) {
    if (rest.startsWith(ldm + '.')) return `${prefix}.${df}${rest.slice(ldm.length)}`;
  }
  return undefined;
}

/**
 * The same mapping for a kohya LoRA module name written with underscores (`input_blocks_1_1_proj_in` →
 * `down_blocks_0_attentions_0_proj_in`). The result is still underscored; resolve it against real keys.
 */
export function mapLdmUnetUnderscoreName(name: string): string | undefined {
  // Re-insert dots only where the LDM structure has them, then map as a key with a dummy leaf.
  const m = /^(input_blocks|output_blocks|middle_block)_(\d+)(?:_(\d+))?_(.+)$/.exec(name);
  let dotted: string;
  if (m && m[1] === 'middle_block') dotted = `middle_block.${m[2]}.${m[3] !== undefined ? m[3] + '_' : ''}${m[4]}`;
  else if (m && m[3] !== undefined) dotted = `${m[1]}.${m[2]}.${m[3]}.${m[4]}`;
  else {
    const top = /^(time_embed|out)_(\d+)$/.exec(name);
    if (!top) return undefined;
    dotted = `${top[1]}.${top[2]}`;
  }
  // ResBlock parts have dots inside (`in_layers.2`): restore them so the part table matches.
  dotted = dotted.replace(/\.(in_layers|out_layers|emb_layers)_(\d+)$/, '.$1.$2');
  const mapped = mapLdmUnetKey(`${dotted}.weight`);
  return mapped?.slice(0, -'.weight'.length).replace(/\./g, '_');
}
