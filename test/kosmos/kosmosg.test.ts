// The composite: checkpoint round trip by key names, load reports, the encode pipeline and the null condition.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getRunner } from '../../models/runtime/runners.ts';
import { hostTensor, type HostTensor } from '../../models/ops/ops.ts';
import { imageValue } from '../../models/image.ts';
import { KosmosG, loadKosmosGCheckpoint } from '../../models/kosmosg/kosmosg.ts';
import { inferKosmosGConfig, kosmosGSmall } from '../../models/kosmosg/config.ts';
import { encodeKosmosG, KosmosEncodeError, nullCondition, preprocessImages, type PromptSequence } from '../../models/kosmosg/encode.ts';
import { clipVisionFrom, kosmosGFrom, readWeightFile, saveKosmosG } from '../../models/kosmosg/weights.ts';
import { saveSafetensors } from '../../models/io/safetensors.ts';
import { LoadError } from '../../models/nn/module.ts';
import { saveTorchCheckpoint, torchTensor } from '../../models/io/pytorch/index.ts';
import { maxAbsDiff, randomImage } from './helpers.ts';

const runner = await getRunner('tfjs');
const IMG = 300;
const END = 301;

/** `<s> a b <image>×65 </image> c` with the 64 slots marked. */
function promptWithImage(text: number[] = [5, 6], tail: number[] = [7]): PromptSequence {
  const tokens = [0, ...text, ...Array(65).fill(IMG), END, ...tail];
  const mask = tokens.map((_, i) => (i > text.length + 1 && i <= text.length + 65 ? 1 : 0));
  return { tokens: Int32Array.from(tokens), imageMask: Uint8Array.from(mask) };
}

const image = imageValue(randomImage(1, 36, 30, 11), 1, 36, 30);

test('encode: prompt + image → [1, 77, 32]; wrong image count is a coded error', async () => {
  const model = new KosmosG(kosmosGSmall(), 1);
  const cond = await encodeKosmosG(runner, model, [promptWithImage()], image);
  assert.deepEqual(cond.shape, [1, 77, 32]);
  assert.ok(cond.data.every(Number.isFinite));
  await assert.rejects(encodeKosmosG(runner, model, [promptWithImage()]), (e: KosmosEncodeError) => e.code === 'KOSMOS_IMAGE_COUNT' && /64 image slots but 0/.test(e.message));
});

test('batching: a right-padded row gives the same condition as encoding it alone', async () => {
  const model = new KosmosG(kosmosGSmall(), 2);
  const short: PromptSequence = { tokens: Int32Array.from([0, 9, 10]) };
  const long: PromptSequence = { tokens: Int32Array.from([0, 11, 12, 13, 14, 15]) };
  const both = await encodeKosmosG(runner, model, [short, long]);
  const alone = await encodeKosmosG(runner, model, [short]);
  assert.deepEqual(both.shape, [2, 77, 32]);
  const first = hostTensor((both.data as Float32Array).slice(0, 77 * 32), [1, 77, 32]);
  assert.ok(maxAbsDiff(first, alone) < 1e-4);
});

test('null condition: MLLM + M on [<s>] (+ negative ids), not zeros', async () => {
  const model = new KosmosG(kosmosGSmall(), 3);
  const uncond = await nullCondition(runner, model, 0);
  assert.deepEqual(uncond.shape, [1, 77, 32]);
  const direct = await encodeKosmosG(runner, model, [{ tokens: Int32Array.from([0]) }]);
  assert.ok(maxAbsDiff(uncond, direct) < 1e-6);
  assert.ok(uncond.data.some((v) => Math.abs(v) > 1e-3));
  const negative = await nullCondition(runner, model, 0, [20, 21]);
  assert.ok(maxAbsDiff(uncond, negative) > 1e-4);
});

