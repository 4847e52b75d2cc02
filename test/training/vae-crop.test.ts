// VAELoss's crop option (random square windows of the target images) and the crop helper behind it.
import test from 'node:test';
import assert from 'node:assert/strict';
import { randomSquareCrops } from '../../models/data/crops.ts';
import { Rng } from '../../models/ops/random.ts';
import { AutoencoderKL } from '../../models/vae/autoencoder.ts';
import { SMALL_VAE_CONFIG } from '../../models/vae/config.ts';
import { VAELoss } from '../../training-nodes/loss-nodes.ts';
import { exec } from './node-context.ts';
import { tf, trainingOps } from './tf.ts';

// Value of image b, channel c, pixel (x, y) in an S×S batch: every pixel distinct, so a window is identifiable.
const S = 16;
const value = (b: number, c: number, y: number, x: number) => ((b * 3 + c) * S + y) * S + x;
const batchOf = (n: number) => Float32Array.from({ length: n * 3 * S * S }, (_, i) => i);

test('randomSquareCrops: each crop is one whole window of its own image, all channels at the same offset', () => {
  const n = 6, crop = 5;
  const out = randomSquareCrops(batchOf(n), n, S, crop, new Rng(3));
  const offsets = new Set<string>();
  for (let b = 0; b < n; b++) {
    const first = out[b * 3 * crop * crop]!;
    const oy = Math.floor((first - value(b, 0, 0, 0)) / S), ox = first - value(b, 0, 0, 0) - oy * S;
    assert.ok(ox >= 0 && oy >= 0 && ox + crop <= S && oy + crop <= S, `window of image ${b} at (${ox}, ${oy})`);
    offsets.add(`${ox},${oy}`);
    for (let c = 0; c < 3; c++) for (let y = 0; y < crop; y++) for (let x = 0; x < crop; x++) {
      assert.equal(out[((b * 3 + c) * crop + y) * crop + x], value(b, c, oy + y, ox + x));
    }
  }
  assert.ok(offsets.size > 1, 'offsets vary between images');
  assert.deepEqual(randomSquareCrops(batchOf(n), n, S, crop, new Rng(3)), out, 'same rng state, same crops');
  assert.throws(() => randomSquareCrops(batchOf(n), n, S, S + 1, new Rng(3)), RangeError);
  assert.throws(() => randomSquareCrops(batchOf(n), n + 1, S, crop, new Rng(3)), RangeError);
});

test('VAELoss crop: 0 and the whole size give the old loss; a window gives another finite loss; bad sizes are TRAIN_INPUT', async () => {
  const vae = new AutoencoderKL(SMALL_VAE_CONFIG, 7);
  const data = Float32Array.from({ length: 2 * 3 * S * S }, (_, i) => (Math.sin(i * 0.37) + 1) / 2);
  const sequences = { targets: { data, batch: 2, size: S }, seed: 42, captions: [], isNull: [], pad: 1 };
  const lossOf = async (extra: Record<string, unknown>) => {
    const { loss } = await exec(VAELoss, { vae: { model: vae }, sequences, reconstruction: 'mse', kl_weight: 1e-6, ...extra });
    const ops = await trainingOps();
    return tf.tidy(() => loss.compute(ops).dataSync()[0]!);
  };
  const old = await lossOf({});
  assert.ok(Number.isFinite(old));
  assert.equal(await lossOf({ crop: 0 }), old);
  assert.equal(await lossOf({ crop: S }), old, 'a full-size window is the image itself, with the same ε');
  const windowed = await lossOf({ crop: 8 });
  assert.ok(Number.isFinite(windowed) && windowed !== old, `crop 8 loss ${windowed} vs ${old}`);
  for (const crop of [6, 20]) {
    await assert.rejects(lossOf({ crop }), (e: Error & { code?: string }) => e.code === 'TRAIN_INPUT' && /VAELoss\.crop/.test(e.message));
  }
});
