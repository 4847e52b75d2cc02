// The KOSMOS-G stages and base-model losses through the training nodes, on the real small models and tiny image
// data: on every stage, ONNX Runtime (forward + backward as one graph) gives tfjs autograd's loss and gradients to
// 1e-4; each loss, evaluated on a fixed step (same batch, same noise), is lower after a short training run on ONNX
// Runtime, and the models outside the trained set are bit-identical.
import test from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Rng } from '../../models/ops/random.ts';
import type { Module } from '../../models/nn/module.ts';
import { buildWordTokenizer } from '../../models/tokenizers/word-tokenizer.ts';
import { MLLM } from '../../models/mllm/mllm.ts';
import { mllmSmall } from '../../models/mllm/config.ts';
import { AlignerNet } from '../../models/aligner/aligner.ts';
import { ALIGNER_SMALL } from '../../models/aligner/config.ts';
import { CLIPTextModel } from '../../models/clip/text-model.ts';
import { clipTextSmall } from '../../models/clip/text-config.ts';
import { CLIPVision } from '../../models/clip/vision-model.ts';
import { CLIP_VISION_SMALL } from '../../models/clip/vision-config.ts';
import { XConnector } from '../../models/connector/connector.ts';
import { CONNECTOR_SMALL } from '../../models/connector/config.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { SMALL_UNET_CONFIG } from '../../models/unet/config.ts';
import { AutoencoderKL } from '../../models/vae/autoencoder.ts';
import { SMALL_VAE_CONFIG } from '../../models/vae/config.ts';
import { trainingBackend } from '../../models/training/backends.ts';
import { assertGradientParity } from './backend-parity.ts';
import { train, stepSeed, type TrainConfig } from '../../models/training/loop.ts';
import type { TrainedModel } from '../../models/training/trained-models.ts';
import { LoadCompositional, LoadEditTriples, LoadImageCaptions, LoadCaptions, NextBatch } from '../../training-nodes/data-nodes.ts';
import { BuildSequences } from '../../training-nodes/sequence-nodes.ts';
import { ClipTextCondition, KosmosGCondition } from '../../training-nodes/condition-nodes.ts';
import { AlignerLoss, ConditionAlignLoss, ContrastiveLoss, DiffusionLoss, VAELoss } from '../../training-nodes/loss-nodes.ts';
import type { LossValue } from '../../training-nodes/types.ts';
import { CLIPHeads } from '../../models/training/clip-heads.ts';
import { exec, nodeContext } from './node-context.ts';
import { tempDir, writePng } from './fixtures.ts';
import { trainingOps, tf } from './tf.ts';

const CAPTIONS = ['a red square on a blue field', 'a dog on a sofa', 'a green circle', 'a cat near a dog'];
const mllmTok = buildWordTokenizer([...CAPTIONS, 'make it blue', 'turn the square green']);
const clipTok = buildWordTokenizer(CAPTIONS, { kind: 'word-clip' });
const wrap = <M>(model: M) => ({ model, backend: 'tfjs', source: 'test', byteSize: () => 0 });

async function imageData() {
  const dir = tempDir();
  const colours: [number, number, number][] = [[220, 30, 30], [30, 30, 220], [30, 200, 30], [240, 240, 240], [200, 200, 40]];
  for (const [i, c] of colours.entries()) await writePng(dir, `im${i}.png`, c);
  writeFileSync(path.join(dir, 'pairs.jsonl'), CAPTIONS.map((c, i) => JSON.stringify({ image: `im${i}.png`, caption: c })).join('\n'));
  writeFileSync(path.join(dir, 'comp.jsonl'), [
    { caption: 'a dog on a sofa', image: 'im0.png', entities: [{ tag: 'dog', crop: 'im1.png', masked: 'im3.png' }, { tag: 'sofa', crop: 'im2.png', masked: 'im3.png' }] },
    { caption: 'a cat near a dog', image: 'im4.png', entities: [{ tag: 'cat', crop: 'im2.png', masked: 'im3.png' }] },
    { caption: 'a square on a blue field', meaning: 'a red square on a blue field', image: 'im0.png', entities: [{ tag: 'square', crop: 'im0.png', masked: 'im0.png' }] },
  ].map((r) => JSON.stringify(r)).join('\n'));
  writeFileSync(path.join(dir, 'edit.jsonl'), JSON.stringify({ input_caption: 'a red square', instruction: 'make it blue', input_image: 'im0.png', edited_image: 'im1.png' }));
  writeFileSync(path.join(dir, 'captions.jsonl'), CAPTIONS.map((c) => JSON.stringify({ caption: c })).join('\n'));
  return dir;
}

