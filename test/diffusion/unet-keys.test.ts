// The real SD 1.5 U-Net config builds the diffusers module tree key-for-key and shape-for-shape (spec §4.1),
// without allocating: parameters stay lazy, so nothing here touches `.data`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { needsShared, sharedPath } from '../helpers/shared.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { SD15_UNET_CONFIG, SMALL_UNET_CONFIG, unetConfigFromDiffusers } from '../../models/unet/config.ts';

const KEYS = 'reference/sd15_keys.json';

test('real U-Net: 859,520,964 parameters over 686 tensors, equal to sd15_keys.json "unet"', { skip: needsShared(KEYS) }, () => {
  const ref = JSON.parse(readFileSync(sharedPath(KEYS), 'utf8')).unet as Record<string, number[]>;
  const unet = new UNet2DConditionModel(SD15_UNET_CONFIG);
  const named = unet.namedParameters();
  assert.equal(named.length, 686);
  assert.equal(unet.parameterCount(), 859_520_964);
  const ours = new Map(named.map(([k, p]) => [k, p.shape]));
  assert.deepEqual([...ours.keys()].sort(), Object.keys(ref).sort());
  for (const [key, shape] of Object.entries(ref)) assert.deepEqual(ours.get(key), shape, key);
  assert.ok(named.every(([, p]) => !p.materialized), 'building the real U-Net must not allocate weights');
  assert.equal(unet.skipCount, 12);
});

test('small U-Net: same key structure at toy size', () => {
  const unet = new UNet2DConditionModel(SMALL_UNET_CONFIG);
  const keys = unet.namedParameters().map(([k]) => k);
  assert.ok(keys.includes('down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj.weight'));
  assert.ok(keys.includes('up_blocks.1.attentions.1.transformer_blocks.0.attn2.to_k.weight'));
  assert.ok(keys.includes('up_blocks.0.upsamplers.0.conv.weight'));
  assert.ok(!keys.some((k) => k.startsWith('down_blocks.1.attentions')));
  assert.equal(unet.skipCount, 4);
});

test('diffusers config.json: attention_head_dim means heads; unsupported blocks are a coded error', () => {
  const c = unetConfigFromDiffusers({ block_out_channels: [320, 640, 1280, 1280], attention_head_dim: 8 });
  assert.equal(c.attentionHeads, 8);
  assert.throws(
    () => unetConfigFromDiffusers({ down_block_types: ['SimpleDown'] }, 'x/config.json'),
    (e: Error & { code?: string }) => e.code === 'UNET_CONFIG' && /x\/config\.json/.test(e.message),
  );
});
