// Real configs: parameter counts and key names, without allocating (parameters are lazy; `.data` is never touched).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { needsShared, sharedPath } from '../helpers/shared.ts';
import { Rng } from '../../models/ops/random.ts';
import { CLIPTextModel } from '../../models/clip/text-model.ts';
import { CLIP_TEXT_REAL } from '../../models/clip/text-config.ts';
import { CLIPVision } from '../../models/clip/vision-model.ts';
import { CLIP_VISION_REAL } from '../../models/clip/vision-config.ts';
import { XConnector } from '../../models/connector/connector.ts';
import { CONNECTOR_REAL } from '../../models/connector/config.ts';
import { MLLM } from '../../models/mllm/mllm.ts';
import { MLLM_REAL } from '../../models/mllm/config.ts';
import { AlignerNet } from '../../models/aligner/aligner.ts';
import { ALIGNER_REAL } from '../../models/aligner/config.ts';

test('CLIP text (real) matches sd15_keys.json text_encoder key-for-key, 123,060,480 params over 196 tensors', { skip: needsShared('reference/sd15_keys.json') }, () => {
  const ref = JSON.parse(readFileSync(sharedPath('reference/sd15_keys.json'), 'utf8')).text_encoder as Record<string, number[]>;
  const model = new CLIPTextModel(CLIP_TEXT_REAL, new Rng(0));
  const mine = new Map(model.namedParameters().map(([k, p]) => [k, p.shape]));
  assert.equal(mine.size, 196);
  assert.equal(model.parameterCount(), 123_060_480);
  assert.deepEqual([...mine.keys()].sort(), Object.keys(ref).sort());
  for (const [k, shape] of mine) assert.deepEqual(shape, ref[k], k);
  assert.ok(model.parameters().every((p) => !p.materialized), 'construction must not allocate');
});

test('MLLM (real): 1,340,180,480 params with the §1.11 key names', () => {
  const m = new MLLM(MLLM_REAL, new Rng(0));
  // embed 64007·2048 + 24·(4·(2048²+2048) + 8192·2048+8192 + 2048·8192+2048 + LN 4·2048 + ffn LN 2·8192) + final LN
  assert.equal(m.parameterCount(), 1_340_180_480);
  const keys = new Set(m.namedParameters().map(([k]) => k));
  for (const k of [
    'embed_tokens.weight',
    'layers.23.self_attn.inner_attn_ln.weight',
    'layers.0.self_attn_layer_norm.bias',
    'layers.0.ffn.ffn_layernorm.weight',
    'layers.0.ffn.fc2.weight',
    'layers.0.final_layer_norm.weight',
    'layer_norm.weight',
  ]) assert.ok(keys.has(k), k);
  assert.equal(keys.size, 2 + 24 * 20 + 1);
  assert.ok(m.parameters().every((p) => !p.materialized));
});

test('AlignerNet (real): M 225,461,760 and N 250,569,728 params', () => {
  const m = new AlignerNet(ALIGNER_REAL, new Rng(0));
  assert.equal(m.parameterCount(), 225_461_760);
  const mn = new AlignerNet(ALIGNER_REAL, new Rng(0), { reconstruction: true });
  assert.equal(mn.parameterCount() - m.parameterCount(), 250_569_728);
  const keys = new Set(mn.namedParameters().map(([k]) => k));
  for (const k of [
    'encoder_proj.embed_tokens.weight',
    'encoder_proj.embed_positions.weight',
    'encoder_query',
    'encoder.layers.11.encoder_attn.k_proj.weight',
    'encoder.layers.0.encoder_attn_layer_norm.weight',
    'encoder.layer_norm.bias',
    'decoder_query',
    'decoder_proj.output_projection.weight',
  ]) assert.ok(keys.has(k), k);
  assert.ok(!keys.has('encoder.layers.0.encoder_attn.inner_attn_ln.weight'), 'cross-attention has no inner LN');
  const shapes = new Map(mn.namedParameters().map(([k, p]) => [k, p.shape]));
  assert.deepEqual(shapes.get('encoder_query'), [77, 768]);
  assert.deepEqual(shapes.get('encoder_proj.embed_tokens.weight'), [768, 2048]);
  assert.deepEqual(shapes.get('decoder_query'), [32768, 768]);
});

test('CLIP vision ViT-L/14 (real) 303,179,776 params; connector 19,015,680', () => {
  const v = new CLIPVision(CLIP_VISION_REAL, new Rng(0));
  assert.equal(v.parameterCount(), 303_179_776);
  const shapes = new Map(v.namedParameters().map(([k, p]) => [k, p.shape]));
  assert.deepEqual(shapes.get('visual.conv1.weight'), [1024, 3, 14, 14]);
  assert.equal(shapes.has('visual.conv1.bias'), false);
  assert.deepEqual(shapes.get('visual.positional_embedding'), [257, 1024]);
  assert.ok(shapes.has('visual.transformer.resblocks.23.ts_attn.out_proj.bias'));
  assert.ok(shapes.has('visual.transformer.resblocks.0.mlp.c_fc.weight'));
  const c = new XConnector(CONNECTOR_REAL, new Rng(0));
  assert.equal(c.parameterCount(), 19_015_680);
  assert.deepEqual(new Map(c.namedParameters().map(([k, p]) => [k, p.shape])).get('latent_query'), [64, 2048]);
});