const cfg = (steps: number, lr: number): TrainConfig => ({
  steps, accumulate: 1, clip: 1, seed: 11, checkpointEvery: 0,
  optimizer: { betas: [0.9, 0.98], eps: 1e-6, weightDecay: 0 },
  schedule: { lr, warmup: 0, decay: 'constant' },
});

/**
 * Check ONNX Runtime's gradients against tfjs autograd's on the first step, train `models` on `lossAt` on ONNX
 * Runtime, and return the loss at a fixed step before and after.
 */
async function trainAndCompare(models: TrainedModel[], lossAt: (step: number, seed: number) => Promise<LossValue>, steps: number, lr: number) {
  const ops = await trainingOps();
  const value = async (step: number) => { const l = await lossAt(step, stepSeed(11, step)); return tf.tidy(() => l.compute(ops).dataSync()[0]!); };
  const params = models.flatMap((m) => m.module.parameters()).filter((p) => p.trainable);
  await assertGradientParity(params, (await lossAt(0, stepSeed(11, 0))).compute, models.map((m) => m.name).join(' + '));
  const before = await value(0);
  const onnx = await trainingBackend('onnx', 'cpu');
  const r = await train<LossValue>({
    models, config: cfg(steps, lr), loss: (s) => lossAt(s.step, s.seed),
    gradients: (ps, l) => onnx.gradients(ps, l.compute),
  });
  assert.ok(r.losses.every(Number.isFinite));
  return { before, after: await value(0) };
}

const snapshot = (m: Module) => m.parameters().map((p) => Float32Array.from(p.data));
const unchanged = (m: Module, snap: Float32Array[]) => m.parameters().every((p, i) => p.data.every((v, j) => v === snap[i]![j]));

test('stage 2: AlignerNet loss falls; the frozen MLLM and CLIP text encoder are bit-identical', async () => {
  const dir = await imageData();
  const rng = new Rng(1);
  const mllm = new MLLM({ ...mllmSmall(mllmTok.vocabSize), layers: 1 }, rng);
  const aligner = new AlignerNet({ ...ALIGNER_SMALL, layers: 1, maxPositions: 64 }, rng, { reconstruction: true });
  const clip = new CLIPTextModel({ ...clipTextSmall(clipTok.vocabSize), layers: 1 }, rng);
  const frozen = [snapshot(mllm), snapshot(clip)];
  const { dataset } = await exec(LoadCaptions, { path: path.join(dir, 'captions.jsonl') });
  const lossAt = async (step: number, seed: number) => {
    const { batch } = await exec(NextBatch, { dataset, batch_size: 2, seed: 0, shuffle: true }, nodeContext({ step, seed }));
    const { sequences } = await exec(BuildSequences, { batch, tokenizer: mllmTok, mode: 'text-condition', image_size: 32, null_prob: 0, drop_caption_prob: 0.5, drop_object_prob: 0.5, masked_prob: 0.5 });
    return (await exec(AlignerLoss, { mllm: wrap(mllm), aligner: wrap(aligner), clip_text: wrap(clip), clip_tokenizer: clipTok, sequences })).loss as LossValue;
  };
  const { before, after } = await trainAndCompare([{ name: 'aligner', module: aligner, prefix: 'aligner.' }], lossAt, 15, 3e-3);
  assert.ok(after < 0.8 * before, `aligner loss ${before} → ${after}`);
  assert.ok(unchanged(mllm, frozen[0]!) && unchanged(clip, frozen[1]!));
});

