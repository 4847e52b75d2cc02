// A tiny diffusers folder written here: detection, configs, scheduler_config.json → scheduler, legacy VAE names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hostTensor, type HostTensor } from '../../models/ops/ops.ts';
import { saveSafetensors } from '../../models/io/safetensors.ts';
import { detectDiffusersFolder, loadDiffusersComponent } from '../../models/loaders/diffusers-folder.ts';
import { schedulerConfigFromDiffusers } from '../../models/loaders/scheduler-config.ts';
import { createScheduler } from '../../models/schedulers/index.ts';

const SD15_SCHEDULER_JSON = {
  _class_name: 'PNDMScheduler',
  _diffusers_version: '0.6.0',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  num_train_timesteps: 1000,
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  trained_betas: null,
  clip_sample: false,
};

const f = (shape: number[], v = 0.5): HostTensor => hostTensor(new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(v), shape);

async function writeFolder(root: string): Promise<void> {
  for (const d of ['unet', 'vae', 'text_encoder', 'tokenizer', 'scheduler']) mkdirSync(path.join(root, d), { recursive: true });
  writeFileSync(path.join(root, 'model_index.json'), JSON.stringify({ _class_name: 'StableDiffusionPipeline' }));
  writeFileSync(
    path.join(root, 'unet', 'config.json'),
    JSON.stringify({ block_out_channels: [32, 64], down_block_types: ['CrossAttnDownBlock2D', 'DownBlock2D'], up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D'], cross_attention_dim: 32, attention_head_dim: 4, norm_num_groups: 8, layers_per_block: 1 }),
  );
  await saveSafetensors(path.join(root, 'unet', 'diffusion_pytorch_model.safetensors'), new Map([['conv_in.weight', f([32, 4, 3, 3])]]));
  writeFileSync(path.join(root, 'vae', 'config.json'), JSON.stringify({ block_out_channels: [16, 32], norm_num_groups: 8, latent_channels: 4 }));
  await saveSafetensors(
    path.join(root, 'vae', 'diffusion_pytorch_model.fp16.safetensors'),
    new Map([
      ['encoder.mid_block.attentions.0.query.weight', f([32, 32, 1, 1])],
      ['encoder.mid_block.attentions.0.proj_attn.bias', f([32])],
    ]),
    undefined,
    { floatDType: 'F16' },
  );
  writeFileSync(path.join(root, 'text_encoder', 'config.json'), JSON.stringify({ hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 256, vocab_size: 512, hidden_act: 'quick_gelu' }));
  await saveSafetensors(
    path.join(root, 'text_encoder', 'model.safetensors'),
    new Map([
      ['text_model.final_layer_norm.weight', f([64])],
      ['text_model.embeddings.position_ids', hostTensor(new Int32Array(77), [1, 77])],
    ]),
  );
  writeFileSync(path.join(root, 'tokenizer', 'vocab.json'), '{}');
  writeFileSync(path.join(root, 'tokenizer', 'merges.txt'), '#version: 0.2\n');
  writeFileSync(path.join(root, 'scheduler', 'scheduler_config.json'), JSON.stringify(SD15_SCHEDULER_JSON));
}

test('a diffusers folder: components, configs, tokenizer files, scheduler', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'df-'));
  try {
    await writeFolder(root);
    const folder = await detectDiffusersFolder(root);
    assert.deepEqual(folder.problems, []);
    assert.equal(folder.modelIndex?.['_class_name'], 'StableDiffusionPipeline');
    assert.deepEqual(folder.unet!.config.blockOutChannels, [32, 64]);
    assert.equal(folder.unet!.config.crossAttentionDim, 32);
    assert.equal(path.basename(folder.vae!.weights), 'diffusion_pytorch_model.fp16.safetensors');
    assert.equal(folder.vae!.config.normNumGroups, 8);
    assert.equal(folder.textEncoder!.config.hiddenSize, 64);
    assert.equal(folder.textEncoder!.config.layers, 2);
    assert.ok(folder.tokenizer!.vocab && folder.tokenizer!.merges);
    assert.equal(folder.scheduler!.suggested, 'pndm');
    assert.deepEqual(folder.scheduler!.warnings, []);
    const plms = createScheduler(folder.scheduler!.suggested!, folder.scheduler!.config, { steps: 50 });
    assert.deepEqual(plms.timesteps.slice(0, 4), [981, 961, 961, 941]);
    // The same file drives DPM-Solver with its own (linspace) spacing, as diffusers does.
    assert.equal(createScheduler('dpmsolver++', folder.scheduler!.config, { steps: 20 }).timesteps[10], 500);

    const vae = await loadDiffusersComponent(folder, 'vae');
    assert.deepEqual([...vae.keys()].sort(), ['encoder.mid_block.attentions.0.to_out.0.bias', 'encoder.mid_block.attentions.0.to_q.weight']);
    assert.deepEqual(vae.get('encoder.mid_block.attentions.0.to_q.weight')!.shape, [32, 32]);
    assert.equal(vae.get('encoder.mid_block.attentions.0.to_out.0.bias')!.data[0], 0.5);
    const te = await loadDiffusersComponent(folder, 'textEncoder');
    assert.deepEqual([...te.keys()], ['text_model.final_layer_norm.weight']);
    assert.equal((await loadDiffusersComponent(folder, 'unet')).size, 1);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('not a diffusers folder: coded errors that say why', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'df-'));
  try {
    await assert.rejects(detectDiffusersFolder(path.join(root, 'absent')), { code: 'NOT_A_FOLDER' });
    await assert.rejects(detectDiffusersFolder(root), { code: 'NOT_DIFFUSERS_FOLDER' });
    mkdirSync(path.join(root, 'unet'));
    writeFileSync(path.join(root, 'unet', 'diffusion_pytorch_model.bin'), 'pickle');
    await assert.rejects(detectDiffusersFolder(root), (e: Error & { code?: string }) => e.code === 'NOT_DIFFUSERS_FOLDER' && /pickle/.test(e.message));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('scheduler_config.json: values, class, settings', () => {
  const r = schedulerConfigFromDiffusers({ ...SD15_SCHEDULER_JSON, _class_name: 'EulerDiscreteScheduler', timestep_spacing: 'trailing', use_karras_sigmas: true });
  assert.equal(r.suggested, 'euler');
  assert.deepEqual(r.config, {
    numTrainTimesteps: 1000,
    betaStart: 0.00085,
    betaEnd: 0.012,
    stepsOffset: 1,
    setAlphaToOne: false,
    betaSchedule: 'scaled_linear',
    timestepSpacing: 'trailing',
    useKarrasSigmas: true,
    clipSample: false,
  });
  assert.deepEqual(r.warnings, []);
  assert.throws(() => schedulerConfigFromDiffusers({ prediction_type: 'x' }), { code: 'UNSUPPORTED_PREDICTION' });
  assert.throws(() => schedulerConfigFromDiffusers({ beta_start: 'x' }), { code: 'BAD_SCHEDULER_CONFIG' });
  assert.throws(() => schedulerConfigFromDiffusers({ timestep_spacing: 'karras' }), { code: 'BAD_SCHEDULER_CONFIG' });
});
