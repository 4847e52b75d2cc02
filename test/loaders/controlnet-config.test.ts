// ControlNet configs read by their own reader (diffusers ControlNetModel keys, no up blocks) at any depth, and
// SD 2.x-style configs (attention_head_dim lists, use_linear_projection, upcast_attention) into the U-Net and the
// ControlNet. Folders with config.json + safetensors of tiny models are written here and loaded through the nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Executor } from '../../engine/index.ts';
import { saveSafetensors } from '../../models/io/safetensors.ts';
import { hostTensor, type HostTensor } from '../../models/ops/ops.ts';
import { getRunner } from '../../models/runtime/runners.ts';
import { ControlNetModel, type ControlNetConfig } from '../../models/controlnet/controlnet.ts';
import { readControlNetConfig } from '../../models/controlnet/config.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { readUNetConfig, type UNetConfig } from '../../models/unet/config.ts';
import { controlNetEntry } from '../../models/unet/entries.ts';
import { captured, testRegistry, workflow } from '../diffusion/fixtures.ts';
import { assertClose, randomHost, randomize } from '../diffusion/helpers.ts';
import type { ControlNetValue, ControlValue, UNetValue } from '../../nodes/diffusion/values.ts';
import { controlResiduals } from '../../nodes/diffusion/denoise.ts';
import { imageValue } from '../../models/image.ts';

const registry = await testRegistry();

/** A diffusers ControlNetModel config.json for the given levels (what `save_pretrained` writes; no up blocks). */
function controlNetJson(levels: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const channels = [32, 64, 64, 64].slice(0, levels);
  return {
    _class_name: 'ControlNetModel',
    _diffusers_version: '0.21.4',
    act_fn: 'silu',
    attention_head_dim: 2,
    block_out_channels: channels,
    class_embed_type: null,
    conditioning_channels: 3,
    conditioning_embedding_out_channels: [8, 16, 16, 32],
    controlnet_conditioning_channel_order: 'rgb',
    cross_attention_dim: 32,
    down_block_types: [...new Array<string>(levels - 1).fill('CrossAttnDownBlock2D'), 'DownBlock2D'],
    downsample_padding: 1,
    flip_sin_to_cos: true,
    freq_shift: 0,
    global_pool_conditions: false,
    in_channels: 4,
    layers_per_block: 1,
    mid_block_scale_factor: 1,
    norm_eps: 1e-5,
    norm_num_groups: 8,
    num_class_embeds: null,
    only_cross_attention: false,
    projection_class_embeddings_input_dim: null,
    resnet_time_scale_shift: 'default',
    upcast_attention: false,
    use_linear_projection: false,
    ...extra,
  };
}

async function writeModel(dir: string, json: Record<string, unknown>, weights: Map<string, HostTensor>): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(json));
  await saveSafetensors(path.join(dir, 'diffusion_pytorch_model.safetensors'), weights);
}

/** proj_in/proj_out weights as SD 2.x stores them: Linear [out, in]. */
function asLinearProjections(sd: Map<string, HostTensor>): Map<string, HostTensor> {
  return new Map(
    [...sd].map(([k, t]) => [k, /\.(proj_in|proj_out)\.weight$/.test(k) ? hostTensor(t.data, [t.shape[0]!, t.shape[1]!]) : t] as [string, HostTensor]),
  );
}

async function load<T>(type: string, dir: string, output: string): Promise<{ value: T; log: string[] }> {
  const log: string[] = [];
  const ex = new Executor(registry, { log: (level, message) => log.push(`${level}: ${message}`) });
  const r = await ex.run(workflow(['load', type, { path: dir, config: 'from-file' }], ['keep', 'Capture', { key: 'model' }, { value: `load.${output}` }]), {
    outputDir: mkdtempSync(path.join(os.tmpdir(), 'kosmos-cn-out-')),
  });
  assert.equal(r.status, 'ok', JSON.stringify(r.errors));
  return { value: captured.get('model') as T, log };
}

function assertSameWeights(loaded: Map<string, HostTensor>, original: Map<string, HostTensor>): void {
  assert.equal(loaded.size, original.size);
  for (const [k, t] of original) assert.deepEqual(Array.from(loaded.get(k)!.data), Array.from(t.data), k);
}

