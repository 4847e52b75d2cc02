// LDM single-file → diffusers: the full SD 1.5 key sets (generated from the LDM structure) map key-for-key onto
// sd15_keys.json, and a small single-file safetensors written here loads into the three diffusers state dicts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hostTensor, type HostTensor } from '../../models/ops/ops.ts';
import { saveSafetensors } from '../../models/io/safetensors.ts';
import { convertLdmCheckpoint, loadLdmCheckpoint } from '../../models/loaders/ldm-checkpoint.ts';
import { countLdmUpBlocks, mapLdmVaeKey } from '../../models/loaders/ldm-vae.ts';
import { mapLdmUnetKey } from '../../models/loaders/ldm-unet.ts';
import { needsShared, sharedPath } from '../helpers/shared.ts';
import { sd15LdmUnetKeys, sd15LdmVaeKeys } from './ldm-keys.ts';

const skip = needsShared('reference/sd15_keys.json');
const sd15 = (): Record<string, Record<string, number[]>> => JSON.parse(readFileSync(sharedPath('reference/sd15_keys.json'), 'utf8'));

test('every SD 1.5 LDM U-Net key maps onto a distinct diffusers key, covering all 686', { skip }, () => {
  const ldm = sd15LdmUnetKeys();
  const mapped = ldm.map((k) => {
    const m = mapLdmUnetKey(k);
    assert.ok(m, `unmapped LDM key ${k}`);
    return m;
  });
  const want = Object.keys(sd15()['unet']!).sort();
  assert.equal(want.length, 686);
  assert.deepEqual([...new Set(mapped)].sort(), want);
  assert.equal(mapped.length, 686);
});

test('every SD 1.5 LDM VAE key maps onto the 248 diffusers keys', { skip }, () => {
  const ldm = sd15LdmVaeKeys();
  assert.equal(countLdmUpBlocks(ldm), 4);
  const mapped = ldm.map((k) => {
    const m = mapLdmVaeKey(k, 4);
    assert.ok(m, `unmapped LDM VAE key ${k}`);
    return m;
  });
  const want = Object.keys(sd15()['vae']!).sort();
  assert.equal(want.length, 248);
  assert.deepEqual([...new Set(mapped)].sort(), want);
});

test('a small single-file LDM safetensors converts into U-Net, VAE and text-encoder state dicts', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ldm-'));
  try {
    const f = (shape: number[], v = 1): HostTensor => hostTensor(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(v), shape);
    const file = path.join(dir, 'tiny.safetensors');
    await saveSafetensors(
      file,
      new Map<string, HostTensor>([
        ['model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight', f([8, 6], 2)],
        ['model.diffusion_model.output_blocks.2.1.conv.weight', f([4, 4, 3, 3])],
        ['model.diffusion_model.middle_block.2.emb_layers.1.bias', f([4])],
        ['model.diffusion_model.mystery.weight', f([1])],
        ['first_stage_model.decoder.up.0.block.0.nin_shortcut.weight', f([2, 4, 1, 1])],
        ['first_stage_model.decoder.up.1.upsample.conv.bias', f([4])],
        // Four decoder levels (LDM counts them from the bottom): up.3 is diffusers' up_blocks.0.
        ['first_stage_model.decoder.up.3.block.0.norm1.weight', f([4])],
        ['first_stage_model.encoder.mid.attn_1.q.weight', f([4, 4, 1, 1], 3)],
        ['first_stage_model.encoder.mid.attn_1.norm.weight', f([4])],
        ['cond_stage_model.transformer.text_model.encoder.layers.0.mlp.fc1.weight', f([8, 4])],
        ['cond_stage_model.transformer.embeddings.position_ids', f([1, 77])],
        ['cond_stage_model.transformer.final_layer_norm.weight', f([4])],
        ['model_ema.decay', f([])],
        ['alphas_cumprod', f([1000])],
      ]),
    );
    const c = await loadLdmCheckpoint(file);
    assert.deepEqual([...c.unet.keys()].sort(), [
      'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight',
      'mid_block.resnets.1.time_emb_proj.bias',
      'up_blocks.0.upsamplers.0.conv.weight',
    ]);
    assert.deepEqual([...c.unet.get('down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight')!.data.slice(0, 2)], [2, 2]);
    assert.deepEqual([...c.vae.keys()].sort(), [
      'decoder.up_blocks.0.resnets.0.norm1.weight',
      'decoder.up_blocks.2.upsamplers.0.conv.bias',
      'decoder.up_blocks.3.resnets.0.conv_shortcut.weight',
      'encoder.mid_block.attentions.0.group_norm.weight',
      'encoder.mid_block.attentions.0.to_q.weight',
    ]);
    assert.deepEqual(c.vae.get('encoder.mid_block.attentions.0.to_q.weight')!.shape, [4, 4], '1×1 conv → linear');
    assert.deepEqual([...c.textEncoder.keys()].sort(), ['text_model.encoder.layers.0.mlp.fc1.weight', 'text_model.final_layer_norm.weight']);
    assert.deepEqual(c.unmapped, ['model.diffusion_model.mystery.weight']);
    assert.deepEqual(c.ignored.sort(), ['alphas_cumprod', 'cond_stage_model.transformer.embeddings.position_ids', 'model_ema.decay']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a file without U-Net keys, or a .ckpt, is a coded error', async () => {
  assert.throws(() => convertLdmCheckpoint(new Map([['foo', hostTensor(new Float32Array(1), [1])]])), { code: 'NOT_LDM_CHECKPOINT' });
  await assert.rejects(loadLdmCheckpoint('/nowhere/model.ckpt'), { code: 'UNSUPPORTED_WEIGHTS_FORMAT' });
});
