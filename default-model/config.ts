// Configs of the embedded default model: a KOSMOS-G small enough to train on 2 CPU cores in the 90-minute budget
// (docs/default-model.md has the measured step times), shaped like the real one. 64×64 images; a VAE with ×4
// downsampling (16×16×4 latents); a three-level latent U-Net; a word-level CLIP text encoder over the world's
// vocabulary whose width (64) is the U-Net's cross-attention width and AlignerNet's output width (the stage-2
// target, spec §1.9); a small ViT, the resampler with 64 queries (so the prompt format <image>×65 stays), the
// MAGNETO MLLM and AlignerNet.

import type { UNetConfig } from '../models/unet/config.ts';
import type { VAEConfig } from '../models/vae/config.ts';
import type { CLIPTextConfig } from '../models/clip/text-config.ts';
import type { CLIPVisionConfig } from '../models/clip/vision-config.ts';
import type { ConnectorConfig } from '../models/connector/config.ts';
import type { MLLMConfig } from '../models/mllm/config.ts';
import type { AlignerConfig } from '../models/aligner/config.ts';
import type { KosmosGConfig } from '../models/kosmosg/config.ts';

/** Side of the world's images and of generated pictures. */
export const DEFAULT_IMAGE_SIZE = 64;
/** CLIP text sequence length: a world caption is at most 14 tokens with its specials; 24 leaves room for prompts. */
export const DEFAULT_TEXT_LENGTH = 24;
/** Width of the conditioning space (CLIP text hidden = U-Net cross-attention = AlignerNet output). */
export const DEFAULT_CONDITION_DIM = 64;

export const DEFAULT_VAE: VAEConfig = {
  inChannels: 3,
  outChannels: 3,
  blockOutChannels: [16, 32, 64],
  layersPerBlock: 1,
  latentChannels: 4,
  normNumGroups: 8,
  // SD picks the factor that gives the U-Net latents of unit variance (1 / std of the latents: 0.18215 for its VAE).
  // This VAE's latents have std ≈ 1.2 (pilot F, docs/default-model.md), so 0.8; SD's 0.18215 would hand the U-Net
  // σ ≈ 0.22, i.e. a noise schedule 20× poorer in signal than the one it was designed for.
  scalingFactor: 0.8,
};

export const DEFAULT_UNET: UNetConfig = {
  inChannels: 4,
  outChannels: 4,
  blockOutChannels: [32, 64, 128],
  layersPerBlock: 1,
  downBlockTypes: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  upBlockTypes: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
  crossAttentionDim: DEFAULT_CONDITION_DIM,
  // 4 heads everywhere, as the shipped weights were trained. Heads of width 32 ([1, 2, 4]) train 1.6× faster on wasm
  // (bench/training/conv-grad.ts: per-head products of [256, 8] are mostly overhead) and scored the same through
  // CLIP text in two full runs (docs/default-model.md), but would not reproduce the shipped weights.
  attentionHeads: 4,
  normNumGroups: 8,
  normEps: 1e-5,
  flipSinToCos: true,
  freqShift: 0,
  sampleSize: DEFAULT_IMAGE_SIZE / 4,
};

/** The vocabulary size comes from the word-clip tokenizer built over the world's words. */
export function defaultClipText(vocabSize: number): CLIPTextConfig {
  return { vocabSize, hiddenSize: DEFAULT_CONDITION_DIM, intermediateSize: 256, layers: 3, heads: 4, maxPositions: DEFAULT_TEXT_LENGTH, eps: 1e-5 };
}

export const DEFAULT_VISION: CLIPVisionConfig = {
  imageSize: 32,
  patchSize: 8,
  width: 96,
  layers: 3,
  heads: 4,
  mlpDim: 384,
  eps: 1e-5,
};

export const DEFAULT_MLLM_DIM = 128;

export const DEFAULT_CONNECTOR: ConnectorConfig = { visionDim: DEFAULT_VISION.width, dim: DEFAULT_MLLM_DIM, heads: 4, latentQueries: 64 };

export function defaultMLLM(vocabSize: number): MLLMConfig {
  return { vocabSize, embedDim: DEFAULT_MLLM_DIM, layers: 3, heads: 4, ffnDim: 512, padIdx: 1, eps: 1e-5 };
}

export const DEFAULT_ALIGNER: AlignerConfig = {
  mllmDim: DEFAULT_MLLM_DIM,
  dim: DEFAULT_CONDITION_DIM,
  heads: 4,
  ffnDim: 256,
  layers: 2,
  queries: DEFAULT_TEXT_LENGTH,
  maxPositions: 512,
  eps: 1e-5,
};

export function defaultKosmosG(vocabSize: number, reconstruction: boolean): KosmosGConfig {
  return { vision: DEFAULT_VISION, connector: DEFAULT_CONNECTOR, mllm: defaultMLLM(vocabSize), aligner: DEFAULT_ALIGNER, reconstruction };
}

/** The shipped weights must stay small enough to commit (issue 8: ≤ 25 MB). */
export const SHIPPED_BYTES_LIMIT = 25 * 1024 * 1024;
