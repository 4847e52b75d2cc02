import { randn } from '../../models/ops/random.ts';
// Sampler details that need no full workflow: Euler's latents start at noise × init sigma (KOSMOS-G forgets this,
// spec §1.6), the ControlNet start/end window follows diffusers' keep rule, and control images tile over the
// [uncond; cond] halves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnyNodeDefinition, NodeContext } from '../../engine/node-def.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { SMALL_UNET_CONFIG } from '../../models/unet/config.ts';
import { createScheduler } from '../../models/schedulers/index.ts';
import { Sampler } from '../../nodes/diffusion/sampler.ts';
import { controlActive, controlImageBatch } from '../../nodes/diffusion/denoise.ts';
import type { LatentValue, SchedulerValue, UNetValue } from '../../nodes/diffusion/values.ts';
import { imageValue } from '../../models/image.ts';
import { randomHost } from './helpers.ts';

const ctx = { signal: new AbortController().signal, progress: () => {}, log: { info() {}, warn() {}, error() {} } } as unknown as NodeContext;
const exec = (def: AnyNodeDefinition, args: Record<string, unknown>) => Promise.resolve(def.execute(args as never, ctx)) as Promise<Record<string, unknown>>;

test('Euler: with ε ≡ 0 the result is the starting noise × init sigma (the Sampler scales EmptyLatent noise)', async () => {
  const model = new UNet2DConditionModel(SMALL_UNET_CONFIG, 3);
  model.conv_out.weight.set(new Float32Array(model.conv_out.weight.size));
  model.conv_out.bias!.set(new Float32Array(model.conv_out.bias!.size));
  const unet: UNetValue = { model, backend: 'tfjs', source: 'test', byteSize: () => 0 };
  const noise = randomHost([1, 4, 8, 8], 4);
  const scheduler: SchedulerValue = { name: 'euler', steps: 3, config: {}, options: {} };
  const sigma = createScheduler('euler', {}, { steps: 3 }).initNoiseSigma;
  assert.ok(sigma > 10, `Euler's init sigma for SD 1.5 is ~14.6, got ${sigma}`);
  const out = (await exec(Sampler, {
    unet,
    conditioning: { cond: randomHost([1, 5, 32], 5), uncond: randomHost([1, 5, 32], 6) },
    latent: { samples: noise, kind: 'noise' } satisfies LatentValue,
    scheduler,
    guidance: 7.5,
    seed: 0,
    steps: 0,
    denoise: 1,
    preview_every: 0,
  })).latent as LatentValue;
  out.samples.data.forEach((v, i) => assert.ok(Math.abs(v - noise.data[i] * sigma) < 1e-4 * sigma, `element ${i}`));
});

test("ControlNet window: active where i/n ≥ start and (i+1)/n ≤ end (diffusers' keep), always without a step", () => {
  const active = (start: number, end: number) =>
    Array.from({ length: 10 }, (_, index) => controlActive({ start, end }, { index, total: 10 })).map(Number).join('');
  assert.equal(active(0, 1), '1111111111');
  assert.equal(active(0, 0.5), '1111100000');
  assert.equal(active(0.3, 1), '0001111111');
  assert.equal(active(0.2, 0.6), '0011110000');
  assert.equal(controlActive({ start: 0.5, end: 0.5 }), true);
});

test('control images: a batch of 1 repeats; a batch of B tiles over the [uncond; cond] halves', () => {
  const one = imageValue(Float32Array.from({ length: 3 * 2 * 2 }, (_, i) => i), 1, 2, 2);
  assert.deepEqual(controlImageBatch(one, 4).shape, [4, 3, 2, 2]);
  const two = imageValue(Float32Array.from({ length: 2 * 12 }, (_, i) => (i < 12 ? 0 : 1)), 2, 2, 2);
  const tiled = controlImageBatch(two, 4).data;
  assert.deepEqual([tiled[0], tiled[12], tiled[24], tiled[36]], [0, 1, 0, 1]);
  assert.throws(() => controlImageBatch(two, 3), (e: Error & { code?: string }) => e.code === 'BATCH_MISMATCH');
});

test('an empty latent starts from the Sampler seed\'s noise × init sigma (ComfyUI semantics: the seed is on the Sampler)', async () => {
  const model = new UNet2DConditionModel(SMALL_UNET_CONFIG, 3);
  model.conv_out.weight.set(new Float32Array(model.conv_out.weight.size));
  model.conv_out.bias!.set(new Float32Array(model.conv_out.bias!.size));
  const unet: UNetValue = { model, backend: 'tfjs', source: 'test', byteSize: () => 0 };
  const sigma = createScheduler('euler', {}, { steps: 3 }).initNoiseSigma;
  const run = async (seed: number) =>
    ((await exec(Sampler, {
      unet,
      conditioning: { cond: randomHost([1, 5, 32], 5), uncond: randomHost([1, 5, 32], 6) },
      latent: { samples: { data: new Float32Array(256), shape: [1, 4, 8, 8], dtype: 'float32' }, kind: 'empty' } satisfies LatentValue,
      scheduler: { name: 'euler', steps: 3, config: {}, options: {} } satisfies SchedulerValue,
      guidance: 7.5,
      seed,
      steps: 0,
      denoise: 0.5, // ignored: an empty latent always runs the whole schedule
      preview_every: 0,
    })).latent as LatentValue).samples.data;
  const expected = randn(256, 11);
  (await run(11)).forEach((v, i) => assert.ok(Math.abs(v - expected[i]! * sigma) < 1e-4 * sigma, `element ${i}`));
  assert.notDeepEqual(await run(12), await run(11));
});
