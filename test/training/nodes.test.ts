import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Rng } from '../../models/ops/random.ts';
import { MLLM } from '../../models/mllm/mllm.ts';
import { mllmSmall } from '../../models/mllm/config.ts';
import { buildWordTokenizer } from '../../models/tokenizers/word-tokenizer.ts';
import { batchIndices } from '../../models/data/batching.ts';
import { parseSafetensors } from '../../models/io/safetensors.ts';
import { LoadEditTriples, NextBatch, LoadCaptions, LoadImageCaptions } from '../../training-nodes/data-nodes.ts';
import { CLIPVision } from '../../models/clip/vision-model.ts';
import { CLIP_VISION_SMALL } from '../../models/clip/vision-config.ts';
import { XConnector } from '../../models/connector/connector.ts';
import { CONNECTOR_SMALL } from '../../models/connector/config.ts';
import { parameterGrads } from '../../models/backends/tfjs/index.ts';
import { assertGradientParity } from './backend-parity.ts';
import { BuildSequences } from '../../training-nodes/sequence-nodes.ts';
import { MixLosses } from '../../training-nodes/mix-node.ts';
import { LMLoss } from '../../training-nodes/loss-nodes.ts';
import { SaveCheckpoint } from '../../training-nodes/save-checkpoint-node.ts';
import { mllmFrom, readWeightFile } from '../../models/kosmosg/weights.ts';
import pack from '../../training-nodes/index.ts';
import { checkDefinition } from '../../engine/definition-check.ts';
import { exec, nodeContext } from './node-context.ts';
import { tempDir, writePng } from './fixtures.ts';
import { trainingOps, tf } from './tf.ts';

const tok = buildWordTokenizer(['a cat', 'make it blue', 'one two three four five']);

test('every node of the pack is a sound definition', () => {
  assert.ok(pack.nodes.length >= 17);
  for (const n of pack.nodes) assert.deepEqual(checkDefinition(n, 'training'), []);
  assert.equal(NextBatch.perStep, true);
  assert.equal(pack.nodes.find((n) => n.type === 'TrainLoop')!.inputs.loss!.recompute, true);
});

test('NextBatch takes its rows from the training step; outside a loop it is step 0', async () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'c.jsonl'), ['one', 'two', 'three', 'four', 'five'].map((c) => JSON.stringify({ caption: c })).join('\n'));
  const { dataset } = await exec(LoadCaptions, { path: path.join(dir, 'c.jsonl') });
  const at = async (step?: number) => (await exec(NextBatch, { dataset, batch_size: 2, seed: 9, shuffle: true }, nodeContext(step === undefined ? undefined : { step, seed: 77 }))).batch;
  assert.deepEqual((await at(3)).indices, batchIndices(5, 2, 3, 9).indices);
  assert.equal((await at(3)).seed, 77);
  assert.deepEqual((await at()).indices, batchIndices(5, 2, 0, 9).indices);
});

test('a dataset value reports the memory its rows hold (base64 image cells included) to the cache', async () => {
  const dir = tempDir();
  const png = readFileSync(await writePng(dir, 'red.png', [255, 0, 0])).toString('base64');
  const cell = png.repeat(200); // a large base64 cell, as the reference TSVs hold (only its first bytes are checked)
  writeFileSync(path.join(dir, 'pairs.tsv'), ['a red square', 'another red square'].map((c) => `${c}\t${cell}`).join('\n'));
  const { dataset } = await exec(LoadImageCaptions, { path: path.join(dir, 'pairs.tsv') });
  assert.equal(dataset.dataset.rows.length, 2);
  assert.ok(dataset.byteSize() >= 2 * 2 * cell.length, `${dataset.byteSize()} bytes for two ${cell.length}-character cells`);
});

