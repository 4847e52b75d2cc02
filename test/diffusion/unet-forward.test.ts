// U-Net, ControlNet and unmerged-LoRA forward passes at the small config on tfjs: shapes, the timestep embedding,
// a zero-conv ControlNet leaving the U-Net unchanged, and LoRA merged == unmerged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getRunner } from '../../models/runtime/runners.ts';
import { createTfjsOps, tf } from '../../models/backends/tfjs/index.ts';
import { hostTensor } from '../../models/ops/ops.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { SMALL_UNET_CONFIG } from '../../models/unet/config.ts';
import { controlNetEntry, unetEntry } from '../../models/unet/entries.ts';
import { timestepFeatures } from '../../models/unet/embeddings.ts';
import { ControlNetModel, controlNetConfigFor } from '../../models/controlnet/controlnet.ts';
import { UnmergedLora, type LoraPatch } from '../../models/unet/lora-hook.ts';
import { mergeLora } from '../../models/lora/index.ts';
import { assertClose, maxAbsDiff, randomHost, randomize } from './helpers.ts';

const B = 2;
const sample = randomHost([B, 4, 8, 8], 11);
const timesteps = hostTensor(new Float32Array([999, 21]), [B]);
const context = randomHost([B, 5, 32], 12);
const image = hostTensor(Float32Array.from(randomHost([B, 3, 32, 32], 13).data, (v) => 1 / (1 + Math.exp(-v))), [B, 3, 32, 32]);
const scale1 = hostTensor(new Float32Array([1]), [1]);

test('timestep features are [cos, sin] of t·exp(−ln(10⁴)·i/half)', async () => {
  const ops = await createTfjsOps('wasm');
  const t = tf.tidy(() => timestepFeatures(ops, ops.tensor(new Float32Array([3, 500]), [2]), 8, true, 0));
  const out = ops.toHost(t);
  t.dispose();
  assert.deepEqual(out.shape, [2, 8]);
  [3, 500].forEach((t, b) => {
    for (let i = 0; i < 4; i++) {
      const arg = t * Math.exp((-Math.log(10000) * i) / 4);
      assert.ok(Math.abs(out.data[b * 8 + i] - Math.cos(arg)) < 1e-3, `cos ${b},${i}`);
      assert.ok(Math.abs(out.data[b * 8 + 4 + i] - Math.sin(arg)) < 1e-3, `sin ${b},${i}`);
    }
  });
});

test('small U-Net: ε has the latent shape, depends on t and the condition, and is batch-independent', async () => {
  const runner = await getRunner('tfjs');
  const unet = new UNet2DConditionModel(SMALL_UNET_CONFIG, 1);
  const [eps] = await runner.run(unet, 'unet', unetEntry(unet), [sample, timesteps, context]);
  assert.deepEqual(eps.shape, [B, 4, 8, 8]);
  assert.ok(eps.data.every(Number.isFinite));
  const [eps2] = await runner.run(unet, 'unet', unetEntry(unet), [sample, hostTensor(new Float32Array([500, 21]), [B]), context]);
  const per = 4 * 64;
  assert.ok(maxAbsDiff(eps.data.subarray(0, per), eps2.data.subarray(0, per)) > 1e-4, 'timestep changes ε');
  assertClose(eps.data.subarray(per), eps2.data.subarray(per), 1e-5, 'the other batch item is untouched');
  const [eps3] = await runner.run(unet, 'unet', unetEntry(unet), [sample, timesteps, randomHost([B, 5, 32], 99)]);
  assert.ok(maxAbsDiff(eps.data, eps3.data) > 1e-4, 'the condition changes ε');
});