test('ControlNet configs of 2, 3 and 4 levels load from-file through their own reader', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'kosmos-cn-'));
  try {
    for (const levels of [2, 3, 4]) {
      const json = controlNetJson(levels);
      const { config, inferred, ignored } = readControlNetConfig(json, `${levels}-level config.json`);
      assert.deepEqual(config.blockOutChannels, json.block_out_channels);
      assert.deepEqual(config.conditioningEmbeddingChannels, [8, 16, 16, 32]);
      assert.equal(config.upBlockTypes.length, levels);
      assert.deepEqual(ignored, []);
      assert.ok(inferred.some((n) => /mirrored/.test(n)));
      const original = new ControlNetModel(config, 40 + levels);
      randomize(original.namedParameters(), 'controlnet_', 3);
      const dir = path.join(root, `cn${levels}`);
      await writeModel(dir, json, original.stateDict());
      const { value } = await load<ControlNetValue>('LoadControlNet', dir, 'controlnet');
      assert.deepEqual(value.model.config.blockOutChannels, json.block_out_channels);
      assertSameWeights(value.model.stateDict(), original.stateDict());
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('ControlNet reader: settings that are not implemented are reported, bad values are coded errors', () => {
  const r = readControlNetConfig(controlNetJson(2, { resnet_time_scale_shift: 'scale_shift', future_key: 1 }));
  assert.deepEqual(r.ignored, ['resnet_time_scale_shift "scale_shift" is not implemented and is ignored', 'unknown key "future_key" is ignored']);
  assert.throws(() => readControlNetConfig(controlNetJson(2, { controlnet_conditioning_channel_order: 'rbg' })), { code: 'CONTROLNET_CONFIG' });
  assert.throws(() => readControlNetConfig(controlNetJson(2, { conditioning_embedding_out_channels: [] })), { code: 'CONTROLNET_CONFIG' });
  assert.throws(() => readControlNetConfig(controlNetJson(2, { down_block_types: ['CrossAttnDownBlock2D'] })), { code: 'UNET_CONFIG' });
  const absent = readControlNetConfig(Object.fromEntries(Object.entries(controlNetJson(2)).filter(([k]) => k !== 'conditioning_embedding_out_channels')));
  assert.deepEqual(absent.config.conditioningEmbeddingChannels, [16, 32, 96, 256]);
});

test('bgr channel order reverses the control image; global pooling averages every residual over its pixels', async () => {
  const base = readControlNetConfig(controlNetJson(2)).config;
  const run = async (config: ControlNetConfig, image: HostTensor): Promise<HostTensor[]> => {
    const cn = new ControlNetModel(config, 5);
    randomize(cn.namedParameters(), 'controlnet_', 6);
    randomize(cn.namedParameters(), 'controlnet_cond_embedding.conv_out', 7);
    const inputs = [randomHost([1, 4, 4, 4], 1), hostTensor(new Float32Array([500]), [1]), randomHost([1, 3, 32], 2), image, hostTensor(new Float32Array([1]), [1])];
    return (await getRunner('tfjs')).run(cn, `controlnet-${config.channelOrder ?? 'rgb'}-${config.globalPoolConditions ?? false}`, controlNetEntry(cn), inputs);
  };
  const rgb = randomHost([1, 3, 32, 32], 8, 0.5);
  const plane = 32 * 32;
  const bgr = hostTensor(Float32Array.from(rgb.data, (_, i) => rgb.data[(2 - Math.floor(i / plane)) * plane + (i % plane)]!), [1, 3, 32, 32]);
  const fromRgb = await run(base, rgb);
  const fromBgr = await run({ ...base, channelOrder: 'bgr' }, bgr);
  fromRgb.forEach((t, i) => assertClose(fromBgr[i]!.data, t.data, 1e-5, `bgr residual ${i}`));
  const pooled = await run({ ...base, globalPoolConditions: true }, rgb);
  fromRgb.forEach((t, i) => {
    assert.deepEqual(pooled[i]!.shape, [t.shape[0], t.shape[1], 1, 1]);
    const hw = t.shape[2]! * t.shape[3]!;
    const means = Array.from({ length: t.shape[1]! }, (_, c) => Array.from(t.data.slice(c * hw, (c + 1) * hw)).reduce((a, b) => a + b, 0) / hw);
    assertClose(pooled[i]!.data, means, 1e-5, `pooled residual ${i}`);
  });
});

test('SD 2.x-style configs: attention_head_dim lists, Linear projections and upcast_attention load into the U-Net and ControlNet', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'kosmos-sd2-'));
  try {
    const sd2 = { attention_head_dim: [2, 4], use_linear_projection: true, upcast_attention: true };
    // U-Net: heads per level from the list (32/2 and 64/4: 16-wide heads).
    const unetJson = {
      _class_name: 'UNet2DConditionModel',
      ...controlNetJson(2),
      out_channels: 4,
      up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D'],
      sample_size: 8,
      ...sd2,
    };
    for (const k of ['conditioning_channels', 'conditioning_embedding_out_channels', 'controlnet_conditioning_channel_order', 'global_pool_conditions']) delete (unetJson as Record<string, unknown>)[k];
    const read = readUNetConfig(unetJson);
    assert.deepEqual(read.config.attentionHeads, [2, 4]);
    assert.deepEqual(read.ignored, []);
    assert.ok(read.inferred.some((n) => /use_linear_projection true: Linear proj_in\/proj_out/.test(n)));
    assert.ok(read.inferred.some((n) => /upcast_attention true/.test(n)));
    const unet = new UNet2DConditionModel(read.config as UNetConfig, 21);
    const linear = asLinearProjections(unet.stateDict());
    assert.ok([...linear].some(([k, t]) => k.endsWith('proj_in.weight') && t.shape.length === 2));
    await writeModel(path.join(root, 'unet'), unetJson, linear);
    const loadedUnet = await load<UNetValue>('LoadUNet', path.join(root, 'unet'), 'unet');
    assert.deepEqual(loadedUnet.value.model.config.attentionHeads, [2, 4]);
    assertSameWeights(loadedUnet.value.model.stateDict(), unet.stateDict());
    assert.match(loadedUnet.log.join('\n'), /info: .*unet config: use_linear_projection/);

    const cnJson = controlNetJson(2, sd2);
    const cn = new ControlNetModel(readControlNetConfig(cnJson).config, 22);
    await writeModel(path.join(root, 'cn'), cnJson, asLinearProjections(cn.stateDict()));
    const loadedCn = await load<ControlNetValue>('LoadControlNet', path.join(root, 'cn'), 'controlnet');
    assert.deepEqual(loadedCn.value.model.config.attentionHeads, [2, 4]);
    assertSameWeights(loadedCn.value.model.stateDict(), cn.stateDict());
    assert.throws(() => readUNetConfig({ ...unetJson, attention_head_dim: [2, 4, 8] }), { code: 'UNET_CONFIG' });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('with guidance, a pooled ControlNet steers the conditional half only (diffusers guess mode)', async () => {
  const config = readControlNetConfig(controlNetJson(2, { global_pool_conditions: true })).config;
  const cn = new ControlNetModel(config, 9);
  randomize(cn.namedParameters(), 'controlnet_', 10);
  randomize(cn.namedParameters(), 'controlnet_cond_embedding.conv_out', 11);
  const image = imageValue(Float32Array.from(randomHost([1, 3, 32, 32], 12).data, (v) => Math.abs(v) % 1), 1, 32, 32);
  const control: ControlValue = {
    controlnet: { model: cn, backend: 'tfjs', source: 'test', byteSize: () => 0 },
    image,
    fit: 'exact',
    scale: 1,
    start: 0,
    end: 1,
  };
  const latents = randomHost([2, 4, 4, 4], 13);
  const cond = randomHost([2, 3, 32], 14);
  const half = (t: HostTensor) => t.data.length / 2;
  const guided = (await controlResiduals(control, latents, 500, cond, { index: 0, total: 1, guided: true }))!;
  const plain = (await controlResiduals(control, latents, 500, cond, { index: 0, total: 1, guided: false }))!;
  guided.forEach((r, i) => {
    assert.ok(Array.from(r.data.slice(0, half(r))).every((v) => v === 0), `residual ${i}: uncond half is zero`);
    assertClose(r.data.slice(half(r)), plain[i]!.data.slice(half(r)), 0, `residual ${i}: cond half unchanged`);
    assert.ok(Array.from(plain[i]!.data.slice(0, half(r))).some((v) => v !== 0), `residual ${i}: without guidance both halves act`);
  });
});