test('BuildSequences loads spliced and target images, and refuses a mode the dataset cannot feed', async () => {
  const dir = tempDir();
  await writePng(dir, 'in.png', [255, 0, 0]);
  await writePng(dir, 'out.png', [0, 0, 255]);
  writeFileSync(path.join(dir, 'e.jsonl'), JSON.stringify({ input_caption: 'a cat', instruction: 'make it blue', input_image: 'in.png', edited_image: 'out.png' }));
  const { dataset } = await exec(LoadEditTriples, { path: path.join(dir, 'e.jsonl') });
  const { batch } = await exec(NextBatch, { dataset, batch_size: 2, seed: 0, shuffle: false });
  const args = { batch, tokenizer: tok, image_size: 8, null_prob: 0, drop_caption_prob: 0.5, drop_object_prob: 0.5, masked_prob: 0.5 };
  const { sequences } = await exec(BuildSequences, { ...args, mode: 'edit' });
  assert.equal(sequences.images.count, 2);
  assert.equal(sequences.images.data.length, 2 * 3 * 64);
  assert.ok(Math.abs(sequences.images.data[0] - 1) < 0.01, 'input image (red) spliced');
  assert.ok(Math.abs(sequences.targets.data[2 * 64] - 1) < 0.01, 'edited image (blue) is the target');
  assert.equal(sequences.tokens.imageMask.reduce((a: number, b: number) => a + b, 0), 128);
  await assert.rejects(exec(BuildSequences, { ...args, mode: 'compositional' }), (e: Error & { code?: string }) => e.code === 'TRAIN_INPUT' && /compositional/.test(e.message));
});

test('MixLosses: sample follows the weights, sum adds weighted losses', async () => {
  const ops = await trainingOps();
  // Inputs are lazy: each is a function the node calls for the loss it uses.
  const asked = new Map<string, number>();
  const loss = (v: number, name: string) => async () => (asked.set(name, (asked.get(name) ?? 0) + 1), { name, compute: () => ops.tensor(Float32Array.of(v), []) });
  const a = loss(1, 'a'), b = loss(10, 'b');
  const names = new Map<string, number>();
  for (let step = 0; step < 200; step++) {
    const { loss: l } = await exec(MixLosses, { a, b, weights: '1,3', mode: 'sample' }, nodeContext({ step, seed: step * 7919 }));
    names.set(l.name, (names.get(l.name) ?? 0) + 1);
  }
  assert.ok(names.get('mix:b')! > 120 && names.get('mix:b')! < 180, JSON.stringify([...names]));
  // 'sample' asks only for the loss it drew.
  assert.deepEqual([asked.get('a'), asked.get('b')], [names.get('mix:a'), names.get('mix:b')]);
  const only = await exec(MixLosses, { a, b, weights: '0,1', mode: 'sample' }, nodeContext({ step: 0, seed: 1 }));
  assert.equal(only.loss.name, 'mix:b');
  const { loss: sum } = await exec(MixLosses, { a, b, weights: '2,0.5', mode: 'sum' });
  assert.equal(tf.tidy(() => sum.compute(ops).dataSync()[0]), 7);
  await assert.rejects(exec(MixLosses, { a, b, weights: '1', mode: 'sum' }), (e: Error & { code?: string }) => e.code === 'TRAIN_INPUT');
});

test('SaveCheckpoint writes reference keys that load back into the model', async () => {
  const mllm = new MLLM(mllmSmall(tok.vocabSize), new Rng(4));
  const file = path.join(tempDir(), 'sub', 'mllm.safetensors');
  await exec(SaveCheckpoint, { mllm: { model: mllm }, path: file, after: { dir: '', step: 12, losses: [] } });
  const { tensors, metadata } = parseSafetensors(readFileSync(file), file);
  assert.equal(metadata.step, '12');
  assert.ok([...tensors.keys()].every((k) => k.startsWith('gpt_model.decoder.')));
  const copy = new MLLM(mllmSmall(tok.vocabSize), new Rng(5));
  copy.loadStateDict(tensors, { prefix: 'gpt_model.decoder.' });
  assert.deepEqual(copy.embed_tokens.weight.data, mllm.embed_tokens.weight.data);
  await assert.rejects(exec(SaveCheckpoint, { path: file }), (e: Error & { code?: string }) => e.code === 'TRAIN_INPUT');
});

