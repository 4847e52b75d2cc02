// The kosmos pack: every node's declaration, shapes through every node (direct execute at small configs), and one
// KosmosGEncode workflow through the engine.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { needsShared, sharedPath } from '../helpers/shared.ts';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pack from '../../nodes/kosmos/index.ts';
import type { AnyNodeDefinition, NodeContext } from '../../engine/node-def.ts';
import { valueByteSize } from '../../engine/cache.ts';
import { buildWordTokenizer, saveWordTokenizer } from '../../models/tokenizers/word-tokenizer.ts';
import { imageValue } from '../../models/image.ts';
import { KosmosG } from '../../models/kosmosg/kosmosg.ts';
import { kosmosGSmall } from '../../models/kosmosg/config.ts';
import { saveKosmosG } from '../../models/kosmosg/weights.ts';
import { randomImage } from './helpers.ts';
import { CLIPTextModel } from '../../models/clip/text-model.ts';
import { clipTextSmall } from '../../models/clip/text-config.ts';
import { Rng } from '../../models/ops/random.ts';
import { hostTensor } from '../../models/ops/ops.ts';
import { saveSafetensors } from '../../models/io/safetensors.ts';

// The onnx runner reads KOSMOS_G_CACHE when first created (lazily, after this line): keep its traces out of the repo.
const cacheDir = mkdtempSync(path.join(tmpdir(), 'kosmos-onnx-'));
process.env.KOSMOS_G_CACHE = cacheDir;
after(() => rmSync(cacheDir, { recursive: true, force: true }));

const NAMES = [
  'LoadTokenizer', 'Tokenize', 'KosmosPrompt', 'LoadCLIPVision', 'CLIPVisionEncode', 'LoadConnector', 'Resample', 'LoadMLLM',
  'MLLMEncode', 'LoadAligner', 'AlignerEncode', 'AlignerReconstruct', 'LoadCLIPText', 'CLIPTextEncode', 'LoadKosmosG', 'KosmosGEncode',
  'ConditioningAverage',
];

const ctx: NodeContext = {
  jobId: 'test', nodeId: '1', signal: new AbortController().signal,
  log: { info() {}, warn() {}, error() {} },
  progress() {}, throwIfCancelled() {},
  scratchDir: async () => tmpdir(), outputDir: async () => tmpdir(), addOutputFile() {},
};
const node = (type: string): AnyNodeDefinition => pack.nodes.find((n) => n.type === type)!;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const run = async (type: string, args: Record<string, unknown>): Promise<any> => {
  const def = node(type);
  const widgets = Object.fromEntries(Object.entries(def.widgets).map(([k, w]) => [k, 'default' in w ? w.default : undefined]));
  return def.execute({ ...widgets, ...args } as never, ctx);
};

const mllmTokenizer = buildWordTokenizer(['a red car in the jungle', 'a dog wearing a hat']);
const clipTokenizer = buildWordTokenizer(['a red car in the jungle'], { kind: 'word-clip' });
const image = imageValue(randomImage(1, 24, 40, 5), 1, 24, 40);

test('the pack declares the 17 public nodes; model loaders have path/config/backend widgets', () => {
  assert.equal(pack.name, 'kosmos');
  assert.deepEqual(pack.nodes.map((n) => n.type).sort(), [...NAMES].sort());
  for (const type of ['LoadCLIPVision', 'LoadConnector', 'LoadMLLM', 'LoadAligner', 'LoadCLIPText', 'LoadKosmosG']) {
    const w = node(type).widgets;
    assert.equal(w.path!.kind, 'PATH');
    assert.ok(w.config!.kind === 'ENUM' && w.backend!.kind === 'ENUM');
    if (w.config!.kind !== 'ENUM' || w.backend!.kind !== 'ENUM') continue;
    assert.deepEqual([...w.config!.options].sort(), ['from-file', 'real', 'small']);
    assert.deepEqual([...w.backend!.options], ['onnx', 'tfjs']);
    assert.equal(w.backend!.default, 'onnx');
  }
});

