import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Rng } from '../../models/ops/random.ts';
import { MLLM } from '../../models/mllm/mllm.ts';
import { mllmSmall } from '../../models/mllm/config.ts';
import { buildWordTokenizer } from '../../models/tokenizers/word-tokenizer.ts';
import { batchIndices } from '../../models/data/batching.ts';
import { decodeSafetensors } from '../../models/training/safetensors-file.ts';
import { LoadEditTriples, NextBatch, LoadCaptions } from '../../training-nodes/data-nodes.ts';
import { BuildSequences } from '../../training-nodes/sequence-nodes.ts';
import { MixLosses } from '../../training-nodes/mix-node.ts';
import { SaveCheckpoint } from '../../training-nodes/save-checkpoint-node.ts';
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
  const loss = (v: number, name: string) => ({ name, compute: () => ops.tensor(Float32Array.of(v), []) });
  const a = loss(1, 'a'), b = loss(10, 'b');
  const names = new Map<string, number>();
  for (let step = 0; step < 200; step++) {
    const { loss: l } = await exec(MixLosses, { a, b, weights: '1,3', mode: 'sample' }, nodeContext({ step, seed: step * 7919 }));
    names.set(l.name, (names.get(l.name) ?? 0) + 1);
  }
  assert.ok(names.get('mix:b')! > 120 && names.get('mix:b')! < 180, JSON.stringify([...names]));
  const only = await exec(MixLosses, { a, b, weights: '0,1', mode: 'sample' }, nodeContext({ step: 0, seed: 1 }));
  assert.equal(only.loss.name, 'mix:b');
  const { loss: sum } = await exec(MixLosses, { a, b, weights: '2,0.5', mode: 'sum' });
  assert.equal(tf.tidy(() => sum.compute().dataSync()[0]), 7);
  await assert.rejects(exec(MixLosses, { a, b, weights: '1', mode: 'sum' }), (e: Error & { code?: string }) => e.code === 'TRAIN_INPUT');
});

test('SaveCheckpoint writes reference keys that load back into the model', async () => {
  const mllm = new MLLM(mllmSmall(tok.vocabSize), new Rng(4));
  const file = path.join(tempDir(), 'sub', 'mllm.safetensors');
  await exec(SaveCheckpoint, { mllm: { model: mllm }, path: file, after: { dir: '', step: 12, losses: [] } });
  const { tensors, metadata } = decodeSafetensors(readFileSync(file), file);
  assert.equal(metadata.step, '12');
  assert.ok([...tensors.keys()].every((k) => k.startsWith('gpt_model.decoder.')));
  const copy = new MLLM(mllmSmall(tok.vocabSize), new Rng(5));
  copy.loadStateDict(tensors, { prefix: 'gpt_model.decoder.' });
  assert.deepEqual(copy.embed_tokens.weight.data, mllm.embed_tokens.weight.data);
  await assert.rejects(exec(SaveCheckpoint, { path: file }), (e: Error & { code?: string }) => e.code === 'TRAIN_INPUT');
});