test("SaveCheckpoint stores the parts' configs, so 'from-file' reloads a non-preset size exactly", async () => {
  const config = { ...mllmSmall(tok.vocabSize), layers: 1, heads: 2, ffnDim: 48 };
  const mllm = new MLLM(config, new Rng(6));
  const connector = new XConnector(CONNECTOR_SMALL, new Rng(7));
  const file = path.join(tempDir(), 'parts.safetensors');
  await exec(SaveCheckpoint, { mllm: { model: mllm }, connector: { model: connector }, path: file });
  const saved = await readWeightFile(file);
  assert.deepEqual(saved.configs, { mllm: config, connector: CONNECTOR_SMALL });
  const back = mllmFrom(saved, 'from-file');
  assert.deepEqual(back.config, config);
  assert.deepEqual(back.embed_tokens.weight.data, mllm.embed_tokens.weight.data);
});

test('TrainLoop: train_only freezes the rest for the run and restores the flags; metrics stream as progress', async () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'c.jsonl'), ['a cat', 'make it blue', 'one two three'].map((c) => JSON.stringify({ caption: c })).join('\n'));
  const { dataset } = await exec(LoadCaptions, { path: path.join(dir, 'c.jsonl') });
  const mllm = new MLLM({ ...mllmSmall(tok.vocabSize), layers: 2, embedDim: 32, ffnDim: 64 }, new Rng(1));
  const before = mllm.namedParameters().map(([k, p]) => [k, Float32Array.from(p.data)] as const);
  const loss = async (step: { step: number; seed: number }) => {
    const { batch } = await exec(NextBatch, { dataset, batch_size: 2, seed: 0, shuffle: true }, nodeContext(step));
    const { sequences } = await exec(BuildSequences, { batch, tokenizer: tok, mode: 'caption-lm', image_size: 8, null_prob: 0, drop_caption_prob: 0.5, drop_object_prob: 0.5, masked_prob: 0.5 });
    return (await exec(LMLoss, { mllm: { model: mllm }, sequences })).loss;
  };
  const progress: { metrics?: Record<string, number> }[] = [];
  const train = pack.nodes.find((n) => n.type === 'TrainLoop')!;
  const widgets = Object.fromEntries(Object.entries(train.widgets).map(([k, w]) => [k, w.default]));
  const out = await exec(train, {
    ...widgets, steps: 3, lr: 0.01, checkpoint: path.join(dir, 'ck'), train_only: 'gpt_model.decoder.layers.1.',
    loss, mllm: { model: mllm },
  }, nodeContext(undefined, progress as never));
  assert.equal(out.checkpoint.step, 3);
  assert.equal(progress.length, 3);
  assert.deepEqual(Object.keys(progress[0]!.metrics!).sort(), ['grad_norm', 'loss', 'lr', 'steps_per_s']);
  for (const [key, old] of before) {
    const now = mllm.namedParameters().find(([k]) => k === key)![1].data;
    if (key.startsWith('layers.1.')) continue;
    assert.deepEqual(now, old, `${key} is outside train_only and must not change`);
  }
  assert.ok(before.some(([k, old]) => k.startsWith('layers.1.') && !mllm.namedParameters().find(([x]) => x === k)![1].data.every((v, i) => v === old[i])));
  assert.ok(mllm.parameters().every((p) => p.trainable), 'flags restored after the run');
});

