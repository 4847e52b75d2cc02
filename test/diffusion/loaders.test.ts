// Loader nodes on real files: a diffusers folder (config.json + safetensors per component, the VAE saved with the
// old query/key/value/proj_attn names) loads by key with config 'from-file'; bad paths and mismatched weights are
// coded errors that name the file or key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { saveSafetensors } from '../../models/io/safetensors.ts';
import type { HostTensor } from '../../models/ops/ops.ts';
import type { AnyNodeDefinition, NodeContext } from '../../engine/node-def.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { SMALL_UNET_CONFIG, unetConfigToDiffusers } from '../../models/unet/config.ts';
import { AutoencoderKL } from '../../models/vae/autoencoder.ts';
import { SMALL_VAE_CONFIG } from '../../models/vae/config.ts';
import { LoadStableDiffusion, LoadUNet, LoadVAE } from '../../nodes/diffusion/loaders.ts';
import type { UNetValue, VAEValue } from '../../nodes/diffusion/values.ts';

const logged: string[] = [];
const ctx = { log: { info: (m: string) => logged.push(m), warn: (m: string) => logged.push(m), error: (m: string) => logged.push(m) } } as unknown as NodeContext;
/** Calls a node's execute directly (definitions are stored type-erased). */
const exec = (def: AnyNodeDefinition, args: Record<string, unknown>): Promise<unknown> =>
  Promise.resolve(def.execute(args as never, ctx));
const root = mkdtempSync(path.join(os.tmpdir(), 'kosmos-sd-'));

async function writeFolder(): Promise<{ unet: UNet2DConditionModel; vae: AutoencoderKL }> {
  const unet = new UNet2DConditionModel(SMALL_UNET_CONFIG, 41);
  const vae = new AutoencoderKL(SMALL_VAE_CONFIG, 42);
  mkdirSync(path.join(root, 'unet'), { recursive: true });
  mkdirSync(path.join(root, 'vae'), { recursive: true });
  writeFileSync(path.join(root, 'unet', 'config.json'), JSON.stringify(unetConfigToDiffusers(SMALL_UNET_CONFIG)));
  // The VAE's config.json is partial on purpose: missing keys take the diffusers defaults.
  const v = SMALL_VAE_CONFIG;
  writeFileSync(
    path.join(root, 'vae', 'config.json'),
    JSON.stringify({ block_out_channels: v.blockOutChannels, layers_per_block: v.layersPerBlock, norm_num_groups: v.normNumGroups, latent_channels: 4 }),
  );
  await saveSafetensors(path.join(root, 'unet', 'diffusion_pytorch_model.safetensors'), unet.stateDict());
  const legacy = new Map<string, HostTensor>();
  for (const [k, t] of vae.stateDict()) {
    legacy.set(k.replace('.to_q.', '.query.').replace('.to_k.', '.key.').replace('.to_v.', '.value.').replace('.to_out.0.', '.proj_attn.'), t);
  }
  await saveSafetensors(path.join(root, 'vae', 'diffusion_pytorch_model.safetensors'), legacy);
  return { unet, vae };
}

const written = await writeFolder();

test("LoadStableDiffusion: a diffusers folder with config 'from-file' loads every weight by key", async () => {
  const out = (await exec(LoadStableDiffusion, { path: root, config: 'from-file', backend: 'tfjs', seed: 0 })) as {
    unet: UNetValue;
    vae: VAEValue;
  };
  const ours = new Map(written.unet.namedParameters());
  for (const [k, p] of out.unet.model.namedParameters()) assert.deepEqual(p.data, ours.get(k)!.data, k);
  const vae = new Map(written.vae.namedParameters());
  for (const [k, p] of out.vae.model.namedParameters()) assert.deepEqual(p.data, vae.get(k)!.data, k);
  assert.match(out.unet.source, /unet\/diffusion_pytorch_model\.safetensors$/);
});

test('LoadUNet / LoadVAE accept a component folder or the .safetensors file itself', async () => {
  const u = (await exec(LoadUNet, { path: path.join(root, 'unet'), config: 'small', backend: 'onnx', seed: 0 })) as { unet: UNetValue };
  assert.equal(u.unet.backend, 'onnx');
  const file = path.join(root, 'vae', 'diffusion_pytorch_model.safetensors');
  const v = (await exec(LoadVAE, { path: file, config: 'from-file', backend: 'tfjs', seed: 0 })) as { vae: VAEValue };
  assert.equal(v.vae.model.config.blockOutChannels.length, 3);
});

test('loader errors are coded and name the file or key', async () => {
  const code = async (p: Promise<unknown>, expected: string, pattern: RegExp) => {
    await assert.rejects(p, (e: Error & { code?: string }) => {
      assert.equal(e.code, expected, e.message);
      assert.match(e.message, pattern);
      return true;
    });
  };
  await code(exec(LoadUNet, { path: path.join(root, 'nope'), config: 'small', backend: 'tfjs', seed: 0 }), 'FILE_NOT_FOUND', /nope/);
  const ckpt = path.join(root, 'model.ckpt');
  writeFileSync(ckpt, 'not a pickle we will ever run');
  await code(exec(LoadUNet, { path: ckpt, config: 'small', backend: 'tfjs', seed: 0 }), 'UNSUPPORTED_FORMAT', /model\.ckpt/);
  await code(exec(LoadUNet, { path: '', config: 'from-file', backend: 'tfjs', seed: 0 }), 'MISSING_PATH', /from-file/);
  await code(exec(LoadUNet, { path: root, config: 'real', backend: 'tfjs', seed: 0 }), 'WEIGHTS_MISMATCH', /conv_in\.weight/);
});

