import test from 'node:test';
import assert from 'node:assert/strict';
import {
  alignerLoss, contrastiveLoss, diffusionLoss, minSnrWeights, mse, nextTokenCrossEntropy, noiseBatch, vaeLoss,
} from '../../models/training/losses.ts';
import { Rng } from '../../models/ops/random.ts';
import { parseSwapGroups, swapNegatives } from '../../models/training/hard-negatives.ts';
import { trainingOps, tf } from './tf.ts';

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} ≠ ${b}`);
const value = (t: tf.Tensor) => t.dataSync()[0]!;

test('next-token cross-entropy counts text targets only', async () => {
  const ops = await trainingOps();
  // B=1, T=3, V=3. Position 1 is an image slot (mask 0) and its logits must not matter.
  const logits = [[1, 2, 3], [50, -50, 0], [0, 0, 0]];
  const target = Int32Array.from([2, 0, 1]);
  const mask = Float32Array.from([1, 0, 1]);
  const lse = (r: number[]) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
  const expected = ((lse(logits[0]!) - 3) + (lse(logits[2]!) - 0)) / 2;
  const got = tf.tidy(() => value(nextTokenCrossEntropy(ops, ops.tensor(Float32Array.from(logits.flat()), [1, 3, 3]), target, mask)));
  close(got, expected);
  assert.throws(() => nextTokenCrossEntropy(ops, ops.tensor(new Float32Array(9), [1, 3, 3]), target, new Float32Array(3)), /no text targets/);
});

test('AlignerNet loss = MSE(M(s), clip) + MSE(N(M(s)), s)·(Q/T)', async () => {
  const ops = await trainingOps();
  // B=1, Q=2 queries of width 1; T=4 states of width 1.
  const m = [1, 2], clip = [0, 4], n = [1, 1, 1, 1], s = [0, 1, 2, 3];
  const expected = ((1 + 4) / 2) + ((1 + 0 + 1 + 4) / 4) * (2 / 4);
  const got = tf.tidy(() =>
    value(alignerLoss(ops, ops.tensor(Float32Array.from(m), [1, 2, 1]), ops.tensor(Float32Array.from(clip), [1, 2, 1]),
      ops.tensor(Float32Array.from(n), [1, 4, 1]), ops.tensor(Float32Array.from(s), [1, 4, 1]))));
  close(got, expected);
});

test('diffusion ε-MSE is the per-sample mean; noising follows √ᾱ·x₀ + √(1−ᾱ)·ε with seeded t and ε', async () => {
  const ops = await trainingOps();
  const pred = [0, 0, 0, 0, 1, 1, 1, 1], eps = [1, 1, 1, 1, 1, 1, 1, 3];
  const expected = (1 + 4 / 4) / 2; // sample 0: mean 1; sample 1: mean (0+0+0+4)/4 = 1
  close(tf.tidy(() => value(diffusionLoss(ops, ops.tensor(Float32Array.from(pred), [2, 1, 2, 2]), ops.tensor(Float32Array.from(eps), [2, 1, 2, 2])))), expected);
  const acp = [0.9, 0.5, 0.1];
  const x0 = Float32Array.from([1, 2, 3, 4]);
  const nb = noiseBatch(x0, 2, acp, new Rng(3));
  for (let b = 0; b < 2; b++) {
    const t = nb.timesteps[b]!;
    assert.ok(t >= 0 && t < 3);
    for (let i = 2 * b; i < 2 * b + 2; i++) close(nb.noisy[i]!, Math.sqrt(acp[t]!) * x0[i]! + Math.sqrt(1 - acp[t]!) * nb.eps[i]!);
  }
  assert.deepEqual(noiseBatch(x0, 2, acp, new Rng(3)), nb);
  // t is uniform over [0, N).
  const counts = [0, 0, 0];
  noiseBatch(new Float32Array(3000), 3000, acp, new Rng(1)).timesteps.forEach((t) => counts[t]!++);
  assert.ok(counts.every((c) => c > 900 && c < 1100), `${counts}`);
});

test('offset noise: ε gets one extra N(0, offset²) shift per sample and channel; offset 0 draws what no option draws', () => {
  const acp = [0.9, 0.5, 0.1];
  const x0 = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i / 10);
  assert.deepEqual(noiseBatch(x0, 2, acp, new Rng(5), { offset: 0, channels: 3 }), noiseBatch(x0, 2, acp, new Rng(5)));
  // Many samples of [4 channels × 32 × 32]: a plane's mean of ε is its shift plus N(0, 1/1024).
  const batch = 150, channels = 4, plane = 32 * 32, offset = 0.5;
  const nb = noiseBatch(new Float32Array(batch * channels * plane), batch, acp, new Rng(9), { offset, channels });
  const means: number[] = [];
  for (let k = 0; k < batch * channels; k++) {
    let s = 0;
    for (let i = k * plane; i < (k + 1) * plane; i++) s += nb.eps[i]!;
    means.push(s / plane);
  }
  const std = Math.sqrt(means.reduce((a, m) => a + m * m, 0) / means.length);
  assert.ok(Math.abs(std - Math.sqrt(offset ** 2 + 1 / plane)) < 0.06, `plane-mean std ${std}`);
  // Within a plane the shift is shared, so the deviations from the plane mean are still unit normal.
  let dev = 0;
  for (let i = 0; i < plane; i++) dev += (nb.eps[i]! - means[0]!) ** 2;
  assert.ok(Math.abs(Math.sqrt(dev / plane) - 1) < 0.08);
  // x_t is still √ᾱ·x₀ + √(1−ᾱ)·ε with the shifted ε (x₀ = 0 here).
  const t = nb.timesteps[0]!;
  close(nb.noisy[7]!, Math.sqrt(1 - acp[t]!) * nb.eps[7]!);
  assert.throws(() => noiseBatch(x0, 2, acp, new Rng(5), { offset: 0.1, channels: 5 }), /channels/);
  assert.throws(() => noiseBatch(x0, 2, acp, new Rng(5), { offset: -1, channels: 3 }), /offset/);
});

test('Min-SNR-γ: w = min(SNR, γ)/SNR weights each sample of the ε-MSE', async () => {
  const ops = await trainingOps();
  // ᾱ = 0.9 → SNR 9 → w = 5/9; ᾱ = 0.5 → SNR 1 → w = 1; ᾱ = 0.1 → SNR 1/9 → w = 1.
  const w = minSnrWeights([0, 1, 2], [0.9, 0.5, 0.1], 5);
  [5 / 9, 1, 1].forEach((x, i) => close(w[i]!, x));
  assert.throws(() => minSnrWeights([0], [0.5], 0), /gamma/);
  const pred = [0, 0, 0, 0, 1, 1, 1, 1], eps = [1, 1, 1, 1, 1, 1, 1, 3]; // per-sample means 1 and 1
  const loss = tf.tidy(() => value(diffusionLoss(ops, ops.tensor(Float32Array.from(pred), [2, 1, 2, 2]), ops.tensor(Float32Array.from(eps), [2, 1, 2, 2]), ops.tensor(Float32Array.from([5 / 9, 1]), [2]))));
  close(loss, (5 / 9 + 1) / 2);
});

test('contrastive loss: symmetric cross-entropy over exp(logit_scale)·cosine similarities', async () => {
  const ops = await trainingOps();
  const img = [[1, 0], [0, 2]], txt = [[3, 0], [1, 1]];
  const scale = Math.log(2);
  const cos = (a: number[], b: number[]) => (a[0]! * b[0]! + a[1]! * b[1]!) / (Math.hypot(...a) * Math.hypot(...b));
  const L = img.map((a) => txt.map((b) => 2 * cos(a, b)));
  const ce = (M: number[][]) => M.reduce((s, row, i) => s + Math.log(row.reduce((z, v) => z + Math.exp(v), 0)) - row[i]!, 0) / M.length;
  const Lt = L[0]!.map((_, j) => L.map((row) => row[j]!));
  const expected = (ce(L) + ce(Lt)) / 2;
  const got = tf.tidy(() => value(contrastiveLoss(ops, ops.tensor(Float32Array.from(img.flat()), [2, 2]),
    ops.tensor(Float32Array.from(txt.flat()), [2, 2]), ops.tensor(Float32Array.from([scale]), [1]))));
  close(got, expected);
});

test('contrastive loss with hard negatives: extra captions in the image → text direction only', async () => {
  const ops = await trainingOps();
  const img = [[1, 0], [0, 2]], txt = [[3, 0], [1, 1]], neg = [[1, 0.2]];
  const cos = (a: number[], b: number[]) => (a[0]! * b[0]! + a[1]! * b[1]!) / (Math.hypot(...a) * Math.hypot(...b));
  const ce = (M: number[][]) => M.reduce((s, row, i) => s + Math.log(row.reduce((z, v) => z + Math.exp(v), 0)) - row[i]!, 0) / M.length;
  const L = img.map((a) => txt.map((b) => 2 * cos(a, b)));
  const imageToText = img.map((a, i) => [...L[i]!, ...neg.map((b) => 2 * cos(a, b))]);
  const textToImage = L[0]!.map((_, j) => L.map((row) => row[j]!));
  const t = (m: number[][]) => ops.tensor(Float32Array.from(m.flat()), [m.length, 2]);
  const scale = ops.tensor(Float32Array.from([Math.log(2)]), [1]);
  const got = tf.tidy(() => value(contrastiveLoss(ops, t(img), t(txt), scale, t(neg))));
  close(got, (ce(imageToText) + ce(textToImage)) / 2);
  const without = tf.tidy(() => value(contrastiveLoss(ops, t(img), t(txt), scale)));
  assert.ok(got > without, 'a negative can only add to the loss');
});

test('hard negative captions: one word swapped within its group, seeded; bad groups are a coded error', () => {
  const groups = parseSwapGroups(' circle, square ,triangle ; red,Blue', 'w');
  assert.deepEqual(groups, [['circle', 'square', 'triangle'], ['red', 'blue']]);
  const captions = ['a red circle above a blue square', 'a green star on a pink background', 'a triangle'];
  const a = swapNegatives(captions, groups, new Rng(1));
  assert.deepEqual(a, swapNegatives(captions, groups, new Rng(1)), 'same seed, same negatives');
  assert.deepEqual(a.from, [0, 2], 'a caption without any group word gives none');
  a.captions.forEach((negative, k) => {
    const before = captions[a.from[k]!]!.split(' '), after = negative.split(' ');
    const changed = before.flatMap((w, i) => (w === after[i] ? [] : [i]));
    assert.equal(changed.length, 1, negative);
    const group = groups.find((g) => g.includes(before[changed[0]!]!))!;
    assert.ok(group.includes(after[changed[0]!]!) && after[changed[0]!] !== before[changed[0]!], negative);
  });
  const many = Array.from({ length: 40 }, (_, i) => swapNegatives(captions.slice(0, 1), groups, new Rng(i)).captions[0]);
  assert.ok(new Set(many).size >= 4, 'the swapped occurrence and its replacement are drawn');
  for (const bad of ['circle', 'circle,square;square,star', 'red circle,blue']) {
    assert.throws(() => parseSwapGroups(bad, 'ContrastiveLoss.hard_negatives'), (e: Error & { code?: string }) => e.code === 'TRAIN_CONFIG' && e.message.startsWith('ContrastiveLoss.hard_negatives'), bad);
  }
  assert.deepEqual(parseSwapGroups('', 'w'), []);
});

test('VAE loss: reconstruction (MSE or L1) + weight·KL summed over latent dims, mean over batch', async () => {
  const ops = await trainingOps();
  const recon = [0, 1, 2, 3], x = [1, 1, 1, 1];
  const mean = [0.5, -1, 0, 0], logvar = [0, Math.log(2), 0, -1]; // latent [2, 2] (B=2, C·H·W=2)
  const klOf = (m: number, lv: number) => 0.5 * (m * m + Math.exp(lv) - 1 - lv);
  const kl = (klOf(0.5, 0) + klOf(-1, Math.log(2)) + klOf(0, 0) + klOf(0, -1)) / 2;
  const t = (a: number[], s: number[]) => ops.tensor(Float32Array.from(a), s);
  const run = (kind: 'mse' | 'l1', w: number) =>
    tf.tidy(() => value(vaeLoss(ops, t(recon, [2, 2]), t(x, [2, 2]), t(mean, [2, 2]), t(logvar, [2, 2]), { reconstruction: kind, klWeight: w })));
  close(run('mse', 0.1), (1 + 0 + 1 + 4) / 4 + 0.1 * kl);
  close(run('l1', 1), (1 + 0 + 1 + 2) / 4 + kl);
  close(tf.tidy(() => value(mse(ops, t([1, 2], [2]), t([0, 0], [2])))), 2.5);
});