test('LMLoss on image–caption sequences splices CLIP vision + connector features; their gradients flow', async () => {
  const dir = tempDir();
  await writePng(dir, 'a.png', [200, 30, 30]);
  writeFileSync(path.join(dir, 'p.jsonl'), JSON.stringify({ image: 'a.png', caption: 'a cat' }));
  const { dataset } = await exec(LoadImageCaptions, { path: path.join(dir, 'p.jsonl') });
  const { batch } = await exec(NextBatch, { dataset, batch_size: 1, seed: 0, shuffle: false });
  const { sequences } = await exec(BuildSequences, { batch, tokenizer: tok, mode: 'image-caption-lm', image_size: 16, null_prob: 0, drop_caption_prob: 0.5, drop_object_prob: 0.5, masked_prob: 0.5 });
  const rng = new Rng(2);
  const mllm = new MLLM(mllmSmall(tok.vocabSize), rng);
  const vision = new CLIPVision({ ...CLIP_VISION_SMALL, layers: 1 }, rng);
  const connector = new XConnector(CONNECTOR_SMALL, rng);
  await assert.rejects(exec(LMLoss, { mllm: { model: mllm }, sequences }).then(async (r) => r.loss.compute(await trainingOps())), (e: Error & { code?: string }) => e.code === 'TRAIN_INPUT');
  const { loss } = await exec(LMLoss, { mllm: { model: mllm }, clip_vision: { model: vision }, connector: { model: connector }, sequences });
  const ops = await trainingOps();
  const g = parameterGrads(ops, connector.parameters(), () => loss.compute(ops));
  assert.ok(Number.isFinite(g.loss) && g.loss > 0);
  assert.ok([...g.grads.values()].some((a) => a.some((v) => v !== 0)), 'the connector receives gradients through the spliced features');
  // Stage 1 on ONNX Runtime: the MLLM, the connector and CLIP vision get tfjs autograd's gradients.
  await assertGradientParity([...mllm.parameters(), ...connector.parameters(), ...vision.parameters()], loss.compute, 'stage 1 (LMLoss)');
});

test('BuildSequences pad_length_to / pad_images_to: lengths and image counts rounded up, the loss unchanged (pads masked, blank images never spliced)', async () => {
  const dir = tempDir();
  await writePng(dir, 'a.png', [200, 30, 30]);
  await writePng(dir, 'b.png', [30, 30, 200]);
  writeFileSync(path.join(dir, 'p.jsonl'), [JSON.stringify({ image: 'a.png', caption: 'a cat' }), JSON.stringify({ image: 'b.png', caption: 'a red cat on a dog' })].join('\n'));
  const { dataset } = await exec(LoadImageCaptions, { path: path.join(dir, 'p.jsonl') });
  const { batch } = await exec(NextBatch, { dataset, batch_size: 2, seed: 0, shuffle: false });
  const build = async (extra: Record<string, number>) =>
    (await exec(BuildSequences, { batch, tokenizer: tok, mode: 'image-caption-lm', image_size: 16, null_prob: 0, drop_caption_prob: 0.5, drop_object_prob: 0.5, masked_prob: 0.5, ...extra })).sequences;
  const plain = await build({});
  const padded = await build({ pad_length_to: 16, pad_images_to: 4 });
  assert.equal(padded.tokens.length % 16, 0);
  assert.ok(padded.tokens.length > plain.tokens.length);
  assert.equal(plain.images!.count, 2);
  assert.equal(padded.images!.count, 4);
  const rng = new Rng(2);
  const mllm = new MLLM(mllmSmall(tok.vocabSize), rng);
  const vision = new CLIPVision({ ...CLIP_VISION_SMALL, layers: 1 }, rng);
  const connector = new XConnector(CONNECTOR_SMALL, rng);
  const ops = await trainingOps();
  const lossOf = async (sequences: typeof plain) => {
    const { loss } = await exec(LMLoss, { mllm: { model: mllm }, clip_vision: { model: vision }, connector: { model: connector }, sequences });
    return tf.tidy(() => loss.compute(ops).dataSync()[0]!);
  };
  const [a, b] = [await lossOf(plain), await lossOf(padded)];
  assert.ok(Math.abs(a - b) <= 1e-5 * Math.abs(a), `padded ${b} vs plain ${a}`);
});
