// Small-config forward passes on the tfjs backend: shapes through every module and hand-checked facts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getRunner } from '../../models/runtime/runners.ts';
import type { ForwardFn } from '../../models/runtime/runner.ts';
import { hostTensor } from '../../models/ops/ops.ts';
import { Rng } from '../../models/ops/random.ts';
import { CLIPTextModel } from '../../models/clip/text-model.ts';
import { CLIP_TEXT_SMALL } from '../../models/clip/text-config.ts';
import { CLIPVision } from '../../models/clip/vision-model.ts';
import { CLIP_VISION_SMALL } from '../../models/clip/vision-config.ts';
import { preprocessForCLIP } from '../../models/clip/vision-preprocess.ts';
import { XConnector } from '../../models/connector/connector.ts';
import { CONNECTOR_SMALL } from '../../models/connector/config.ts';
import { MLLM, mllmHostInputs } from '../../models/mllm/mllm.ts';
import { MLLM_SMALL } from '../../models/mllm/config.ts';
import { makePositions, sinusoidRow } from '../../models/mllm/sinusoid.ts';
import { magnetoGain } from '../../models/mllm/magneto.ts';
import { AlignerNet, alignerPadMask, alignerPositionIds } from '../../models/aligner/aligner.ts';
import { ALIGNER_SMALL } from '../../models/aligner/config.ts';
import { imageValue } from '../../models/image.ts';
import { maxAbsDiff, randomImage, row } from './helpers.ts';

const runner = await getRunner('tfjs');

test('fairseq positions start at 2 and pads get 1', () => {
  assert.deepEqual([...makePositions(Int32Array.from([0, 7, 8, 1, 1, 0, 1, 1]), 2, 4, 1)], [2, 3, 4, 1, 1, 2, 1, 1]);
});

test('MLLM sinusoid rows: sines then cosines, position 1 zero, computed in the graph', async () => {
  const mllm = new MLLM(MLLM_SMALL, new Rng(1));
  const d = MLLM_SMALL.embedDim;
  const inputs = mllmHostInputs(Int32Array.from([0, 5, 1]), 1, 3, 1);
  const forward: ForwardFn = (ops, [p, n]) => [mllm.positionalEmbedding(ops, p!, n!)];
  const [pe] = await runner.run(mllm, 'sinusoid', forward, [inputs.positions, inputs.notPad]);
  assert.deepEqual(pe!.shape, [1, 3, d]);
  const r2 = row(pe!, 0, 0);
  // Hand value: row 2, index 0 = sin(2·1), index d/2 = cos(2·1); the last frequency is 1/10000.
  assert.ok(Math.abs(r2[0]! - Math.sin(2)) < 1e-6);
  assert.ok(Math.abs(r2[d / 2]! - Math.cos(2)) < 1e-6);
  assert.ok(Math.abs(r2[d / 2 - 1]! - Math.sin(2 / 10000)) < 1e-6);
  for (const [t, p] of [[0, 2], [1, 3]] as const) {
    const want = sinusoidRow(p, d);
    const got = row(pe!, 0, t);
    for (let i = 0; i < d; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-5, `pos ${p} [${i}]`);
  }
  assert.ok(row(pe!, 0, 2).every((v) => v === 0), 'the pad row is zero');
});

