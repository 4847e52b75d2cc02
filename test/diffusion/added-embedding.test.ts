// The pooled-condition embedding (diffusers `addition_embed_type: "text"`, TextTimeEmbedding as in DeepFloyd IF):
// its config keys, weight names and shapes, what it computes, that it leaves every other weight's initialisation
// alone, and that ONNX Runtime gives the same numbers as tfjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTfjsOps } from '../../models/backends/tfjs/index.ts';
import { getRunner } from '../../models/runtime/runners.ts';
import { hostTensor } from '../../models/ops/ops.ts';
import { Rng } from '../../models/ops/random.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { SMALL_UNET_CONFIG, unetConfigFromDiffusers, unetConfigToDiffusers, type UNetConfig } from '../../models/unet/config.ts';
import { AttentionPooling } from '../../models/unet/embeddings.ts';
import { unetEntry, controlNetEntry } from '../../models/unet/entries.ts';
import { ControlNetModel, controlNetConfigFor } from '../../models/controlnet/controlnet.ts';
import { assertClose, randomHost } from './helpers.ts';

const POOLED: UNetConfig = { ...SMALL_UNET_CONFIG, additionEmbedType: 'text', additionEmbedHeads: 4 };
const codeIs = (code: string) => (e: Error & { code?: string }) => e.code === code;

test('diffusers config: addition_embed_type "text" reads and writes back; other kinds and encoder_hid_dim are refused', () => {
  const c = unetConfigFromDiffusers({ ...unetConfigToDiffusers(SMALL_UNET_CONFIG), addition_embed_type: 'text', addition_embed_type_num_heads: 4 });
  assert.equal(c.additionEmbedType, 'text');
  assert.equal(c.additionEmbedHeads, 4);
  assert.deepEqual(unetConfigFromDiffusers(unetConfigToDiffusers(c)), c);
  assert.equal(unetConfigFromDiffusers({ ...unetConfigToDiffusers(SMALL_UNET_CONFIG), addition_embed_type: 'text', cross_attention_dim: 64 }).additionEmbedHeads, 64, "diffusers' default");
  assert.equal(unetConfigFromDiffusers({ addition_embed_type: null, encoder_hid_dim: null }).additionEmbedType, undefined, 'SD 1.5 with the keys written out');
  assert.ok(!('addition_embed_type' in unetConfigToDiffusers(SMALL_UNET_CONFIG)));
  assert.throws(() => unetConfigFromDiffusers({ addition_embed_type: 'text_time' }, 'sdxl/config.json'), (e: Error & { code?: string }) => e.code === 'UNET_CONFIG' && /sdxl\/config\.json.*text_time/.test(e.message));
  assert.throws(() => unetConfigFromDiffusers({ encoder_hid_dim: 4096 }), codeIs('UNET_CONFIG'));
  assert.throws(() => new UNet2DConditionModel({ ...POOLED, additionEmbedHeads: 5 }), codeIs('UNET_CONFIG'));
});

test('weights: add_embedding.* in diffusers names and shapes; every other weight initialises as without it', () => {
  const plain = new UNet2DConditionModel(SMALL_UNET_CONFIG, 3);
  const pooled = new UNet2DConditionModel(POOLED, 3);
  const added = pooled.namedParameters().filter(([k]) => k.startsWith('add_embedding.'));
  const temb = SMALL_UNET_CONFIG.blockOutChannels[0]! * 4;
  const d = SMALL_UNET_CONFIG.crossAttentionDim;
  assert.deepEqual(Object.fromEntries(added.map(([k, p]) => [k, p.shape])), {
    'add_embedding.norm1.weight': [d], 'add_embedding.norm1.bias': [d],
    'add_embedding.pool.positional_embedding': [1, d],
    'add_embedding.pool.k_proj.weight': [d, d], 'add_embedding.pool.k_proj.bias': [d],
    'add_embedding.pool.q_proj.weight': [d, d], 'add_embedding.pool.q_proj.bias': [d],
    'add_embedding.pool.v_proj.weight': [d, d], 'add_embedding.pool.v_proj.bias': [d],
    'add_embedding.proj.weight': [temb, d], 'add_embedding.proj.bias': [temb],
    'add_embedding.norm2.weight': [temb], 'add_embedding.norm2.bias': [temb],
  });
  const before = plain.stateDict();
  for (const [k, t] of pooled.stateDict()) if (!k.startsWith('add_embedding.')) assert.deepEqual(t.data, before.get(k)!.data, k);
});