test('stage 3: compositional and edit sequences through MLLM + AlignerNet-M and the frozen U-Net and VAE', async () => {
  const dir = await imageData();
  const rng = new Rng(2);
  const vision = new CLIPVision({ ...CLIP_VISION_SMALL, layers: 1 }, rng);
  const connector = new XConnector(CONNECTOR_SMALL, rng);
  const mllm = new MLLM({ ...mllmSmall(mllmTok.vocabSize), layers: 1 }, rng);
  const aligner = new AlignerNet({ ...ALIGNER_SMALL, layers: 1, maxPositions: 512 }, rng);
  const unet = new UNet2DConditionModel(SMALL_UNET_CONFIG, 3);
  const vae = new AutoencoderKL(SMALL_VAE_CONFIG, 4);
  const frozen = [snapshot(unet), snapshot(vae), snapshot(vision)];
  const comp = (await exec(LoadCompositional, { path: path.join(dir, 'comp.jsonl') })).dataset;
  const edit = (await exec(LoadEditTriples, { path: path.join(dir, 'edit.jsonl') })).dataset;
  const lossAt = async (step: number, seed: number) => {
    // Each step samples one dataset, as the reference's data mix does.
    const [dataset, mode] = step % 2 === 0 ? [comp, 'compositional'] : [edit, 'edit'];
    const { batch } = await exec(NextBatch, { dataset, batch_size: 2, seed: 0, shuffle: true }, nodeContext({ step, seed }));
    const { sequences } = await exec(BuildSequences, { batch, tokenizer: mllmTok, mode, image_size: 16, null_prob: 0.1, drop_caption_prob: 0.5, drop_object_prob: 0.5, masked_prob: 0.5 });
    assert.ok(sequences.images && sequences.targets);
    const { condition } = await exec(KosmosGCondition, { mllm: wrap(mllm), aligner: wrap(aligner), clip_vision: wrap(vision), connector: wrap(connector), sequences });
    return (await exec(DiffusionLoss, { unet: wrap(unet), vae: wrap(vae), condition })).loss as LossValue;
  };
  const models: TrainedModel[] = [
    { name: 'mllm', module: mllm, prefix: 'gpt_model.decoder.' },
    { name: 'aligner', module: aligner, prefix: 'aligner.' },
    { name: 'connector', module: connector, prefix: 'img_connector.' },
  ];
  const { before, after } = await trainAndCompare(models, lossAt, 5, 3e-3);
  assert.ok(after < before, `diffusion loss at a fixed step ${before} → ${after}`);
  frozen.forEach((snap, i) => assert.ok(unchanged([unet, vae, vision][i]!, snap), `frozen model ${i} changed`));
});

