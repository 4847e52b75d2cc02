// The diffusion nodes through the engine's Executor, on small random models: text-to-image with guidance,
// progress and previews, img2img, UNetPredict, ControlNet, LoRA (merged and unmerged), cancellation and
// coded errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Executor, type EngineEvent } from '../../engine/index.ts';
import { saveSafetensors } from '../../models/io/safetensors.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { SMALL_UNET_CONFIG } from '../../models/unet/config.ts';
import { hostTensor, type HostTensor } from '../../models/ops/ops.ts';
import { imageValue } from '../../models/image.ts';
import { fitControlImage } from '../../nodes/diffusion/denoise.ts';
import { captured, testRegistry, workflow } from './fixtures.ts';
import { assertClose, maxAbsDiff, randomHost } from './helpers.ts';
import type { ControlValue, LatentValue } from '../../nodes/diffusion/values.ts';

const registry = await testRegistry();
const outputDir = mkdtempSync(path.join(os.tmpdir(), 'kosmos-diffusion-'));

const base = (backend: string, extra: Parameters<typeof workflow>[number][] = [], sampler: Record<string, number> = {}) =>
  workflow(
    ['sd', 'LoadStableDiffusion', { config: 'small', backend, seed: 1 }],
    ['sched', 'Scheduler', { name: 'ddim', steps: 4 }],
    ['noise', 'EmptyLatent', { width: 32, height: 32, batch: 1 }, { vae: 'sd.vae' }],
    ['cond', 'TestConditioning', { seed: 5 }],
    ['sample', 'Sampler', { guidance: 3, preview_every: 2, seed: 3, ...sampler }, { unet: 'sd.unet', conditioning: 'cond.conditioning', latent: 'noise.latent', scheduler: 'sched.scheduler' }],
    ['decode', 'VAEDecode', {}, { vae: 'sd.vae', latent: 'sample.latent' }],
    ['show', 'PreviewImage', {}, { images: 'decode.image' }],
    ['keep', 'Capture', { key: 'latent' }, { value: 'sample.latent' }],
    ...extra,
  );

const logged: string[] = [];
async function run(wf: ReturnType<typeof workflow>, options: { signal?: AbortSignal; onEvent?: (e: EngineEvent) => void } = {}) {
  const ex = new Executor(registry, { log: (level, message) => logged.push(`${level}: ${message}`) });
  return ex.run(wf, { outputDir, ...options });
}


test('text-to-image: 4 DDIM steps with guidance, progress per step and a preview every 2', async () => {
  const events: EngineEvent[] = [];
  const result = await run(base('tfjs'), { onEvent: (e) => events.push(e) });
  assert.equal(result.status, 'ok', JSON.stringify(result.errors));
  const progress = events.filter((e) => e.type === 'node_progress' && e.nodeId === 'sample') as Extract<EngineEvent, { type: 'node_progress' }>[];
  assert.deepEqual(progress.map((p) => p.value), [1, 2, 3, 4]);
  assert.equal(progress.filter((p) => p.preview).length, 2);
  assert.deepEqual([...progress.find((p) => p.preview)!.preview!.data.slice(1, 4)], [0x50, 0x4e, 0x47]);
  assert.ok(result.outputs.show.files.length === 1);
});

async function sampled(wf: ReturnType<typeof workflow>): Promise<Float32Array> {
  const r = await run(wf);
  assert.equal(r.status, 'ok', JSON.stringify(r.errors));
  return (captured.get('latent') as LatentValue).samples.data as Float32Array;
}

test('the same seed gives the same latents on tfjs and onnx (< 1e-4); another Sampler seed different ones', async () => {
  const a = await sampled(base('tfjs'));
  const again = await sampled(base('tfjs'));
  const b = await sampled(base('onnx'));
  assert.deepEqual(again, a);
  assertClose(b, a, 1e-4, 'tfjs vs onnx after 4 guided steps');
  const wf = base('tfjs');
  wf.nodes.find((n) => n.id === 'sample')!.widgets!.seed = 4;
  assert.ok(maxAbsDiff(await sampled(wf), a) > 0.1);
});

