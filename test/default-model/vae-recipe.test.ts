// The default VAE recipe (docs/default-model.md, VAE recipe pilots): trained on random windows of the scenes, from
// a posterior whose log-variance starts low.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTfjsOps, tf } from '../../models/backends/tfjs/index.ts';
import { DEFAULT_IMAGE_SIZE, DEFAULT_VAE } from '../../default-model/config.ts';
import { initialVae, VAE_LOGVAR_INIT } from '../../default-model/init.ts';
import { STAGE_SETTINGS, VAE_CROP, stageWorkflow } from '../../default-model/workflows.ts';
import { weightsLayout, workLayout } from '../../default-model/layout.ts';
import { AutoencoderKL } from '../../models/vae/autoencoder.ts';
import { vaeDownscale } from '../../models/vae/config.ts';
import { Rng } from '../../models/ops/random.ts';
import { render, sampleScene } from '../../models/world/scene.ts';

test('the VAE stage trains on windows the VAE can encode, smaller than the scenes, with the stage settings', () => {
  assert.equal(VAE_CROP % vaeDownscale(DEFAULT_VAE), 0);
  assert.ok(VAE_CROP < DEFAULT_IMAGE_SIZE);
  const wf = stageWorkflow('vae', { weights: weightsLayout('/w'), work: workLayout('/k') });
  const loss = wf.nodes.find((n) => n.type === 'VAELoss');
  const loop = wf.nodes.find((n) => n.type === 'TrainLoop');
  assert.equal(loss?.widgets?.crop, VAE_CROP);
  assert.equal(loop?.widgets?.steps, STAGE_SETTINGS.vae.steps);
  assert.equal(loop?.widgets?.lr, STAGE_SETTINGS.vae.lr);
});

test('the initial VAE posterior starts with a small variance; the plain init does not', async () => {
  const ops = await createTfjsOps();
  const S = DEFAULT_IMAGE_SIZE, n = S * S, L = DEFAULT_VAE.latentChannels;
  const img = render(sampleScene(new Rng(4)));
  const x = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) x[c * n + i] = img.data[i * 3 + c]! / 127.5 - 1;
  const meanLogvar = (vae: AutoencoderKL) => tf.tidy(() =>
    (vae.encodeMoments(ops, ops.tensor(x, [1, 3, S, S])) as tf.Tensor).slice([0, L, 0, 0], [1, L, -1, -1]).mean().dataSync()[0]!);
  const low = meanLogvar(initialVae(1));
  assert.ok(Math.abs(low - VAE_LOGVAR_INIT) < 1.5, `initial mean logvar ${low}`);
  assert.ok(Math.abs(meanLogvar(new AutoencoderKL(DEFAULT_VAE, 1))) < 1.5, 'the plain init starts near σ = 1');
  // Only the logvar half of the bias moves: the means are the plain init's.
  const a = initialVae(1).quant_conv.bias!.data, b = new AutoencoderKL(DEFAULT_VAE, 1).quant_conv.bias!.data;
  assert.deepEqual(Array.from(a.slice(0, L)), Array.from(b.slice(0, L)));
});