test('MLLM: shapes, causality, tied LM head, and splicing = overwriting the slot embeddings', async () => {
  const mllm = new MLLM(MLLM_SMALL, new Rng(2));
  const d = MLLM_SMALL.embedDim;
  const tokens = Int32Array.from([0, 10, 11, 300, 300, 300, 12, 13]);
  const mask = [0, 0, 0, 0, 1, 1, 0, 0];
  const hostIn = mllmHostInputs(tokens, 1, 8, 1, mask);
  assert.equal(hostIn.imageSlots, 2);
  const textFwd: ForwardFn = (ops, [t, p, n]) => [mllm.forward(ops, t!, p!, n!)];
  const imgFwd: ForwardFn = (ops, [t, p, n, f, s]) => [mllm.forward(ops, t!, p!, n!, { features: f!, spliceIndex: s! })];
  const [text] = await runner.run(mllm, 'text', textFwd, [hostIn.tokens, hostIn.positions, hostIn.notPad]);
  assert.deepEqual(text!.shape, [1, 8, d]);

  // Features equal to the embedding rows of the slot tokens: splicing must change nothing.
  const e300 = mllm.embed_tokens.weight.data.slice(300 * d, 301 * d);
  const same = hostTensor(new Float32Array([...e300, ...e300]), [2, d]);
  const [spliced] = await runner.run(mllm, 'img', imgFwd, [hostIn.tokens, hostIn.positions, hostIn.notPad, same, hostIn.spliceIndex!]);
  assert.ok(maxAbsDiff(spliced!, text!) < 1e-5);

  // Other features: positions before the first slot are unchanged (causal), the slots and after change.
  const other = hostTensor(new Float32Array(2 * d).fill(0.5), [2, d]);
  const [changed] = await runner.run(mllm, 'img', imgFwd, [hostIn.tokens, hostIn.positions, hostIn.notPad, other, hostIn.spliceIndex!]);
  for (let t = 0; t < 4; t++) assert.deepEqual([...row(changed!, 0, t)].map((v) => v.toFixed(4)), [...row(text!, 0, t)].map((v) => v.toFixed(4)));
  for (const t of [4, 5, 7]) assert.ok(maxAbsDiff(hostTensor(row(changed!, 0, t), [d]), hostTensor(row(text!, 0, t), [d])) > 1e-3);

  // Tied output projection: logits[v] = h · E[v].
  const logitFwd: ForwardFn = (ops, [h]) => [mllm.logits(ops, h!)];
  const [logits] = await runner.run(mllm, 'logits', logitFwd, [text!]);
  assert.deepEqual(logits!.shape, [1, 8, MLLM_SMALL.vocabSize]);
  const h = row(text!, 0, 3);
  for (const v of [0, 17, MLLM_SMALL.vocabSize - 1]) {
    let dot = 0;
    for (let i = 0; i < d; i++) dot += h[i]! * mllm.embed_tokens.weight.data[v * d + i]!;
    assert.ok(Math.abs(logits!.data[3 * MLLM_SMALL.vocabSize + v]! - dot) < 1e-4);
  }
});

test('MAGNETO init gains scale fc1/fc2/out_proj/v_proj only (not q/k, not cross-attention)', () => {
  const mllm = new MLLM(MLLM_SMALL, new Rng(3));
  const g = magnetoGain.decoderOnly(MLLM_SMALL.layers);
  assert.ok(Math.abs(magnetoGain.decoderOnly(24) - 1.96754) < 1e-5);
  assert.ok(Math.abs(magnetoGain.encDecEncoder(12, 12) - 1.94839) < 1e-5);
  assert.ok(Math.abs(magnetoGain.encDecDecoder(12) - 1.89302) < 1e-5);
  assert.ok(Math.abs(magnetoGain.encoderOnly(12) - 1.78271) < 1e-5);
  const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const bound = 1 / Math.sqrt(MLLM_SMALL.embedDim);
  const l0 = mllm.layers[0]!;
  assert.ok(maxAbs(l0.self_attn.q_proj.weight.data) <= bound);
  assert.ok(maxAbs(l0.self_attn.v_proj.weight.data) > bound && maxAbs(l0.self_attn.v_proj.weight.data) <= g * bound);
  assert.ok(maxAbs(l0.ffn.fc1.weight.data) > bound);
  const al = new AlignerNet(ALIGNER_SMALL, new Rng(3));
  const ab = 1 / Math.sqrt(ALIGNER_SMALL.dim);
  assert.ok(maxAbs(al.encoder.layers[0]!.encoder_attn!.v_proj.weight.data) <= ab, 'cross-attention is skipped');
  assert.ok(maxAbs(al.encoder.layers[0]!.self_attn.v_proj.weight.data) > ab);
});

test('CLIP vision: [B, 17, 64], every token L2-normalised; preprocessing to 32×32 normalised', async () => {
  const vis = new CLIPVision(CLIP_VISION_SMALL, new Rng(4));
  const img = imageValue(randomImage(2, 40, 60, 9), 2, 40, 60);
  const pixels = preprocessForCLIP(img, 32);
  assert.deepEqual(pixels.shape, [2, 3, 32, 32]);
  // A constant image stays constant through the bicubic resize, then (v - mean)/std.
  const flat = preprocessForCLIP(imageValue(new Float32Array(3 * 50 * 20).fill(0.5), 1, 50, 20), 16);
  assert.ok(Math.abs(flat.data[0]! - (0.5 - 0.48145466) / 0.26862954) < 1e-5);
  assert.ok(Math.abs(flat.data[16 * 16 * 2 + 5]! - (0.5 - 0.40821073) / 0.27577711) < 1e-5);
  // No resize when the short side already has the size; the crop offset is torchvision's int(round(1.5)) = 2.
  const ramp = new Float32Array(3 * 4 * 7).map((_, i) => (i % 7) / 10);
  const cropped = preprocessForCLIP(imageValue(ramp, 1, 4, 7), 4);
  assert.ok(Math.abs(cropped.data[0]! - (0.2 - 0.48145466) / 0.26862954) < 1e-6);
  const forward: ForwardFn = (ops, [x]) => [vis.forward(ops, x!)];
  const [feats] = await runner.run(vis, 'vision', forward, [pixels]);
  assert.deepEqual(feats!.shape, [2, 17, 64]);
  for (let b = 0; b < 2; b++) {
    for (let t = 0; t < 17; t++) {
      const r = row(feats!, b, t);
      assert.ok(Math.abs(Math.hypot(...r) - 1) < 1e-4);
    }
  }
});