test('ControlNet: 4 + 1 residuals at the skip shapes; zero convs leave the U-Net unchanged; trained ones do not', async () => {
  const runner = await getRunner('tfjs');
  const unet = new UNet2DConditionModel(SMALL_UNET_CONFIG, 1);
  const cn = new ControlNetModel(controlNetConfigFor(SMALL_UNET_CONFIG), 2);
  const residuals = await runner.run(cn, 'controlnet', controlNetEntry(cn), [sample, timesteps, context, image, scale1]);
  assert.deepEqual(
    residuals.map((r) => r.shape),
    [[B, 32, 8, 8], [B, 32, 8, 8], [B, 32, 4, 4], [B, 64, 4, 4], [B, 64, 4, 4]],
  );
  assert.ok(residuals.every((r) => r.data.every((v) => v === 0)), 'zero-initialised convs give zero residuals');
  const [plain] = await runner.run(unet, 'unet', unetEntry(unet), [sample, timesteps, context]);
  const [controlled] = await runner.run(unet, 'unet+control', unetEntry(unet), [sample, timesteps, context, ...residuals]);
  assert.deepEqual(controlled.data, plain.data);

  randomize(cn.namedParameters(), 'controlnet_', 5);
  randomize(cn.namedParameters(), 'controlnet_cond_embedding.conv_out', 6);
  const live = await runner.run(cn, 'controlnet', controlNetEntry(cn), [sample, timesteps, context, image, scale1]);
  const [changed] = await runner.run(unet, 'unet+control', unetEntry(unet), [sample, timesteps, context, ...live]);
  assert.ok(maxAbsDiff(changed.data, plain.data) > 1e-3);
  const half = await runner.run(cn, 'controlnet', controlNetEntry(cn), [sample, timesteps, context, image, hostTensor(new Float32Array([0.5]), [1])]);
  assertClose(half[2].data, Float32Array.from(live[2].data, (v) => v * 0.5), 1e-6, 'conditioning scale multiplies the residuals');
});

test('LoRA: unmerged (in-graph) equals merged weights, for a linear and a 3×3 conv; strength 0 is the base', async () => {
  const runner = await getRunner('tfjs');
  const unet = new UNet2DConditionModel(SMALL_UNET_CONFIG, 1);
  const shapes = new Map(unet.namedParameters().map(([k, p]) => [k, p.shape]));
  const q = 'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight';
  const conv = 'up_blocks.1.resnets.0.conv1.weight';
  const [, convIn] = shapes.get(conv)!;
  const entries = [
    { component: 'unet' as const, targetKey: q, up: randomHost([32, 4], 21, 0.3), down: randomHost([4, 32], 22, 0.3), alpha: 2, rank: 4, sourceName: 'q' },
    { component: 'unet' as const, targetKey: conv, up: randomHost([32, 2, 1, 1], 23, 0.3), down: randomHost([2, convIn, 3, 3], 24, 0.3), alpha: 2, rank: 2, sourceName: 'c' },
  ];
  const strength = 0.7;
  const merged = mergeLora(unet.stateDict(), { format: 'kohya', entries, unknown: [] }, strength);
  const mergedUnet = new UNet2DConditionModel(SMALL_UNET_CONFIG);
  mergedUnet.loadStateDict(merged.weights);
  const patches: LoraPatch[] = entries.map((e) => ({ key: e.targetKey, up: e.up, down: e.down, scale: (strength * e.alpha) / e.rank }));
  const hook = new UnmergedLora(patches);
  assert.deepEqual(hook.check(unet), []);
  const viaHook = unetEntry(unet);
  const [a] = await runner.run(mergedUnet, 'unet', unetEntry(mergedUnet), [sample, timesteps, context]);
  const [b] = await runner.run(unet, 'unet+lora', (ops, xs) => viaHook(hook.wrap(ops), xs), [sample, timesteps, context]);
  const [base] = await runner.run(unet, 'unet', unetEntry(unet), [sample, timesteps, context]);
  assert.ok(maxAbsDiff(a.data, base.data) > 1e-3, 'the LoRA changes the output');
  assertClose(a.data, b.data, 1e-4, 'merged vs unmerged');
  const off = new UnmergedLora(patches, 0);
  const [c] = await runner.run(unet, 'unet+lora0', (ops, xs) => viaHook(off.wrap(ops), xs), [sample, timesteps, context]);
  assert.deepEqual(c.data, base.data);
  assert.match(new UnmergedLora([{ ...patches[0], key: 'nope.weight' }]).check(unet)[0], /nope\.weight: not a U-Net weight/);
});
