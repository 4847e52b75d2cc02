// The small VAE on tfjs: encode → moments at ¼ size, decode back to the image size; the real-config downscale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getRunner } from '../../models/runtime/runners.ts';
import { AutoencoderKL } from '../../models/vae/autoencoder.ts';
import { SD15_VAE_CONFIG, SMALL_VAE_CONFIG, vaeDownscale } from '../../models/vae/config.ts';
import { vaeDecodeEntry, vaeEncodeEntry } from '../../models/unet/entries.ts';
import { samplePosterior } from '../../models/vae/posterior.ts';
import { randomHost } from './helpers.ts';

test('VAE downscale: 8 for SD 1.5, 4 for the small preset', () => {
  assert.equal(vaeDownscale(SD15_VAE_CONFIG), 8);
  assert.equal(vaeDownscale(SMALL_VAE_CONFIG), 4);
});

test('small VAE: image [1,3,32,24] → moments [1,8,8,6] → latent [1,4,8,6] → image [1,3,32,24]', async () => {
  const runner = await getRunner('tfjs');
  const vae = new AutoencoderKL(SMALL_VAE_CONFIG, 5);
  const image = randomHost([1, 3, 32, 24], 1, 0.5);
  const [moments] = await runner.run(vae, 'vae_encode', vaeEncodeEntry(vae), [image]);
  assert.deepEqual(moments.shape, [1, 8, 8, 6]);
  const latent = samplePosterior(moments, 'sample', 3);
  assert.deepEqual(latent.shape, [1, 4, 8, 6]);
  const [decoded] = await runner.run(vae, 'vae_decode', vaeDecodeEntry(vae), [latent]);
  assert.deepEqual(decoded.shape, [1, 3, 32, 24]);
  assert.ok(decoded.data.every(Number.isFinite));
});