test('LoadKosmosG: the cache counts the model\'s bytes once (the parts share them), before its weights are first used', async () => {
  const out = await run('LoadKosmosG', { backend: 'tfjs', seed: 3, tokenizer: mllmTokenizer });
  const whole = out.kosmos_g.byteSize();
  const params = (out.kosmos_g.model as KosmosG).parts().reduce((n, [, m]) => n + m.parameters().reduce((k, p) => k + p.size, 0), 0);
  assert.equal(whole, params * 4);
  const total = Object.values(out).reduce((n: number, v) => n + valueByteSize(v), 0);
  assert.equal(total, whole);
});

test('granular chain: vision → resample → MLLM → AlignerNet M and N, with shapes at every node', async () => {
  const backend = 'tfjs';
  const { clip_vision } = await run('LoadCLIPVision', { backend, seed: 1 });
  const { connector } = await run('LoadConnector', { backend, seed: 2 });
  const { mllm } = await run('LoadMLLM', { backend, seed: 3, tokenizer: mllmTokenizer });
  assert.equal(mllm.model.config.vocabSize, mllmTokenizer.vocabSize);
  const { aligner } = await run('LoadAligner', { backend, seed: 4, reconstruction: true });
  const { features } = await run('CLIPVisionEncode', { clip_vision, image_1: image });
  assert.deepEqual(features.tensor.shape, [1, 17, 64]);
  const { features: resampled } = await run('Resample', { connector, features });
  assert.deepEqual(resampled.tensor.shape, [64, 64]);
  const { tokens } = await run('KosmosPrompt', { tokenizer: mllmTokenizer, prompt: 'a dog <i> in the jungle', image_1: image });
  assert.equal(tokens.shape[1], 1 + 2 + 66 + 3);
  const { states } = await run('MLLMEncode', { mllm, tokens, features: resampled });
  assert.deepEqual(states.states.shape, [1, 72, 64]);
  const { tokens: neg } = await run('Tokenize', { tokenizer: mllmTokenizer, text: '' });
  const { states: negStates } = await run('MLLMEncode', { mllm, tokens: neg });
  const { conditioning } = await run('AlignerEncode', { aligner, states, negative: negStates });
  assert.deepEqual(conditioning.cond.shape, [1, 77, 32]);
  assert.deepEqual(conditioning.uncond.shape, [1, 77, 32]);
  const { states: rec } = await run('AlignerReconstruct', { aligner, conditioning, states });
  assert.deepEqual(rec.states.shape, [1, 72, 64]);
  await assert.rejects(run('MLLMEncode', { mllm, tokens }), (e: { code: string }) => e.code === 'KOSMOS_IMAGE_COUNT');
  await assert.rejects(run('MLLMEncode', { mllm, tokens, features }), (e: { code: string }) => e.code === 'KOSMOS_FEATURES_STAGE');
  await assert.rejects(run('KosmosPrompt', { tokenizer: mllmTokenizer, prompt: '<i> and <i>', image_1: image }), (e: { code: string }) => e.code === 'PROMPT_IMAGE_COUNT');
});

test('CLIP text: Tokenize pads to 77; CLIPTextEncode → [1, 77, 32] with the negative as uncond', async () => {
  const { clip_text } = await run('LoadCLIPText', { backend: 'tfjs', tokenizer: clipTokenizer });
  const { tokens } = await run('Tokenize', { tokenizer: clipTokenizer, text: 'a red car' });
  assert.deepEqual(tokens.shape, [1, 77]);
  const { tokens: empty } = await run('Tokenize', { tokenizer: clipTokenizer, text: '' });
  const { conditioning } = await run('CLIPTextEncode', { clip_text, tokens, negative: empty });
  assert.deepEqual(conditioning.cond.shape, [1, 77, 32]);
  assert.deepEqual(conditioning.uncond.shape, [1, 77, 32]);
  assert.equal(conditioning.source, 'clip-text');
});

