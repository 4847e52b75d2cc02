// kosmos-g doctor: a diffusers-style folder written here (tiny U-Net, ControlNet, text encoder, scheduler) is
// reported component by component — what was read, inferred and ignored — and weights that do not fit their config
// are errors (exit 1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../server/cli/main.ts';
import type { CliIO } from '../../server/cli/io.ts';
import { saveSafetensors } from '../../models/io/safetensors.ts';
import { hostTensor, type HostTensor } from '../../models/ops/ops.ts';
import { SMALL_UNET_CONFIG, unetConfigToDiffusers } from '../../models/unet/config.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { ControlNetModel, controlNetConfigFor } from '../../models/controlnet/controlnet.ts';
import { CLIPTextModel } from '../../models/clip/text-model.ts';
import { AutoencoderKL } from '../../models/vae/autoencoder.ts';
import { SMALL_VAE_CONFIG, vaeConfigToDiffusers } from '../../models/vae/config.ts';
import { Rng } from '../../models/ops/random.ts';

async function doctor(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), tty: false };
  const code = await main(['doctor', ...argv], io);
  return { code, out, err };
}

async function component(dir: string, config: Record<string, unknown>, weights: Map<string, HostTensor>, file = 'diffusion_pytorch_model.safetensors'): Promise<void> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  await saveSafetensors(path.join(dir, file), weights);
}

test('doctor reports each component of a folder: loaded, inferred, ignored', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'kg-doctor-'));
  try {
    writeFileSync(path.join(root, 'model_index.json'), '{"_class_name": "StableDiffusionPipeline"}');
    await component(path.join(root, 'unet'), { ...unetConfigToDiffusers(SMALL_UNET_CONFIG), upcast_attention: true }, new UNet2DConditionModel(SMALL_UNET_CONFIG, 1).stateDict());
    const cnJson = { ...unetConfigToDiffusers(SMALL_UNET_CONFIG), _class_name: 'ControlNetModel', conditioning_embedding_out_channels: [8, 16, 16], shiny_new_option: 1 };
    delete (cnJson as Record<string, unknown>).up_block_types;
    delete (cnJson as Record<string, unknown>).out_channels;
    delete (cnJson as Record<string, unknown>).sample_size;
    await component(path.join(root, 'controlnet'), cnJson, new ControlNetModel(controlNetConfigFor(SMALL_UNET_CONFIG, [8, 16, 16]), 2).stateDict());
    const text = { vocabSize: 100, hiddenSize: 64, intermediateSize: 128, layers: 1, heads: 4, maxPositions: 77, eps: 1e-5 };
    await component(
      path.join(root, 'text_encoder'),
      { architectures: ['CLIPTextModel'], model_type: 'clip_text_model', vocab_size: 100, hidden_size: 64, intermediate_size: 128, num_hidden_layers: 1, num_attention_heads: 4, max_position_embeddings: 77 },
      new CLIPTextModel(text, new Rng(3)).stateDict(),
      'model.safetensors',
    );
    await component(
      path.join(root, 'vae'),
      { ...vaeConfigToDiffusers(SMALL_VAE_CONFIG), down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D'], force_upcast: true, shift_factor: 0.1159 },
      new AutoencoderKL(SMALL_VAE_CONFIG, 4).stateDict(),
    );
    mkdirSync(path.join(root, 'scheduler'));
    writeFileSync(path.join(root, 'scheduler', 'scheduler_config.json'), '{"_class_name": "DPMSolverMultistepScheduler", "lambda_min_clipped": -Infinity, "use_karras_sigmas": true, "timestep_spacing": "trailing", "thresholding": true}');

    const r = await doctor(root);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /diffusers pipeline folder/);
    assert.match(r.out, /unet \(.*\)\n  loaded   config \(UNet2DConditionModel\): inChannels 4/);
    assert.match(r.out, /inferred upcast_attention true: attention already runs in float32/);
    assert.match(r.out, /controlnet[\s\S]*inferred up blocks \(a ControlNet has none\)[\s\S]*ignored  unknown key "shiny_new_option" is ignored/);
    assert.match(r.out, /text_encoder[\s\S]*heads 4[\s\S]*all \d+ parameters found/);
    assert.match(r.out, /scheduler[\s\S]*DPMSolverMultistepScheduler → dpmsolver\+\+\): .*useKarrasSigmas true/);
    assert.match(r.out, /ignored  thresholding true is not implemented/);
    assert.match(r.out, /vae[\s\S]*inferred force_upcast true: the VAE already runs in float32[\s\S]*ignored  shift_factor 0\.1159 is not implemented/);
    assert.match(r.out, /every component would load/);

    const json = JSON.parse((await doctor(root, '--json')).out) as { components: { kind: string }[] };
    assert.deepEqual(json.components.map((c) => c.kind), ['unet', 'vae', 'text_encoder', 'controlnet', 'scheduler']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('doctor: weights that do not fit their config are errors (exit 1); a missing path is a coded error', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'kg-doctor-bad-'));
  try {
    const weights = new UNet2DConditionModel(SMALL_UNET_CONFIG, 1).stateDict();
    weights.set('conv_in.weight', hostTensor(new Float32Array(32 * 4 * 9 * 2), [64, 4, 3, 3]));
    weights.delete('conv_out.bias');
    await component(path.join(root, 'unet'), unetConfigToDiffusers(SMALL_UNET_CONFIG), weights);
    const r = await doctor(root);
    assert.equal(r.code, 1);
    assert.match(r.out, /error {4}1 parameters missing from the weights: conv_out\.bias/);
    assert.match(r.out, /error {4}1 shapes differ from the config's: conv_in\.weight 64×4×3×3 \(config: 32×4×3×3\)/);
    const missing = await doctor(path.join(root, 'nowhere'));
    assert.equal(missing.code, 2);
    assert.match(missing.err, /FILE_NOT_FOUND: .*nowhere: no such file or folder/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
