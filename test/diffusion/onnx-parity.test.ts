// Every diffusion entry point gives the same numbers on the ONNX runner (traced graph in ONNX Runtime) as on
// tfjs (< 1e-4): the U-Net plain (and at 16×16 latents, where its self-attention is traced as ONNX Runtime's
// fused MultiHeadAttention), with ControlNet residuals and with an unmerged LoRA, the ControlNet, and the
// VAE's encoder and decoder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { traceForward } from '../../models/backends/onnx/runner.ts';
import { getRunner } from '../../models/runtime/runners.ts';
import { hostTensor, type HostTensor } from '../../models/ops/ops.ts';
import type { Module } from '../../models/nn/module.ts';
import type { ForwardFn } from '../../models/runtime/runner.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { SMALL_UNET_CONFIG } from '../../models/unet/config.ts';
import { controlNetEntry, unetEntry, vaeDecodeEntry, vaeEncodeEntry } from '../../models/unet/entries.ts';
import { ControlNetModel, controlNetConfigFor } from '../../models/controlnet/controlnet.ts';
import { UnmergedLora } from '../../models/unet/lora-hook.ts';
import { AutoencoderKL } from '../../models/vae/autoencoder.ts';
import { SMALL_VAE_CONFIG } from '../../models/vae/config.ts';
import { assertClose, randomHost, randomize } from './helpers.ts';

async function parity(model: Module, entry: string, forward: ForwardFn, inputs: HostTensor[]): Promise<HostTensor[]> {
  const tfjs = await (await getRunner('tfjs')).run(model, entry, forward, inputs);
  const onnx = await (await getRunner('onnx')).run(model, entry, forward, inputs);
  tfjs.forEach((t, i) => assertClose(onnx[i].data, t.data, 1e-4, `${entry} output ${i}`));
  return tfjs;
}

const sample = randomHost([2, 4, 8, 8], 31);
const timesteps = hostTensor(new Float32Array([801, 1]), [2]);
const context = randomHost([2, 7, 32], 32);

test('U-Net, ControlNet and unmerged LoRA: ONNX Runtime matches tfjs < 1e-4', async () => {
  const unet = new UNet2DConditionModel(SMALL_UNET_CONFIG, 7);
  await parity(unet, 'unet', unetEntry(unet), [sample, timesteps, context]);

  const cn = new ControlNetModel(controlNetConfigFor(SMALL_UNET_CONFIG), 8);
  randomize(cn.namedParameters(), 'controlnet_', 9);
  randomize(cn.namedParameters(), 'controlnet_cond_embedding.conv_out', 10);
  const image = hostTensor(Float32Array.from(randomHost([2, 3, 32, 32], 33).data, (v) => Math.abs(v) % 1), [2, 3, 32, 32]);
  const residuals = await parity(cn, 'controlnet', controlNetEntry(cn), [sample, timesteps, context, image, hostTensor(new Float32Array([0.8]), [1])]);
  await parity(unet, 'unet+control', unetEntry(unet), [sample, timesteps, context, ...residuals]);

  const key = 'up_blocks.1.attentions.0.transformer_blocks.0.ff.net.0.proj.weight';
  const hook = new UnmergedLora([{ key, up: randomHost([256, 4], 34, 0.2), down: randomHost([4, 32], 35, 0.2), scale: 0.75 }]);
  hook.check(unet);
  const plain = unetEntry(unet);
  await parity(unet, 'unet+lora:parity-test', (ops, xs) => plain(hook.wrap(ops), xs), [sample, timesteps, context]);
});

test('U-Net at 16×16 latents (256 tokens: fused self-attention on ONNX Runtime) matches tfjs < 1e-4', async () => {
  const unet = new UNet2DConditionModel(SMALL_UNET_CONFIG, 7);
  const inputs = [randomHost([2, 4, 16, 16], 38), timesteps, context];
  const fused = traceForward(unet, unetEntry(unet), inputs).graph.nodes.filter((n) => n.op === 'MultiHeadAttention');
  // The first level's self-attentions (one down, two up) are fused; its cross-attentions to 7 keys are not.
  assert.equal(fused.length, 3);
  await parity(unet, 'unet', unetEntry(unet), inputs);
});

test('VAE encoder and decoder: ONNX Runtime matches tfjs < 1e-4', async () => {
  const vae = new AutoencoderKL(SMALL_VAE_CONFIG, 11);
  await parity(vae, 'vae_encode', vaeEncodeEntry(vae), [randomHost([1, 3, 16, 16], 36, 0.5)]);
  await parity(vae, 'vae_decode', vaeDecodeEntry(vae), [randomHost([1, 4, 4, 4], 37)]);
});
