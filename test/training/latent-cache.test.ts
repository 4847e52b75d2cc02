// The frozen-VAE moments cache behind DiffusionLoss: the same moments as encoding the batch, each image encoded once
// per set of weights, and a change of weights starts afresh.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createTfjsOps } from '../../models/backends/tfjs/index.ts';
import { TfjsRunner } from '../../models/runtime/tfjs-runner.ts';
import { frozenVaeMoments } from '../../models/training/latent-cache.ts';
import { Rng } from '../../models/ops/random.ts';
import { AutoencoderKL } from '../../models/vae/autoencoder.ts';
import { SMALL_VAE_CONFIG } from '../../models/vae/config.ts';

const ops = await createTfjsOps();
const runner = new TfjsRunner(ops);
const S = 16;
const per = 3 * S * S;
const rng = new Rng(5);
const pool = Array.from({ length: 4 }, () => Float32Array.from({ length: per }, () => rng.normal() * 0.5));
const batchOf = (ids: number[]) => {
  const x = new Float32Array(ids.length * per);
  ids.forEach((id, i) => x.set(pool[id]!, i * per));
  return x;
};

function countingVae(seed: number): { vae: AutoencoderKL; encoded: () => number } {
  const vae = new AutoencoderKL(SMALL_VAE_CONFIG, seed);
  vae.setTrainable(false);
  let images = 0;
  const encode = vae.encodeMoments.bind(vae);
  vae.encodeMoments = ((o: typeof ops, x: Parameters<typeof encode>[1]) => {
    images += (x as { shape: number[] }).shape[0]!;
    return encode(o as never, x as never);
  }) as typeof vae.encodeMoments;
  return { vae, encoded: () => images };
}

test('cached moments equal encoding the whole batch, and each image is encoded once', async () => {
  const { vae, encoded } = countingVae(3);
  const ids = [0, 1, 1, 2];
  const direct = ops.toHost(ops.tidy(() => vae.encodeMoments(ops, ops.tensor(batchOf(ids), [4, 3, S, S]))));
  const before = encoded();
  const first = await frozenVaeMoments(runner, vae, batchOf(ids), 4, S);
  assert.equal(encoded() - before, 3, 'three distinct images in the batch: encoded once each');
  assert.deepEqual(first.shape, direct.shape);
  first.data.forEach((v, i) => assert.ok(Math.abs(v - direct.data[i]!) < 1e-4, `moment ${i}: ${v} vs ${direct.data[i]}`));
  const second = await frozenVaeMoments(runner, vae, batchOf([2, 0, 3]), 3, S);
  assert.equal(encoded() - before, 4, 'only the new image (3) is encoded');
  assert.deepEqual(second.data.subarray(0, second.data.length / 3), first.data.subarray(3 * (first.data.length / 4)));
});

test('new weights empty the cache: moments follow the VAE', async () => {
  const { vae, encoded } = countingVae(4);
  const a = await frozenVaeMoments(runner, vae, batchOf([0]), 1, S);
  const p = vae.parameters()[0]!;
  p.set(p.data.map((v) => v * 1.5));
  const start = encoded();
  const b = await frozenVaeMoments(runner, vae, batchOf([0]), 1, S);
  assert.equal(encoded() - start, 1, 're-encoded under the new weights');
  assert.ok(a.data.some((v, i) => Math.abs(v - b.data[i]!) > 1e-4), 'the moments changed with the weights');
});