test('stage 3 image alignment: the condition of compositional prompts is aligned to the CLIP text of what they mean', async () => {
  const dir = await imageData();
  const rng = new Rng(5);
  const vision = new CLIPVision({ ...CLIP_VISION_SMALL, layers: 1 }, rng);
  const connector = new XConnector(CONNECTOR_SMALL, rng);
  const mllm = new MLLM({ ...mllmSmall(mllmTok.vocabSize), layers: 1 }, rng);
  const clip = new CLIPTextModel({ ...clipTextSmall(clipTok.vocabSize), layers: 1, maxPositions: 16 }, rng);
  const aligner = new AlignerNet({ ...ALIGNER_SMALL, layers: 1, maxPositions: 512, queries: 16 }, rng);
  const frozen = snapshot(clip);
  const comp = (await exec(LoadCompositional, { path: path.join(dir, 'comp.jsonl') })).dataset;
  // A colour-free row's batch caption is what it means (its `meaning`), not its own caption.
  const { batch: all } = await exec(NextBatch, { dataset: comp, batch_size: 3, seed: 0, shuffle: false }, nodeContext({ step: 0, seed: 1 }));
  const { sequences: seqs } = await exec(BuildSequences, { batch: all, tokenizer: mllmTok, mode: 'compositional', image_size: 16, null_prob: 0, drop_caption_prob: 0.5, drop_object_prob: 0.5, masked_prob: 0.5 });
  assert.deepEqual([...seqs.captions].sort(), ['a cat near a dog', 'a dog on a sofa', 'a red square on a blue field']);
  const lossAt = async (step: number, seed: number) => {
    const { batch } = await exec(NextBatch, { dataset: comp, batch_size: 2, seed: 0, shuffle: true }, nodeContext({ step, seed }));
    const { sequences } = await exec(BuildSequences, { batch, tokenizer: mllmTok, mode: 'compositional', image_size: 16, null_prob: 0, drop_caption_prob: 0.5, drop_object_prob: 0.5, masked_prob: 0.5 });
    const { condition } = await exec(KosmosGCondition, { mllm: wrap(mllm), aligner: wrap(aligner), clip_vision: wrap(vision), connector: wrap(connector), sequences });
    return (await exec(ConditionAlignLoss, { condition, clip_text: wrap(clip), clip_tokenizer: clipTok })).loss as LossValue;
  };
  const models: TrainedModel[] = [
    { name: 'mllm', module: mllm, prefix: 'gpt_model.decoder.' },
    { name: 'aligner', module: aligner, prefix: 'aligner.' },
    { name: 'connector', module: connector, prefix: 'img_connector.' },
  ];
  const { before, after } = await trainAndCompare(models, lossAt, 15, 3e-3);
  assert.ok(after < 0.8 * before, `alignment loss at a fixed step ${before} → ${after}`);
  assert.ok(unchanged(clip, frozen), 'the CLIP text encoder is frozen');
  // A condition of the wrong length is an error that says so.
  const short = new AlignerNet({ ...ALIGNER_SMALL, layers: 1, maxPositions: 512, queries: 8 }, rng);
  const { batch } = await exec(NextBatch, { dataset: comp, batch_size: 2, seed: 0, shuffle: true }, nodeContext({ step: 0, seed: 1 }));
  const { sequences } = await exec(BuildSequences, { batch, tokenizer: mllmTok, mode: 'compositional', image_size: 16, null_prob: 0, drop_caption_prob: 0.5, drop_object_prob: 0.5, masked_prob: 0.5 });
  const { condition } = await exec(KosmosGCondition, { mllm: wrap(mllm), aligner: wrap(short), clip_vision: wrap(vision), connector: wrap(connector), sequences });
  const bad = (await exec(ConditionAlignLoss, { condition, clip_text: wrap(clip), clip_tokenizer: clipTok })).loss as LossValue;
  const ops = await trainingOps();
  assert.throws(() => tf.tidy(() => bad.compute(ops)), /ConditionAlignLoss: the condition is \[8, 32\]/);
});