test('KosmosPrompt with the real KOSMOS-G tokenizer reproduces the spec vectors', { skip: needsShared('reference/tokenizers/kosmosg_sentencepiece.bpe.model') }, async () => {
  const { tokenizer } = await run('LoadTokenizer', { path: sharedPath('reference/tokenizers/kosmosg_sentencepiece.bpe.model') });
  const vectors = JSON.parse(readFileSync(sharedPath('reference/vectors.json'), 'utf8'));
  const key = Object.keys(vectors).find((k) => k.startsWith('kosmosg_src_tokens'))!;
  const expand = (ids: (number | string)[]) =>
    ids.flatMap((v) => (typeof v === 'string' && /x\d+$/.test(v) ? Array(Number(v.split('x')[1])).fill(Number(v.split('x')[0])) : [Number(v)]));
  let checked = 0;
  for (const [prompt, ids] of Object.entries(vectors[key] as Record<string, unknown>)) {
    if (!Array.isArray(ids)) continue;
    const images = (prompt.match(/<i>/g) ?? []).length;
    const args: Record<string, unknown> = { tokenizer, prompt };
    for (let i = 0; i < images; i++) args[`image_${i + 1}`] = image;
    const { tokens } = await run('KosmosPrompt', args);
    assert.deepEqual([...tokens.ids], expand(ids as (number | string)[]), prompt);
    assert.equal(tokens.imageMask.reduce((a: number, b: number) => a + b, 0), 64 * images);
    checked++;
  }
  assert.ok(checked >= 4, `only ${checked} vectors found`);
});

