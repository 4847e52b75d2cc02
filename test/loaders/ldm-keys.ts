// The SD 1.5 LDM (CompVis `openaimodel.py` / `autoencoder.py`) key names, generated from the LDM module
// structure itself, so the LDM → diffusers mapping can be checked against sd15_keys.json independently.

const wb = (p: string): string[] => [`${p}.weight`, `${p}.bias`];

function ldmResBlock(p: string, shortcut: boolean): string[] {
  return [
    ...wb(`${p}.in_layers.0`),
    ...wb(`${p}.in_layers.2`),
    ...wb(`${p}.emb_layers.1`),
    ...wb(`${p}.out_layers.0`),
    ...wb(`${p}.out_layers.3`),
    ...(shortcut ? wb(`${p}.skip_connection`) : []),
  ];
}

function ldmSpatialTransformer(p: string): string[] {
  const b = `${p}.transformer_blocks.0`;
  const attn = (a: string): string[] => [`${b}.${a}.to_q.weight`, `${b}.${a}.to_k.weight`, `${b}.${a}.to_v.weight`, ...wb(`${b}.${a}.to_out.0`)];
  return [
    ...wb(`${p}.norm`),
    ...wb(`${p}.proj_in`),
    ...attn('attn1'),
    ...attn('attn2'),
    ...wb(`${b}.ff.net.0.proj`),
    ...wb(`${b}.ff.net.2`),
    ...wb(`${b}.norm1`),
    ...wb(`${b}.norm2`),
    ...wb(`${b}.norm3`),
    ...wb(`${p}.proj_out`),
  ];
}

/** U-Net keys without the `model.diffusion_model.` prefix. */
export function sd15LdmUnetKeys(): string[] {
  const keys = [...wb('time_embed.0'), ...wb('time_embed.2'), ...wb('input_blocks.0.0')];
  let k = 1;
  for (let level = 0; level < 4; level++) {
    for (let r = 0; r < 2; r++) {
      keys.push(...ldmResBlock(`input_blocks.${k}.0`, r === 0 && (level === 1 || level === 2)));
      if (level < 3) keys.push(...ldmSpatialTransformer(`input_blocks.${k}.1`));
      k++;
    }
    if (level < 3) keys.push(...wb(`input_blocks.${k++}.0.op`));
  }
  keys.push(...ldmResBlock('middle_block.0', false), ...ldmSpatialTransformer('middle_block.1'), ...ldmResBlock('middle_block.2', false));
  for (let i = 0; i < 12; i++) {
    const hasAttn = i >= 3;
    keys.push(...ldmResBlock(`output_blocks.${i}.0`, true));
    if (hasAttn) keys.push(...ldmSpatialTransformer(`output_blocks.${i}.1`));
    if (i % 3 === 2 && i < 11) keys.push(...wb(`output_blocks.${i}.${hasAttn ? 2 : 1}.conv`));
  }
  keys.push(...wb('out.0'), ...wb('out.2'));
  return keys;
}

function ldmVaeRes(p: string, shortcut: boolean): string[] {
  return [...wb(`${p}.norm1`), ...wb(`${p}.conv1`), ...wb(`${p}.norm2`), ...wb(`${p}.conv2`), ...(shortcut ? wb(`${p}.nin_shortcut`) : [])];
}

function ldmVaeMid(side: string): string[] {
  const a = `${side}.mid.attn_1`;
  return [...ldmVaeRes(`${side}.mid.block_1`, false), ...['norm', 'q', 'k', 'v', 'proj_out'].flatMap((n) => wb(`${a}.${n}`)), ...ldmVaeRes(`${side}.mid.block_2`, false)];
}

/** VAE keys without the `first_stage_model.` prefix. */
export function sd15LdmVaeKeys(): string[] {
  const keys = [...wb('encoder.conv_in')];
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 2; j++) keys.push(...ldmVaeRes(`encoder.down.${i}.block.${j}`, j === 0 && (i === 1 || i === 2)));
    if (i < 3) keys.push(...wb(`encoder.down.${i}.downsample.conv`));
  }
  keys.push(...ldmVaeMid('encoder'), ...wb('encoder.norm_out'), ...wb('encoder.conv_out'));
  keys.push(...wb('quant_conv'), ...wb('post_quant_conv'), ...wb('decoder.conv_in'), ...ldmVaeMid('decoder'));
  // LDM counts decoder levels from the bottom: up.3 is the first (512 channels), up.0 the last (128).
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 3; j++) keys.push(...ldmVaeRes(`decoder.up.${i}.block.${j}`, j === 0 && (i === 0 || i === 1)));
    if (i > 0) keys.push(...wb(`decoder.up.${i}.upsample.conv`));
  }
  keys.push(...wb('decoder.norm_out'), ...wb('decoder.conv_out'));
  return keys;
}
