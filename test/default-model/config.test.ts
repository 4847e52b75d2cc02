import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parameterCounts, modelCard } from '../../default-model/card.ts';
import { defaultTokenizers, worldCorpus } from '../../default-model/vocabulary.ts';
import { DEFAULT_ALIGNER, DEFAULT_CONDITION_DIM, DEFAULT_CONNECTOR, DEFAULT_IMAGE_SIZE, DEFAULT_UNET, DEFAULT_VAE, DEFAULT_VISION, SHIPPED_BYTES_LIMIT, defaultClipText, defaultMLLM } from '../../default-model/config.ts';
import { vaeDownscale } from '../../models/vae/config.ts';
import { buildEvalSet } from '../../models/world/eval-set.ts';
import { unetConfigFromDiffusers, unetConfigToDiffusers } from '../../models/unet/config.ts';
import { vaeConfigFromDiffusers, vaeConfigToDiffusers } from '../../models/vae/config.ts';

const tokenizers = defaultTokenizers();

test('the shipped parts fit the size budget in float32', () => {
  const counts = parameterCounts(tokenizers.mllm.vocabSize, tokenizers.clip.vocabSize);
  assert.equal(counts.length, 7);
  const total = counts.reduce((n, c) => n + c.parameters, 0);
  for (const c of counts) assert.ok(c.parameters > 10_000, `${c.part}: ${c.parameters}`);
  // AlignerNet N (stage 2 only) rides along in the KOSMOS-G file: leave it room.
  assert.ok(total * 4 < SHIPPED_BYTES_LIMIT * 0.9, `${total} parameters = ${(total * 4) / 2 ** 20} MB`);
});

test('the parts agree on their widths', () => {
  assert.equal(DEFAULT_IMAGE_SIZE / vaeDownscale(DEFAULT_VAE), DEFAULT_UNET.sampleSize);
  assert.equal(DEFAULT_UNET.inChannels, DEFAULT_VAE.latentChannels);
  assert.equal(defaultClipText(10).hiddenSize, DEFAULT_CONDITION_DIM);
  assert.equal(DEFAULT_UNET.crossAttentionDim, DEFAULT_CONDITION_DIM);
  assert.equal(DEFAULT_ALIGNER.dim, DEFAULT_CONDITION_DIM);
  assert.equal(DEFAULT_ALIGNER.queries, defaultClipText(10).maxPositions);
  assert.equal(DEFAULT_ALIGNER.mllmDim, defaultMLLM(10).embedDim);
  assert.equal(DEFAULT_CONNECTOR.dim, defaultMLLM(10).embedDim);
  assert.equal(DEFAULT_CONNECTOR.visionDim, DEFAULT_VISION.width);
});

test('diffusers config.json round-trips through the loaders\' readers', () => {
  assert.deepEqual(unetConfigFromDiffusers(unetConfigToDiffusers(DEFAULT_UNET)), DEFAULT_UNET);
  assert.deepEqual(vaeConfigFromDiffusers(vaeConfigToDiffusers(DEFAULT_VAE)), DEFAULT_VAE);
});

test('the tokenizers know every word of the world and of the evaluation prompts', () => {
  for (const item of buildEvalSet({ perTask: 24 })) {
    const text = item.prompt.replaceAll('<i>', ' ');
    assert.ok(!tokenizers.mllm.encode(text).includes(tokenizers.mllm.specials.unk), item.prompt);
    if (item.task === 'text') assert.ok(!tokenizers.clip.encode(text).includes(tokenizers.clip.specials.unk), item.prompt);
    assert.ok(tokenizers.clip.encode(text).length + 2 <= defaultClipText(1).maxPositions, item.prompt);
  }
  assert.ok(worldCorpus().length > 100);
});

test('the model card reports data, parameters, stages, sizes and says when scores are missing', () => {
  const card = modelCard({
    record: {
      started: '2026-01-01T00:00:00Z', seconds: 120, scenes: 10, seed: 1, imageSize: 64,
      data: [{ file: '/x/captions.jsonl', kept: 8, dropped: 2 }],
      stages: [
        { stage: 'vae', title: 'VAE', settings: { steps: 3, batch: 2, lr: 0.001, warmup: 0 }, seconds: 6, secondsPerStep: 2, firstLoss: 0.5, lastLoss: 0.25 },
        { stage: 'stage3', title: 'stage 3', settings: { steps: 4, batch: 2, lr: 0.001, warmup: 0, offsetNoise: 0.3, align: 0.25 }, seconds: 8, secondsPerStep: 2 },
      ],
    },
    parameters: [{ part: 'U-Net', parameters: 1234 }],
    files: [{ file: 'unet/diffusion_pytorch_model.safetensors', bytes: 30 * 2 ** 20 }],
  });
  for (const s of ['| captions.jsonl | 8 | 2 |', '| U-Net | 1,234 |', '| VAE | 3 | 2 | 0.001 | 2.00 | 0.1 | 0.500 → 0.250 |',
    '| stage 3 (offset noise 0.3, 25 % of steps on the alignment loss) | 4 |', 'OVER', 'Not measured']) {
    assert.ok(card.includes(s), `${s} missing in\n${card}`);
  }
});