test('checkpoint round trip by key names through safetensors: same condition', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kosmos-'));
  try {
    const model = new KosmosG(kosmosGSmall(512, true), 4);
    const keys = [...model.stateDict().keys()];
    assert.ok(keys.includes('gpt_model.decoder.layers.1.self_attn.inner_attn_ln.weight'));
    assert.ok(keys.includes('img_model.visual.transformer.resblocks.0.ts_attn.q_proj.weight'));
    assert.ok(keys.includes('img_connector.x_attn.out_proj.bias'));
    assert.ok(keys.includes('aligner.decoder_proj.output_projection.weight'));
    const file = path.join(dir, 'kg.safetensors');
    await saveKosmosG(file, model);
    const want = await encodeKosmosG(runner, model, [promptWithImage()], image);
    for (const choice of ['from-file', 'small'] as const) {
      const loaded = kosmosGFrom(await readWeightFile(file), choice);
      assert.equal(loaded.aligner.hasReconstruction, true);
      const got = await encodeKosmosG(runner, loaded, [promptWithImage()], image);
      assert.equal(maxAbsDiff(want, got), 0, choice);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a fairseq-style .pt checkpoint ({ model: state_dict }) loads by the same key names', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kosmos-pt-'));
  try {
    const model = new KosmosG(kosmosGSmall(), 8);
    const file = path.join(dir, 'checkpoint_final.pt');
    const state = new Map([...model.stateDict()].map(([k, t]) => [k, torchTensor(t)]));
    saveTorchCheckpoint(file, new Map<string, unknown>([['args', null], ['model', state]]));
    const loaded = kosmosGFrom(await readWeightFile(dir), 'small');
    const want = await encodeKosmosG(runner, model, [promptWithImage()], image);
    assert.equal(maxAbsDiff(want, await encodeKosmosG(runner, loaded, [promptWithImage()], image)), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loading names missing, unexpected and mis-shaped keys; ignores buffers and other models', () => {
  const state = new KosmosG(kosmosGSmall(), 5).stateDict();
  // Head counts are invisible in shapes: the heads argument (file metadata) supplies them, else head_dim 64.
  assert.deepEqual(inferKosmosGConfig(state, { vision: 4, connector: 4, mllm: 4, aligner: 2 }), kosmosGSmall());
  assert.equal(inferKosmosGConfig(state).mllm.heads, 1);
  // What a real checkpoint also carries: buffers, the tied projection, the frozen U-Net.
  state.set('gpt_model.decoder.embed_positions._float_tensor', hostTensor(new Float32Array(1), [1]));
  state.set('gpt_model.decoder.output_projection.weight', state.get('gpt_model.decoder.embed_tokens.weight')!);
  state.set('diffusion_unet.unet.conv_in.weight', hostTensor(new Float32Array(4), [4]));
  assert.equal(loadKosmosGCheckpoint(state).otherKeys, 1);
  const broken = new Map(state);
  broken.delete('aligner.encoder_query');
  broken.set('img_connector.extra.weight', hostTensor(new Float32Array(2), [2]));
  broken.set('gpt_model.decoder.layer_norm.weight', hostTensor(new Float32Array(3), [3]));
  assert.throws(
    () => loadKosmosGCheckpoint(broken, { config: kosmosGSmall() }),
    (e: LoadError) =>
      e.code === 'WEIGHTS_MISMATCH' &&
      e.report.missing.includes('aligner.encoder_query') &&
      e.report.unexpected.includes('img_connector.extra.weight') &&
      e.report.mismatched[0]!.key === 'gpt_model.decoder.layer_norm.weight' &&
      /encoder_query/.test(e.message),
  );
});

test('OpenAI-layout ViT weights (attn.in_proj_*) are split into ts_attn q/k/v', async () => {
  const model = new KosmosG(kosmosGSmall(), 6);
  const state = model.stateDict();
  const openai = new Map<string, HostTensor>();
  for (const [k, t] of state) {
    const m = /^(img_model\.visual\.transformer\.resblocks\.\d+\.)ts_attn\.(q|k|v|out)_proj\.(weight|bias)$/.exec(k);
    if (!m) openai.set(k, t);
    else if (m[2] === 'out') openai.set(`${m[1]}attn.out_proj.${m[3]}`, t);
    else if (m[2] === 'q') {
      const parts = ['q', 'k', 'v'].map((n) => state.get(`${m[1]}ts_attn.${n}_proj.${m[3]}`)!.data as Float32Array);
      const data = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
      parts.reduce((o, p) => (data.set(p, o), o + p.length), 0);
      openai.set(`${m[1]}attn.in_proj_${m[3]}`, hostTensor(data, [t.shape[0]! * 3, ...t.shape.slice(1)]));
    }
  }
  const { model: loaded } = loadKosmosGCheckpoint(openai, { config: kosmosGSmall() });
  const want = await encodeKosmosG(runner, model, [promptWithImage()], image);
  const got = await encodeKosmosG(runner, loaded, [promptWithImage()], image);
  assert.equal(maxAbsDiff(want, got), 0);
});

test('a bare OpenAI-layout CLIP file loads as the vision tower (text tower and visual.proj left out)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kosmos-vit-'));
  try {
    const model = new KosmosG(kosmosGSmall(), 9);
    const out = new Map<string, HostTensor>();
    for (const [k, t] of model.visual.stateDict()) {
      const m = /^(visual\.transformer\.resblocks\.\d+\.)ts_attn\.(q|k|v|out)_proj\.(weight|bias)$/.exec(k);
      if (!m) out.set(k, t);
      else if (m[2] === 'out') out.set(`${m[1]}attn.out_proj.${m[3]}`, t);
      else if (m[2] === 'q') {
        const parts = ['q', 'k', 'v'].map((n) => model.visual.stateDict().get(`${m[1]}ts_attn.${n}_proj.${m[3]}`)!.data as Float32Array);
        const data = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
        parts.reduce((o, p) => (data.set(p, o), o + p.length), 0);
        out.set(`${m[1]}attn.in_proj_${m[3]}`, hostTensor(data, [t.shape[0]! * 3, ...t.shape.slice(1)]));
      }
    }
    out.set('visual.proj', hostTensor(new Float32Array(64 * 8), [64, 8]));
    out.set('token_embedding.weight', hostTensor(new Float32Array(16), [4, 4]));
    out.set('logit_scale', hostTensor(new Float32Array(1), [1]));
    const file = path.join(dir, 'ViT-L-14-sd.safetensors');
    await saveSafetensors(file, out);
    const vision = clipVisionFrom(await readWeightFile(file), 'small');
    const px = preprocessImages(image, 32);
    const fwd = (v: typeof vision) => runner.run(v, 'v', (ops, [x]) => [v.forward(ops, x!)], [px]);
    assert.equal(maxAbsDiff((await fwd(vision))[0]!, (await fwd(model.visual))[0]!), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
