import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostTensor } from '../../models/ops/ops.ts';
import { loadSafetensors } from '../../models/io/safetensors.ts';
import { saveTorchCheckpoint, torchTensor } from '../../models/io/pytorch/index.ts';
import { convertTorchToSafetensors, listTorchTensors } from '../../models/io/pytorch/convert.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'convert-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function checkpoint(file: string) {
  const model = new Map<string, unknown>([
    ['gpt_model.decoder.layers.0.self_attn.q_proj.weight', hostTensor(Float32Array.from([1, 2, 3, 4]), [2, 2])],
    ['img_connector.latent_query', torchTensor(hostTensor(Float32Array.from([0.5, 0.25]), [1, 2]), 'float16')],
    ['diffusion_unet.unet.conv_in.bias', hostTensor(Float32Array.from([9]), [1])],
  ]);
  saveTorchCheckpoint(file, { args: null, cfg: { model: {} }, model, optimizer_history: [] });
}

test('convert a fairseq-shaped .pt to safetensors by key names; --exclude drops the frozen U-Net', async () => {
  const pt = path.join(dir, 'ckpt.pt');
  checkpoint(pt);
  const out = path.join(dir, 'out.safetensors');
  const report = await convertTorchToSafetensors(pt, out, { key: 'model', exclude: ['diffusion_unet.'] });
  assert.deepEqual(report, { tensors: 2, parameters: 6, skipped: 1, key: 'model' });
  const back = await loadSafetensors(out);
  assert.deepEqual([...back.keys()].sort(), ['gpt_model.decoder.layers.0.self_attn.q_proj.weight', 'img_connector.latent_query']);
  assert.deepEqual(Array.from(back.get('img_connector.latent_query')!.data), [0.5, 0.25]);
  assert.deepEqual(back.get('gpt_model.decoder.layers.0.self_attn.q_proj.weight')!.shape, [2, 2]);
  assert.deepEqual(listTorchTensors(pt).map((t) => t.dtype), ['float32', 'float16', 'float32']);
});

test('the CLI converts, lists, and reports a bad file with its code and exit status 1', () => {
  const pt = path.join(dir, 'cli.pt');
  checkpoint(pt);
  const out = path.join(dir, 'cli.safetensors');
  const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
  const script = path.join(root, 'scripts', 'convert-checkpoint.ts');
  const log = execFileSync(tsx, [script, '--include', 'gpt_model.', pt, out], { encoding: 'utf8' });
  assert.match(log, /1 tensors, 4 values \(from "model", 2 skipped\)/);
  const listing = execFileSync(tsx, [script, '--list', pt], { encoding: 'utf8' });
  assert.match(listing, /img_connector\.latent_query\tfloat16\t\[1, 2\]/);
  assert.throws(() => execFileSync(tsx, [script, path.join(dir, 'nope.pt'), out], { encoding: 'utf8', stdio: 'pipe' }), (e: { status: number; stderr: string }) => {
    assert.equal(e.status, 1);
    assert.match(e.stderr, /TORCH_CKPT_INVALID: .*nope\.pt/);
    return true;
  });
  assert.throws(() => execFileSync(tsx, [script, pt], { stdio: 'pipe' }), (e: { status: number }) => e.status === 2);
});