test('base models: CLIP contrastive, VAE reconstruction + KL, and text-to-image U-Net losses fall', async () => {
  const dir = await imageData();
  const rng = new Rng(3);
  const { dataset } = await exec(LoadImageCaptions, { path: path.join(dir, 'pairs.jsonl') });
  const seqAt = async (step: number, seed: number, tokenizer: unknown, size = 32) => {
    const { batch } = await exec(NextBatch, { dataset, batch_size: 4, seed: 0, shuffle: true }, nodeContext({ step, seed }));
    return (await exec(BuildSequences, { batch, tokenizer, mode: 'image-text', image_size: size, null_prob: 0, drop_caption_prob: 0.5, drop_object_prob: 0.5, masked_prob: 0.5 })).sequences;
  };
  // CLIP: the small towers' widths differ (64 vs 32), so the heads project both to 32 and learn the logit scale.
  const vision = new CLIPVision({ ...CLIP_VISION_SMALL, layers: 1 }, rng);
  const text = new CLIPTextModel({ ...clipTextSmall(clipTok.vocabSize), layers: 1 }, rng);
  const heads = new CLIPHeads(64, 32, 32, 1);
  const sequences0 = await seqAt(0, 0, clipTok);
  await assert.rejects(exec(ContrastiveLoss, { clip_vision: wrap(vision), clip_text: wrap(text), tokenizer: clipTok, sequences: sequences0, logit_scale: 1 }),
    (e: Error & { code?: string }) => e.code === 'TRAIN_INPUT' && /clip_heads/.test(e.message));
  const scale0 = heads.logit_scale.data[0]!;
  const clip = await trainAndCompare(
    [{ name: 'clip_vision', module: vision, prefix: 'img_model.' }, { name: 'clip_text', module: text, prefix: '' }, { name: 'clip_heads', module: heads, prefix: '' }],
    async (s, seed) => (await exec(ContrastiveLoss, { clip_vision: wrap(vision), clip_text: wrap(text), clip_heads: wrap(heads), tokenizer: clipTok, sequences: await seqAt(s, seed, clipTok), logit_scale: 1 })).loss,
    10, 3e-3,
  );
  assert.notEqual(heads.logit_scale.data[0], scale0);
  assert.ok(clip.after < clip.before, `contrastive ${clip.before} → ${clip.after}`);
  // Hard negatives: captions with one word of a group swapped ('square' ↔ 'circle', 'dog' ↔ 'cat') join the image →
  // text logits, so the same batch scores a higher loss; a malformed group is refused with a code.
  const clipInputs = { clip_vision: wrap(vision), clip_text: wrap(text), clip_heads: wrap(heads), tokenizer: clipTok, sequences: sequences0, logit_scale: 1 };
  const lossOf = async (groups: string) => (await exec(ContrastiveLoss, { ...clipInputs, hard_negatives: groups })).loss as LossValue;
  const tfOps = await trainingOps();
  const valueOf = (loss: LossValue) => tf.tidy(() => loss.compute(tfOps).dataSync()[0]!);
  const plainLoss = valueOf(await lossOf(''));
  const negLoss = valueOf(await lossOf('square,circle;dog,cat'));
  assert.ok(negLoss > plainLoss, `with hard negatives ${negLoss} vs ${plainLoss}`);
  await assert.rejects(lossOf('square'), (e: Error & { code?: string }) => e.code === 'TRAIN_CONFIG' && /hard_negatives/.test(e.message));

  const vae = new AutoencoderKL(SMALL_VAE_CONFIG, 5);
  const v = await trainAndCompare([{ name: 'vae', module: vae, prefix: '' }],
    async (s, seed) => (await exec(VAELoss, { vae: wrap(vae), sequences: await seqAt(s, seed, clipTok, 16), reconstruction: 'mse', kl_weight: 1e-6 })).loss,
    4, 3e-3);
  assert.ok(v.after < v.before, `vae ${v.before} → ${v.after}`);

  const unet = new UNet2DConditionModel(SMALL_UNET_CONFIG, 6);
  const frozenVae = snapshot(vae), frozenText = snapshot(text);
  const t2i = await trainAndCompare([{ name: 'unet', module: unet, prefix: '' }], async (s, seed) => {
    const sequences = await seqAt(s, seed, clipTok, 16);
    const { condition } = await exec(ClipTextCondition, { clip_text: wrap(text), tokenizer: clipTok, sequences });
    return (await exec(DiffusionLoss, { unet: wrap(unet), vae: wrap(vae), condition })).loss;
  }, 4, 3e-3);
  assert.ok(t2i.after < t2i.before, `t2i ${t2i.before} → ${t2i.after}`);
  assert.ok(unchanged(vae, frozenVae) && unchanged(text, frozenText));

  // offset_noise reaches the noise: 0 is the plain loss exactly, 0.5 a different one on the same batch.
  const { condition } = await exec(ClipTextCondition, { clip_text: wrap(text), tokenizer: clipTok, sequences: await seqAt(0, 0, clipTok, 16) });
  const lossWith = async (widgets: Record<string, number>) => {
    const loss = (await exec(DiffusionLoss, { unet: wrap(unet), vae: wrap(vae), condition, ...widgets })).loss as LossValue;
    return tf.tidy(() => loss.compute(tfOps).dataSync()[0]!);
  };
  const plain = await lossWith({});
  assert.equal(await lossWith({ offset_noise: 0 }), plain);
  assert.notEqual(await lossWith({ offset_noise: 0.5 }), plain);
});