test('LoadCLIPText reads a diffusers folder (text_encoder/model.safetensors, position_ids buffer ignored)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kosmos-sd-'));
  try {
    const original = new CLIPTextModel(clipTextSmall(clipTokenizer.vocabSize), new Rng(21));
    const state = original.stateDict();
    state.set('text_model.embeddings.position_ids', hostTensor(Int32Array.from({ length: 77 }, (_, i) => i), [1, 77]));
    mkdirSync(path.join(dir, 'text_encoder'));
    await saveSafetensors(path.join(dir, 'text_encoder', 'model.safetensors'), state);
    const { clip_text } = await run('LoadCLIPText', { path: dir, config: 'small', backend: 'tfjs' });
    const { tokens } = await run('Tokenize', { tokenizer: clipTokenizer, text: 'a red car' });
    const { conditioning } = await run('CLIPTextEncode', { clip_text, tokens });
    const { conditioning: want } = await run('CLIPTextEncode', { clip_text: { model: original, backend: 'tfjs' }, tokens });
    assert.deepEqual([...conditioning.cond.data], [...want.cond.data]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('LoadKosmosG from a saved checkpoint + KosmosGEncode: cond and null condition; onnx and tfjs agree', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kosmos-nodes-'));
  try {
    const file = path.join(dir, 'kg.safetensors');
    await saveKosmosG(file, new KosmosG(kosmosGSmall(mllmTokenizer.vocabSize), 7));
    const tokPath = path.join(dir, 'tokenizer.json');
    saveWordTokenizer(tokPath, mllmTokenizer);
    const { tokenizer } = await run('LoadTokenizer', { path: tokPath });
    const results = [];
    for (const backend of ['onnx', 'tfjs']) {
      const { kosmos_g, mllm } = await run('LoadKosmosG', { path: file, config: 'from-file', backend });
      assert.equal(mllm.model, kosmos_g.model.mllm);
      const { conditioning } = await run('KosmosGEncode', { kosmos_g, tokenizer, prompt: '<i> in the jungle', image_1: image });
      assert.deepEqual(conditioning.cond.shape, [1, 77, 32]);
      assert.deepEqual(conditioning.uncond.shape, [1, 77, 32]);
      results.push(conditioning);
    }
    let diff = 0;
    for (let i = 0; i < results[0].cond.data.length; i++) diff = Math.max(diff, Math.abs(results[0].cond.data[i] - results[1].cond.data[i]));
    assert.ok(diff < 1e-4, `onnx vs tfjs max diff ${diff}`);
    await assert.rejects(run('LoadKosmosG', { path: path.join(dir, 'none.safetensors') }), (e: { code: string }) => e.code === 'WEIGHTS_NOT_FOUND');
    await assert.rejects(run('LoadKosmosG', { path: '', config: 'from-file' }), (e: { code: string }) => e.code === 'MISSING_PATH');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a KosmosGEncode workflow runs through the engine (registry + validation + executor)', async () => {
  const { Registry, Executor, parseWorkflow } = await import('../../engine/index.ts');
  const dir = mkdtempSync(path.join(tmpdir(), 'kosmos-wf-'));
  try {
    const tokPath = path.join(dir, 'tokenizer.json');
    saveWordTokenizer(tokPath, mllmTokenizer);
    const registry = await Registry.load({ builtins: true });
    assert.ok(registry.get('KosmosGEncode'), `kosmos pack not registered: ${JSON.stringify(registry.loadErrors)}`);
    const wf = parseWorkflow({
      format: 'kosmos-g/workflow',
      version: 1,
      nodes: [
        { id: '1', type: 'LoadTokenizer', widgets: { path: tokPath }, pos: [0, 0] },
        { id: '2', type: 'LoadKosmosG', widgets: { config: 'small', backend: 'tfjs', seed: 3 }, inputs: { tokenizer: { node: '1', output: 'tokenizer' } }, pos: [0, 0] },
        {
          id: '3', type: 'KosmosGEncode', widgets: { prompt: 'a red car', negative: '' }, pos: [0, 0],
          inputs: { kosmos_g: { node: '2', output: 'kosmos_g' }, tokenizer: { node: '1', output: 'tokenizer' } },
        },
        { id: '4', type: 'PreviewValue', inputs: { value: { node: '3', output: 'conditioning' } }, pos: [0, 0] },
      ],
    });
    const result = await new Executor(registry).run(wf, { outputDir: dir });
    assert.deepEqual(result.errors, []);
    assert.equal(result.status, 'ok');
    const value = result.outputs['4']!.values!.value as { cond: { shape: number[] }; uncond: { shape: number[] } };
    assert.deepEqual(value.cond.shape, [1, 77, 32]);
    assert.deepEqual(value.uncond.shape, [1, 77, 32]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ConditioningAverage walks from one conditioning to the other, and refuses two shapes with a code', async () => {
  const t = (values: number[], shape: number[]) => hostTensor(Float32Array.from(values), shape);
  const to = { cond: t([1, 2, 3, 4], [1, 2, 2]), uncond: t([0, 0, 0, 0], [1, 2, 2]), source: 'kosmos-g' };
  const from = { cond: t([3, 2, 1, 0], [1, 2, 2]), uncond: t([4, 4, 4, 4], [1, 2, 2]), source: 'clip-text' };
  const at = async (strength: number) => (await run('ConditioningAverage', { conditioning_to: to, conditioning_from: from, strength })).conditioning;
  assert.deepEqual([...(await at(1)).cond.data], [1, 2, 3, 4]);
  assert.deepEqual([...(await at(0)).cond.data], [3, 2, 1, 0]);
  const half = await at(0.25);
  assert.deepEqual([...half.cond.data], [2.5, 2, 1.5, 1]);
  assert.deepEqual([...half.uncond.data], [3, 3, 3, 3]);
  assert.deepEqual(half.cond.shape, [1, 2, 2]);
  // Without both unconditional embeddings, to's stays as it is.
  const noUncond = (await run('ConditioningAverage', { conditioning_to: to, conditioning_from: { cond: from.cond }, strength: 0.5 })).conditioning;
  assert.equal(noUncond.uncond, to.uncond);
  await assert.rejects(
    run('ConditioningAverage', { conditioning_to: to, conditioning_from: { cond: t([1, 2], [1, 1, 2]) }, strength: 0.5 }),
    (e: Error & { code?: string }) => e.code === 'CONDITIONING_SHAPE' && /\[1, 2, 2\] and \[1, 1, 2\]/.test(e.message),
  );
});