test('an empty path builds a seeded random small model: same seed, same weights', async () => {
  const a = (await exec(LoadUNet, { path: '', config: 'small', backend: 'tfjs', seed: 5 })) as { unet: UNetValue };
  const b = (await exec(LoadUNet, { path: '', config: 'small', backend: 'tfjs', seed: 5 })) as { unet: UNetValue };
  const c = (await exec(LoadUNet, { path: '', config: 'small', backend: 'tfjs', seed: 6 })) as { unet: UNetValue };
  assert.deepEqual(a.unet.model.conv_in.weight.data, b.unet.model.conv_in.weight.data);
  assert.notDeepEqual(a.unet.model.conv_in.weight.data, c.unet.model.conv_in.weight.data);
  assert.match(a.unet.source, /random small unet \(seed 5\)/);
});

/** diffusers → LDM names (spec §4.1), the inverse of the single-file mapping, for SD-shaped U-Nets (2 layers). */
function toLdm(key: string): string {
  const resnet: Record<string, string> = {
    norm1: 'in_layers.0',
    conv1: 'in_layers.2',
    time_emb_proj: 'emb_layers.1',
    norm2: 'out_layers.0',
    conv2: 'out_layers.3',
    conv_shortcut: 'skip_connection',
  };
  const res = (rest: string) => {
    const [part, ...tail] = rest.split('.');
    return [resnet[part], ...tail].join('.');
  };
  const top: Record<string, string> = {
    conv_in: 'input_blocks.0.0',
    'time_embedding.linear_1': 'time_embed.0',
    'time_embedding.linear_2': 'time_embed.2',
    conv_norm_out: 'out.0',
    conv_out: 'out.2',
  };
  for (const [df, ldm] of Object.entries(top)) if (key.startsWith(`${df}.`)) return ldm + key.slice(df.length);
  let m = /^down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$/.exec(key);
  if (m) {
    const i = 3 * Number(m[1]) + Number(m[3]) + 1;
    return m[2] === 'resnets' ? `input_blocks.${i}.0.${res(m[4])}` : `input_blocks.${i}.1.${m[4]}`;
  }
  m = /^down_blocks\.(\d+)\.downsamplers\.0\.conv\.(.+)$/.exec(key);
  if (m) return `input_blocks.${3 * Number(m[1]) + 3}.0.op.${m[2]}`;
  m = /^mid_block\.(resnets|attentions)\.(\d)\.(.+)$/.exec(key);
  if (m) return m[1] === 'attentions' ? `middle_block.1.${m[3]}` : `middle_block.${m[2] === '0' ? 0 : 2}.${res(m[3])}`;
  m = /^up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$/.exec(key);
  if (m) {
    const i = 3 * Number(m[1]) + Number(m[3]);
    return m[2] === 'resnets' ? `output_blocks.${i}.0.${res(m[4])}` : `output_blocks.${i}.1.${m[4]}`;
  }
  m = /^up_blocks\.(\d+)\.upsamplers\.0\.conv\.(.+)$/.exec(key);
  if (m) return `output_blocks.${3 * Number(m[1]) + 2}.${m[1] === '0' ? 1 : 2}.conv.${m[2]}`;
  throw new Error(`no LDM name for ${key}`);
}

test('LoadUNet: a single-file LDM checkpoint (model.diffusion_model.…) loads through the block mapping', async () => {
  const config = { ...SMALL_UNET_CONFIG, layersPerBlock: 2 };
  const unet = new UNet2DConditionModel(config, 61);
  const ldm = new Map<string, HostTensor>();
  for (const [k, t] of unet.stateDict()) ldm.set(`model.diffusion_model.${toLdm(k)}`, t);
  ldm.set('model_ema.decay', { data: new Float32Array([0.999]), shape: [], dtype: 'float32' });
  const file = path.join(root, 'ldm-unet.safetensors');
  await saveSafetensors(file, ldm);
  writeFileSync(
    path.join(root, 'config.json'),
    JSON.stringify({ block_out_channels: [32, 64], layers_per_block: 2, down_block_types: config.downBlockTypes, up_block_types: config.upBlockTypes, cross_attention_dim: 32, attention_head_dim: 2, norm_num_groups: 8 }),
  );
  const out = (await exec(LoadUNet, { path: file, config: 'from-file', backend: 'tfjs', seed: 0 })) as { unet: UNetValue };
  const ours = new Map(unet.namedParameters());
  for (const [k, p] of out.unet.model.namedParameters()) assert.deepEqual(p.data, ours.get(k)!.data, k);
});