test('AttentionPooling = one query (sequence mean + positional embedding) attending over [query; sequence], per head', async () => {
  const ops = await createTfjsOps();
  const [b, s, dim, heads] = [2, 3, 8, 2];
  const pool = new AttentionPooling(heads, dim, new Rng(5));
  const x = randomHost([b, s, dim], 6);
  const got = ops.toHost(pool.forward(ops, ops.tensor(x.data, [b, s, dim]))).data;

  // Plain loops, with nothing shared with the module but its weights.
  const linear = (p: { weight: { data: Float32Array }; bias?: { data: Float32Array } }, v: number[]) =>
    Array.from({ length: dim }, (_, o) => v.reduce((acc, vi, i) => acc + vi * p.weight.data[o * dim + i]!, p.bias!.data[o]!));
  const hd = dim / heads;
  for (let n = 0; n < b; n++) {
    const rows = Array.from({ length: s }, (_, t) => Array.from(x.data.subarray((n * s + t) * dim, (n * s + t + 1) * dim)));
    const query = Array.from({ length: dim }, (_, c) => rows.reduce((a, r) => a + r[c]!, 0) / s + pool.positional_embedding.data[c]!);
    const seq = [query, ...rows];
    const q = linear(pool.q_proj, query);
    const k = seq.map((r) => linear(pool.k_proj, r));
    const v = seq.map((r) => linear(pool.v_proj, r));
    for (let h = 0; h < heads; h++) {
      const logits = k.map((kr) => kr.slice(h * hd, (h + 1) * hd).reduce((a, kv, i) => a + kv * q[h * hd + i]!, 0) / Math.sqrt(hd));
      const m = Math.max(...logits);
      const w = logits.map((l) => Math.exp(l - m));
      const z = w.reduce((a, c) => a + c, 0);
      for (let i = 0; i < hd; i++) {
        const want = v.reduce((a, vr, j) => a + (w[j]! / z) * vr[h * hd + i]!, 0);
        assert.ok(Math.abs(got[n * dim + h * hd + i]! - want) < 1e-5, `sample ${n} head ${h} channel ${i}: ${got[n * dim + h * hd + i]} vs ${want}`);
      }
    }
  }
});

test('with the pooled condition the U-Net output depends on it, and ONNX Runtime matches tfjs < 1e-4 (U-Net and ControlNet)', async () => {
  const unet = new UNet2DConditionModel(POOLED, 7);
  const sample = randomHost([2, 4, 8, 8], 31);
  const timesteps = hostTensor(new Float32Array([801, 1]), [2]);
  const context = randomHost([2, 7, 32], 32);
  const tfjs = await getRunner('tfjs');
  const onnx = await getRunner('onnx');
  const want = await tfjs.run(unet, 'unet', unetEntry(unet), [sample, timesteps, context]);
  const got = await onnx.run(unet, 'unet', unetEntry(unet), [sample, timesteps, context]);
  assertClose(got[0]!.data, want[0]!.data, 1e-4, 'unet');

  // Moving the pooled embedding's output must move the prediction: the path is live.
  unet.add_embedding!.norm2.bias.set(new Float32Array(unet.add_embedding!.norm2.bias.size).fill(0.5));
  const moved = await tfjs.run(unet, 'unet', unetEntry(unet), [sample, timesteps, context]);
  assert.ok(moved[0]!.data.some((v, i) => Math.abs(v - want[0]!.data[i]!) > 1e-4));

  const cn = new ControlNetModel(controlNetConfigFor(POOLED), 8);
  assert.ok(cn.namedParameters().some(([k]) => k === 'add_embedding.pool.positional_embedding'));
  const image = hostTensor(Float32Array.from(randomHost([2, 3, 32, 32], 33).data, (v) => Math.abs(v) % 1), [2, 3, 32, 32]);
  const inputs = [sample, timesteps, context, image, hostTensor(new Float32Array([0.8]), [1])];
  const a = await tfjs.run(cn, 'controlnet', controlNetEntry(cn), inputs);
  const c = await onnx.run(cn, 'controlnet', controlNetEntry(cn), inputs);
  a.forEach((t, i) => assertClose(c[i]!.data, t.data, 1e-4, `controlnet output ${i}`));
});