test('cancellation stops the Sampler between steps', async () => {
  const controller = new AbortController();
  const result = await run(base('tfjs'), {
    signal: controller.signal,
    onEvent: (e) => {
      if (e.type === 'node_progress' && e.nodeId === 'sample' && e.value === 2) controller.abort();
    },
  });
  assert.equal(result.status, 'cancelled');
});

test('a conditioning of the wrong width is a coded error naming the expected shape', async () => {
  const wf = base('tfjs');
  wf.nodes.find((n) => n.id === 'cond')!.widgets!.dim = 48;
  const result = await run(wf);
  assert.equal(result.status, 'error');
  assert.equal(result.errors[0].code, 'CONDITIONING_SHAPE');
  assert.match(result.errors[0].message, /\[B, L, 32\]/);
});

test('guidance without an unconditional embedding is MISSING_UNCOND; guidance 1 runs', async () => {
  const wf = base('tfjs');
  wf.nodes.find((n) => n.id === 'cond')!.widgets!.uncond = false;
  assert.equal((await run(wf)).errors[0]?.code, 'MISSING_UNCOND');
  wf.nodes.find((n) => n.id === 'sample')!.widgets!.guidance = 1;
  assert.equal((await run(wf)).status, 'ok');
});

test('img2img: VAEEncode → Sampler(denoise 0.5) runs half the steps; UNetPredict gives ε of the latent shape', async () => {
  const events: EngineEvent[] = [];
  const wf = workflow(
    ['sd', 'LoadStableDiffusion', { config: 'small', backend: 'tfjs', seed: 1 }],
    ['sched', 'Scheduler', { name: 'euler', steps: 4 }],
    ['noise', 'EmptyLatent', { width: 32, height: 32, downscale: 4 }],
    ['cond', 'TestConditioning', { seed: 5 }],
    ['draft', 'VAEDecode', {}, { vae: 'sd.vae', latent: 'noise.latent' }],
    ['enc', 'VAEEncode', { mode: 'mean' }, { vae: 'sd.vae', image: 'draft.image' }],
    ['sample', 'Sampler', { guidance: 2, denoise: 0.5, seed: 9 }, { unet: 'sd.unet', conditioning: 'cond.conditioning', latent: 'enc.latent', scheduler: 'sched.scheduler' }],
    ['eps', 'UNetPredict', { timestep: 500 }, { unet: 'sd.unet', conditioning: 'cond.conditioning', latent: 'sample.latent' }],
    ['decode', 'VAEDecode', {}, { vae: 'sd.vae', latent: 'eps.noise' }],
    ['show', 'PreviewImage', {}, { images: 'decode.image' }],
  );
  const result = await run(wf, { onEvent: (e) => events.push(e) });
  assert.equal(result.status, 'ok', JSON.stringify(result.errors));
  const steps = events.filter((e) => e.type === 'node_progress' && e.nodeId === 'sample');
  assert.equal(steps.length, 2);
});

test('ControlNet with zero convs leaves the image unchanged; ApplyControlNet checks the control image size', async () => {
  const withControl = base('tfjs', [
    ['cn', 'LoadControlNet', { config: 'small', backend: 'tfjs', seed: 2 }],
    ['hint', 'VAEDecode', {}, { vae: 'sd.vae', latent: 'noise.latent' }],
    ['apply', 'ApplyControlNet', { scale: 1, start: 0, end: 1 }, { controlnet: 'cn.controlnet', image: 'hint.image' }],
  ]);
  withControl.nodes.find((n) => n.id === 'sample')!.inputs!.control = { node: 'apply', output: 'control' };
  const plain = await sampled(base('tfjs'));
  assert.deepEqual(await sampled(withControl), plain);

  const badSize = base('tfjs', [
    ['cn', 'LoadControlNet', { config: 'small', backend: 'tfjs' }],
    ['img', 'EmptyLatent', { width: 64, height: 64, downscale: 4 }],
    ['hint', 'VAEDecode', {}, { vae: 'sd.vae', latent: 'img.latent' }],
    ['apply', 'ApplyControlNet', { fit: 'exact' }, { controlnet: 'cn.controlnet', image: 'hint.image' }],
  ]);
  badSize.nodes.find((n) => n.id === 'sample')!.inputs!.control = { node: 'apply', output: 'control' };
  const bad = await run(badSize);
  assert.equal(bad.errors[0]?.code, 'CONTROL_SIZE');
  // By default (fit 'crop') a control image of another size is fitted instead, as ComfyUI does.
  badSize.nodes.find((n) => n.id === 'apply')!.widgets = {};
  assert.equal((await run(badSize)).status, 'ok');
});

