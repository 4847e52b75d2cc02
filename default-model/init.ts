// Seeded random initial weights of every default-model part, written in the layout the stage workflows load from
// (layout.ts), with each part's config beside it (diffusers config.json for U-Net and VAE, safetensors metadata
// for the rest) — the loader nodes have presets only for 'small' and 'real', so the default sizes travel as files.

import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../models/io/atomic.ts';
import path from 'node:path';
import { saveSafetensors } from '../models/io/safetensors.ts';
import { saveWeightFile, type WeightFile } from '../models/kosmosg/weights.ts';
import { Rng } from '../models/ops/random.ts';
import { UNet2DConditionModel } from '../models/unet/unet.ts';
import { unetConfigToDiffusers } from '../models/unet/config.ts';
import { AutoencoderKL } from '../models/vae/autoencoder.ts';
import { vaeConfigToDiffusers } from '../models/vae/config.ts';
import { CLIPTextModel } from '../models/clip/text-model.ts';
import { CLIPVision } from '../models/clip/vision-model.ts';
import { XConnector } from '../models/connector/connector.ts';
import { MLLM } from '../models/mllm/mllm.ts';
import { AlignerNet } from '../models/aligner/aligner.ts';
import { saveWordTokenizer, type WordTokenizer } from '../models/tokenizers/word-tokenizer.ts';
import { DEFAULT_ALIGNER, DEFAULT_CONNECTOR, DEFAULT_UNET, DEFAULT_VAE, DEFAULT_VISION, defaultClipText, defaultKosmosG, defaultMLLM } from './config.ts';
import type { WeightsLayout, WorkLayout } from './layout.ts';

async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

/** The configs of the project's own parts, as stored in safetensors metadata (models/kosmosg/weights.ts). */
export function partConfigs(mllmVocab: number, clipVocab: number, reconstruction: boolean): WeightFile['configs'] {
  return { ...defaultKosmosG(mllmVocab, reconstruction), clipText: defaultClipText(clipVocab) };
}

/**
 * Initial log-variance of the VAE posterior (the logvar half of quant_conv's bias). From the usual 0 the
 * reparameterised sample is mostly noise (σ = 1 against a latent mean of σ ≈ 1), and with the small KL weight Adam
 * walks the bias down only ~lr per step: the 600-step VAE of the pilots still had σ ≈ 0.5, so its decoder learnt
 * colours blurred by latent noise. Starting at −6 (σ ≈ 0.05) removes that (docs/default-model.md, VAE recipe pilots).
 */
export const VAE_LOGVAR_INIT = -6;

/** The default VAE's seeded initial weights, with the posterior's log-variance started at `VAE_LOGVAR_INIT`. */
export function initialVae(seed: number): AutoencoderKL {
  const vae = new AutoencoderKL(DEFAULT_VAE, seed);
  vae.quant_conv.bias!.data.fill(VAE_LOGVAR_INIT, DEFAULT_VAE.latentChannels);
  return vae;
}

export interface InitOptions {
  seed: number;
  tokenizers: { mllm: WordTokenizer; clip: WordTokenizer };
}

/** Writes tokenizers and random weights for every part; returns the file list. */
export async function writeInitialWeights(weights: WeightsLayout, work: WorkLayout, options: InitOptions): Promise<string[]> {
  const { seed, tokenizers } = options;
  const configs = partConfigs(tokenizers.mllm.vocabSize, tokenizers.clip.vocabSize, true);
  for (const file of [weights.tokenizer, weights.clipTokenizer]) await mkdir(path.dirname(file), { recursive: true });
  saveWordTokenizer(weights.tokenizer, tokenizers.mllm);
  saveWordTokenizer(weights.clipTokenizer, tokenizers.clip);
  for (const file of [weights.textEncoder, weights.unet, weights.vae, work.vision]) await mkdir(path.dirname(file), { recursive: true });

  await writeJsonAtomic(path.join(weights.unetDir, 'config.json'), unetConfigToDiffusers(DEFAULT_UNET));
  await saveSafetensors(weights.unet, new UNet2DConditionModel(DEFAULT_UNET, seed).stateDict());
  await writeJsonAtomic(path.join(weights.vaeDir, 'config.json'), vaeConfigToDiffusers(DEFAULT_VAE));
  await saveSafetensors(weights.vae, initialVae(seed + 1).stateDict());

  await saveWeightFile(weights.textEncoder, [['', new CLIPTextModel(defaultClipText(tokenizers.clip.vocabSize), new Rng(seed + 2))]], configs);
  await saveWeightFile(work.vision, [['img_model.', new CLIPVision(DEFAULT_VISION, new Rng(seed + 3))]], configs);
  await saveWeightFile(work.connector, [['img_connector.', new XConnector(DEFAULT_CONNECTOR, new Rng(seed + 4))]], configs);
  await saveWeightFile(work.mllm, [['gpt_model.decoder.', new MLLM(defaultMLLM(tokenizers.mllm.vocabSize), new Rng(seed + 5))]], configs);
  await saveWeightFile(work.aligner, [['aligner.', new AlignerNet(DEFAULT_ALIGNER, new Rng(seed + 6), { reconstruction: true })]], configs);
  return [weights.tokenizer, weights.clipTokenizer, weights.unet, weights.vae, weights.textEncoder, work.vision, work.connector, work.mllm, work.aligner];
}

export async function readJson(file: string): Promise<unknown> {
  return JSON.parse(await readFile(file, 'utf8')) as unknown;
}