test('connector: [B, N, 64] → [B·64, 64]; each image is resampled on its own', async () => {
  const con = new XConnector(CONNECTOR_SMALL, new Rng(5));
  const forward: ForwardFn = (ops, [x]) => [con.forward(ops, x!)];
  const tokens = hostTensor(randomImage(2, 17, 64, 3).slice(0, 2 * 17 * 64), [2, 17, 64]);
  const [out] = await runner.run(con, 'connector', forward, [tokens]);
  assert.deepEqual(out!.shape, [128, 64]);
  const [first] = await runner.run(con, 'connector', forward, [hostTensor(tokens.data.slice(0, 17 * 64), [1, 17, 64])]);
  assert.ok(maxAbsDiff(first!, hostTensor(out!.data.slice(0, 64 * 64), [64, 64])) < 1e-5);
});

test('AlignerNet M: [B, 77, 64] and right padding does not change the condition; N: [B, T, 64]', async () => {
  const al = new AlignerNet(ALIGNER_SMALL, new Rng(6), { reconstruction: true });
  const d = ALIGNER_SMALL.mllmDim;
  const states = hostTensor(randomImage(1, 5, d, 7).slice(0, 5 * d).map((v) => v - 0.5), [1, 5, d]);
  const mFwd: ForwardFn = (ops, [x, p, m]) => [al.encode(ops, x!, p!, m!)];
  const tok5 = Int32Array.from([0, 4, 5, 6, 7]);
  const [c5] = await runner.run(al, 'm', mFwd, [states, alignerPositionIds(1, 5), alignerPadMask(tok5, 1, 5, 1)]);
  assert.deepEqual(c5!.shape, [1, 77, ALIGNER_SMALL.dim]);
  // The same sequence right-padded to 8 with arbitrary pad states.
  const padded = new Float32Array(8 * d).fill(3);
  padded.set(states.data as Float32Array);
  const tok8 = Int32Array.from([0, 4, 5, 6, 7, 1, 1, 1]);
  const [c8] = await runner.run(al, 'm', mFwd, [hostTensor(padded, [1, 8, d]), alignerPositionIds(1, 8), alignerPadMask(tok8, 1, 8, 1)]);
  assert.ok(maxAbsDiff(c5!, c8!) < 1e-4);
  const nFwd: ForwardFn = (ops, [c, p]) => [al.reconstruct(ops, c!, p!)];
  const [rec] = await runner.run(al, 'n', nFwd, [c5!, alignerPositionIds(1, 5)]);
  assert.deepEqual(rec!.shape, [1, 5, d]);
  assert.deepEqual([...alignerPositionIds(1, 3).data], [2, 3, 4]);
});

test('CLIP text: [B, 77, 32], causal (a later token does not change earlier rows)', async () => {
  const clip = new CLIPTextModel(CLIP_TEXT_SMALL, new Rng(8));
  const forward: ForwardFn = (ops, [ids]) => [clip.forward(ops, ids!)];
  const a = new Int32Array(77).fill(2);
  a[0] = 1;
  const b = Int32Array.from(a);
  b[40] = 99;
  const [ya] = await runner.run(clip, 'clip', forward, [hostTensor(a, [1, 77])]);
  const [yb] = await runner.run(clip, 'clip', forward, [hostTensor(b, [1, 77])]);
  const w = CLIP_TEXT_SMALL.hiddenSize;
  assert.deepEqual(ya!.shape, [1, 77, w]);
  assert.ok(maxAbsDiff(hostTensor(ya!.data.slice(0, 40 * w), [40, w]), hostTensor(yb!.data.slice(0, 40 * w), [40, w])) < 1e-6);
  assert.ok(maxAbsDiff(hostTensor(ya!.data.slice(40 * w), [37, w]), hostTensor(yb!.data.slice(40 * w), [37, w])) > 1e-3);
});