test('fitControlImage: crop scales to cover and cuts the centre, stretch scales each side, the right size passes through', () => {
  // 8 wide × 4 high, every column its own value, for a ControlNet with downscale 1 and 4×4 latents.
  const data = new Float32Array(3 * 4 * 8);
  for (let c = 0; c < 3; c++) for (let y = 0; y < 4; y++) for (let x = 0; x < 8; x++) data[(c * 4 + y) * 8 + x] = x / 8;
  const image = imageValue(data, 1, 4, 8);
  const control = (fit: 'crop' | 'stretch') => ({ controlnet: { model: { imageDownscale: 1 } }, image, fit, scale: 1, start: 0, end: 1 }) as unknown as ControlValue;
  const latents = hostTensor(new Float32Array(16 * 4), [1, 4, 4, 4]);
  const crop = fitControlImage(control('crop'), latents);
  assert.deepEqual([crop.width, crop.height], [4, 4]);
  assert.deepEqual([...crop.data.subarray(0, 4)], [2 / 8, 3 / 8, 4 / 8, 5 / 8], 'the centre four columns, unscaled');
  const stretch = fitControlImage(control('stretch'), latents);
  assert.deepEqual([stretch.width, stretch.height], [4, 4]);
  assert.deepEqual([...stretch.data.subarray(0, 4)].map((v) => +v.toFixed(4)), [0.0625, 0.3125, 0.5625, 0.8125], 'pairs of columns averaged');
  const exact = { ...control('crop'), image: imageValue(new Float32Array(3 * 16), 1, 4, 4) };
  assert.equal(fitControlImage(exact, latents), exact.image);
});

test('LoRA file (kohya keys): merged and unmerged give the same image, which differs from the base; unknown modules are reported', async () => {
  const keys = new UNet2DConditionModel(SMALL_UNET_CONFIG).namedParameters();
  const target = 'down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_v';
  const [, shape] = keys.find(([k]) => k === `${target}.weight`)!.map((x, i) => (i === 1 ? (x as { shape: number[] }).shape : x)) as [string, number[]];
  const name = `lora_unet_${target.replace(/\./g, '_')}`;
  const tensors = new Map<string, HostTensor>([
    [`${name}.lora_down.weight`, randomHost([4, shape[1]], 1, 0.5)],
    [`${name}.lora_up.weight`, randomHost([shape[0], 4], 2, 0.5)],
    [`${name}.alpha`, { data: new Float32Array([2]), shape: [], dtype: 'float32' }],
    ['lora_unet_no_such_module.lora_down.weight', randomHost([4, 8], 3)],
    ['lora_unet_no_such_module.lora_up.weight', randomHost([8, 4], 4)],
  ]);
  const file = path.join(outputDir, 'tiny-lora.safetensors');
  await saveSafetensors(file, tensors);
  const withLora = (mode: string) => {
    const wf = base('tfjs', [
      ['lora', 'LoadLoRA', { path: file }],
      ['apply', 'ApplyLoRA', { strength: 0.8, mode }, { unet: 'sd.unet', lora: 'lora.lora' }],
    ]);
    wf.nodes.find((n) => n.id === 'sample')!.inputs!.unet = { node: 'apply', output: 'unet' };
    return wf;
  };
  logged.length = 0;
  const merged = await sampled(withLora('merged'));
  assert.ok(logged.some((l) => /^warn: .*lora_unet_no_such_module/.test(l)), `unknown module reported: ${logged.join(' | ')}`);
  const unmerged = await sampled(withLora('unmerged'));
  const plain = await sampled(base('tfjs'));
  assert.ok(maxAbsDiff(merged, plain) > 1e-3, 'the LoRA changes the result');
  assertClose(unmerged, merged, 1e-4, 'unmerged vs merged');
});
