// Loss nodes. Each returns a LOSS: a function written against Ops that runs the forward pass of the models it was
// wired to and the loss of models/training/losses.ts; TrainLoop differentiates it on its backend. Everything the loss
// needs from frozen models outside the gradient path (VAE latents of the target images) is computed here, once per
// step, on the host. Host data enters the loss only as tensors (`ops.tensor`), never as numbers or slice positions
// that change from step to step, so a traced step graph serves every step of the same shapes.
import path from 'node:path';
import { defineNode } from '../engine/node-def.ts';
import { CLIPHeads } from '../models/training/clip-heads.ts';
import { loadSafetensors } from '../models/io/safetensors.ts';
import { MLLM } from '../models/mllm/mllm.ts';
import { AlignerNet } from '../models/aligner/aligner.ts';
import { CLIPTextModel } from '../models/clip/text-model.ts';
import { CLIPVision } from '../models/clip/vision-model.ts';
import { UNet2DConditionModel } from '../models/unet/unet.ts';
import { AutoencoderKL } from '../models/vae/autoencoder.ts';
import { samplePosterior, scaleLatent } from '../models/vae/posterior.ts';
import { frozenVaeMoments } from '../models/training/latent-cache.ts';
import { vaeDownscale } from '../models/vae/config.ts';
import { alphasCumprod, resolveConfig } from '../models/schedulers/schedule.ts';
import { hostTensor, type Ops } from '../models/ops/ops.ts';
import { Rng } from '../models/ops/random.ts';
import { mixSeed } from '../models/data/batching.ts';
import { randomSquareCrops } from '../models/data/crops.ts';
import { parseSwapGroups, swapNegatives } from '../models/training/hard-negatives.ts';
import {
  alignerLoss, contrastiveLoss, diffusionLoss, minSnrWeights, mse, nextTokenCrossEntropy, noiseBatch, vaeLoss,
} from '../models/training/losses.ts';
import { moduleOf, TrainingInputError } from './inputs.ts';
import { alignerInputs, clipPixels, mllmStates, up } from './forward.ts';
import { clipIds, optionalVision } from './condition-nodes.ts';
import type { TokenBatchValue } from './types.ts';

function targetsOf(b: TokenBatchValue, where: string): NonNullable<TokenBatchValue['targets']> {
  if (!b.targets) {
    throw new TrainingInputError('TRAIN_INPUT', `${where}: the sequences carry no target images (use an image dataset and mode image-text, compositional or edit)`);
  }
  return b.targets;
}

/** Target images [B, 3, S, S] in [0, 1] → [−1, 1], the VAE's input range. */
function signed(data: Float32Array): Float32Array {
  return data.map((v) => v * 2 - 1);
}

export const LMLoss = defineNode({
  type: 'LMLoss',
  category: 'training/loss',
  description: 'Stage 1: next-token cross-entropy of the MLLM on text tokens only (image slots and pads masked out).',
  inputs: {
    mllm: { type: 'MLLM' },
    sequences: { type: 'TOKEN_BATCH' },
    clip_vision: { type: 'CLIP_VISION', optional: true },
    connector: { type: 'CONNECTOR', optional: true },
  },
  widgets: {},
  outputs: { loss: { type: 'LOSS' } },
  execute: (a) => {
    const mllm = moduleOf(a.mllm, MLLM, 'LMLoss.mllm');
    const vision = optionalVision(a.clip_vision, a.connector, 'LMLoss');
    const b = a.sequences;
    const { target, lossMask } = b.tokens;
    if (!target || !lossMask) throw new TrainingInputError('TRAIN_INPUT', 'LMLoss: the sequences have no LM targets (mode caption-lm or image-caption-lm)');
    return {
      loss: { name: 'lm', compute: <T>(ops: Ops<T>): T => nextTokenCrossEntropy(ops, mllm.logits(ops, mllmStates(ops, mllm, b, vision)), target, lossMask) },
    };
  },
});

export const AlignerLoss = defineNode({
  type: 'AlignerLoss',
  category: 'training/loss',
  description: 'Stage 2: MSE(M(s), CLIP text states) + MSE(N(M(s)), s)·(77/T), s = frozen MLLM states of [<s>] + caption.',
  inputs: {
    mllm: { type: 'MLLM' },
    aligner: { type: 'ALIGNER' },
    clip_text: { type: 'CLIP_TEXT' },
    clip_tokenizer: { type: 'TOKENIZER' },
    sequences: { type: 'TOKEN_BATCH' },
  },
  widgets: {},
  outputs: { loss: { type: 'LOSS' } },
  execute: (a) => {
    const mllm = moduleOf(a.mllm, MLLM, 'AlignerLoss.mllm');
    const aligner = moduleOf(a.aligner, AlignerNet, 'AlignerLoss.aligner');
    const clip = moduleOf(a.clip_text, CLIPTextModel, 'AlignerLoss.clip_text');
    if (!aligner.hasReconstruction) throw new TrainingInputError('TRAIN_INPUT', 'AlignerLoss.aligner: this AlignerNet has no decoder N (load it with reconstruction)');
    const b = a.sequences;
    const ids = clipIds(a.clip_tokenizer, b, clip.config.maxPositions, 'AlignerLoss.clip_tokenizer');
    return {
      loss: {
        name: 'aligner',
        compute: <T>(ops: Ops<T>): T => {
          const states = mllmStates(ops, mllm, b);
          const { positionIds, padMask } = alignerInputs(ops, b);
          const m = aligner.encode(ops, states, positionIds, padMask);
          return alignerLoss(ops, m, clip.forward(ops, up(ops, ids)), aligner.reconstruct(ops, m, positionIds), states);
        },
      },
    };
  },
});

/**
 * Stage 2's target for any prompt, images included: the condition a prompt gets (e.g. KOSMOS-G's MLLM → AlignerNet
 * over "a <i> on a mint background" with a red circle's picture) against the frozen CLIP text encoder's states of
 * what the prompt means ("a red circle on a mint background": the batch's captions; a compositional row's
 * `meaning`). Not in the paper, whose stage 3 has the diffusion loss alone: at toy scale it is the direct way to put
 * what the images show into the space the U-Net reads (docs/default-model.md, stage 3).
 */
export const ConditionAlignLoss = defineNode({
  type: 'ConditionAlignLoss',
  category: 'training/loss',
  description: 'MSE between a training condition (e.g. KosmosGCondition over interleaved prompts) and the frozen CLIP text states of what each prompt means.',
  inputs: { condition: { type: 'TRAIN_CONDITION' }, clip_text: { type: 'CLIP_TEXT' }, clip_tokenizer: { type: 'TOKENIZER' } },
  widgets: {},
  outputs: { loss: { type: 'LOSS' } },
  execute: (a) => {
    const clip = moduleOf(a.clip_text, CLIPTextModel, 'ConditionAlignLoss.clip_text');
    const ids = clipIds(a.clip_tokenizer, a.condition.batch, clip.config.maxPositions, 'ConditionAlignLoss.clip_tokenizer');
    return {
      loss: {
        name: 'condition-align',
        compute: <T>(ops: Ops<T>): T => {
          const cond = a.condition.compute(ops);
          const [, length, width] = ops.shape(cond);
          if (length !== clip.config.maxPositions || width !== clip.config.hiddenSize) {
            throw new TrainingInputError('TRAIN_INPUT', `ConditionAlignLoss: the condition is [${length}, ${width}] per prompt, the CLIP text states [${clip.config.maxPositions}, ${clip.config.hiddenSize}]`);
          }
          return mse(ops, cond, clip.forward(ops, up(ops, ids)));
        },
      },
    };
  },
});

export const DiffusionLoss = defineNode({
  type: 'DiffusionLoss',
  category: 'training/loss',
  description:
    'Stage 3 / text-to-image: ε-MSE through the U-Net. Latents = frozen VAE(target)·scale, t ~ U[0, 1000), xₜ = √ᾱ x₀ + √(1−ᾱ) ε, per-sample mean (optionally Min-SNR-γ weighted).',
  inputs: { unet: { type: 'UNET' }, vae: { type: 'VAE' }, condition: { type: 'TRAIN_CONDITION' } },
  widgets: {
    snr_gamma: {
      kind: 'FLOAT',
      default: 0,
      min: 0,
      max: 100,
      description: "Min-SNR-γ weighting of each sample's loss (diffusers' --snr_gamma; 5 is the paper's value); 0: plain mean",
    },
    offset_noise: {
      kind: 'FLOAT',
      default: 0,
      min: 0,
      max: 1,
      description:
        'offset noise: ε plus this × N(0, 1) constant per sample and latent channel, so the overall colour must come from the condition, not from what the noise schedule leaves of the latent (0.1 is the usual value for SD; 0: off)',
    },
  },
  outputs: { loss: { type: 'LOSS' } },
  execute: async (a) => {
    const unet = moduleOf(a.unet, UNet2DConditionModel, 'DiffusionLoss.unet');
    const vae = moduleOf(a.vae, AutoencoderKL, 'DiffusionLoss.vae');
    const b = a.condition.batch;
    const t = targetsOf(b, 'DiffusionLoss');
    const rng = new Rng(mixSeed(b.seed, 0xd1ff));
    // The VAE is frozen (§1.9): its latents are data, computed outside the gradient, once per image.
    const { onnxRunner } = await import('../models/backends/onnx/runner.ts'); // ONNX Runtime on first use
    const moments = await frozenVaeMoments(await onnxRunner(), vae, signed(t.data), t.batch, t.size);
    const latents = scaleLatent(samplePosterior(moments, 'sample', rng.nextUint32()), vae.config.scalingFactor);
    const acp = alphasCumprod(resolveConfig());
    const noised = noiseBatch(latents.data as Float32Array, t.batch, acp, rng, { offset: a.offset_noise, channels: latents.shape[1] });
    const timesteps = Float32Array.from(noised.timesteps);
    const weights = a.snr_gamma > 0 ? minSnrWeights(noised.timesteps, acp, a.snr_gamma) : undefined;
    return {
      loss: {
        name: 'diffusion',
        compute: <T>(ops: Ops<T>): T => {
          const cond = a.condition.compute(ops);
          const eps = unet.forward(ops, ops.tensor(noised.noisy, latents.shape), ops.tensor(timesteps, [t.batch]), cond);
          return diffusionLoss(ops, eps, ops.tensor(noised.eps, latents.shape), weights ? ops.tensor(weights, [t.batch]) : undefined);
        },
      },
    };
  },
});

/** A [B, T, 1] one-hot of each row's position (the EOS token of each caption), built on the host. */
function positionsOneHot(positions: number[], length: number) {
  const pick = new Float32Array(positions.length * length);
  positions.forEach((p, i) => (pick[i * length + p] = 1));
  return hostTensor(pick, [positions.length, length, 1]);
}

/**
 * Rows [B, D] of x [B, T, D] at the one-hot positions: a product rather than slices at the positions, so that the
 * positions are data (a tensor) and not part of the traced graph's structure.
 */
function pickRows<T>(ops: Ops<T>, x: T, oneHot: ReturnType<typeof positionsOneHot>): T {
  return ops.sum(ops.mul(x, up(ops, oneHot)), 1);
}

export const LoadCLIPHeads = defineNode({
  type: 'LoadCLIPHeads',
  category: 'training/loss',
  description: "CLIP's contrastive heads (visual_projection, text_projection, logit_scale): random, or loaded from a .safetensors file with those keys.",
  inputs: {},
  widgets: {
    path: { kind: 'PATH', default: '', mode: 'read', extensions: ['.safetensors'], description: 'empty: random heads' },
    vision_width: { kind: 'INT', default: 64, min: 1, max: 8192 },
    text_width: { kind: 'INT', default: 32, min: 1, max: 8192 },
    projection_dim: { kind: 'INT', default: 32, min: 1, max: 8192 },
    seed: { kind: 'SEED', default: 0 },
  },
  outputs: { clip_heads: { type: 'CLIP_HEADS' } },
  execute: async (a) => {
    const model = new CLIPHeads(a.vision_width, a.text_width, a.projection_dim, a.seed);
    if (a.path) {
      const file = path.resolve(a.path);
      model.loadStateDict(await loadSafetensors(file), { where: file });
    }
    const bytes = 4 * model.parameterCount();
    return { clip_heads: { model, source: a.path || `random CLIP heads (seed ${a.seed})`, byteSize: () => bytes } };
  },
});

export const ContrastiveLoss = defineNode({
  type: 'ContrastiveLoss',
  category: 'training/loss',
  description:
    "CLIP contrastive loss: symmetric cross-entropy of exp(logit_scale)·cosine similarity between the vision tower's class token and the text encoder's EOS state, through the CLIP heads' projections (or directly, at a fixed scale, when no heads are wired and the widths match).",
  inputs: {
    clip_vision: { type: 'CLIP_VISION' },
    clip_text: { type: 'CLIP_TEXT' },
    tokenizer: { type: 'TOKENIZER' },
    sequences: { type: 'TOKEN_BATCH' },
    clip_heads: { type: 'CLIP_HEADS', optional: true },
  },
  widgets: {
    logit_scale: { kind: 'FLOAT', default: Math.log(1 / 0.07), min: 0, max: 4.6052, description: 'log logit scale used without heads' },
    hard_negatives: {
      kind: 'STRING',
      default: '',
      description:
        "groups of interchangeable words, e.g. 'circle,square,triangle;red,blue,green': each caption also gets a negative with one such word swapped for another of its group, which its image must reject (NegCLIP); empty: off",
    },
  },
  outputs: { loss: { type: 'LOSS' } },
  execute: (a) => {
    const groups = parseSwapGroups(a.hard_negatives ?? '', 'ContrastiveLoss.hard_negatives');
    const vision = moduleOf(a.clip_vision, CLIPVision, 'ContrastiveLoss.clip_vision');
    const text = moduleOf(a.clip_text, CLIPTextModel, 'ContrastiveLoss.clip_text');
    const heads = a.clip_heads === undefined ? undefined : moduleOf(a.clip_heads, CLIPHeads, 'ContrastiveLoss.clip_heads');
    const vw = vision.config.width, tw = text.config.hiddenSize;
    if (heads && (heads.visionWidth !== vw || heads.textWidth !== tw)) {
      throw new TrainingInputError('TRAIN_INPUT', `ContrastiveLoss.clip_heads: heads take widths ${heads.visionWidth}/${heads.textWidth}, the towers give ${vw}/${tw}`);
    }
    if (!heads && vw !== tw) {
      throw new TrainingInputError('TRAIN_INPUT', `ContrastiveLoss: vision width ${vw} ≠ text width ${tw}: wire clip_heads (LoadCLIPHeads) to project both`);
    }
    const b = a.sequences;
    const t = targetsOf(b, 'ContrastiveLoss');
    const ids = clipIds(a.tokenizer, b, text.config.maxPositions, 'ContrastiveLoss.tokenizer');
    const negatives = groups.length ? swapNegatives(b.captions.filter((_, i) => !b.isNull[i]), groups, new Rng(mixSeed(b.seed, 0xc11b))).captions : [];
    const negativeIds = negatives.length ? clipIds(a.tokenizer, { ...b, captions: negatives, isNull: negatives.map(() => false) }, text.config.maxPositions, 'ContrastiveLoss.tokenizer') : undefined;
    // The pooled text state is at the first EOS (SD's pad is EOS too, so the first one ends the caption).
    const eos = (((a.tokenizer as { tokenizer?: unknown }).tokenizer ?? a.tokenizer) as { specials: { eos: number } }).specials.eos;
    const eosOf = (rows: typeof ids) => {
      const L = rows.shape[1]!;
      return Array.from({ length: rows.shape[0]! }, (_, i) => {
        const k = Array.from(rows.data.subarray(i * L, (i + 1) * L)).indexOf(eos);
        return k < 0 ? L - 1 : k;
      });
    };
    const eosAt = positionsOneHot(eosOf(ids), ids.shape[1]!);
    const negativeEosAt = negativeIds && positionsOneHot(eosOf(negativeIds), negativeIds.shape[1]!);
    const pixels = clipPixels(t.data, t.batch, t.size, vision.config.imageSize);
    const fixedScale = hostTensor(Float32Array.of(a.logit_scale), [1]);
    return {
      loss: {
        name: 'contrastive',
        compute: <T>(ops: Ops<T>): T => {
          let img = ops.reshape(ops.slice(vision.forward(ops, up(ops, pixels)), [0, 0, 0], [t.batch, 1, vw]), [t.batch, vw]);
          let txt = pickRows(ops, text.forward(ops, up(ops, ids)), eosAt);
          let neg = negativeIds && pickRows(ops, text.forward(ops, up(ops, negativeIds)), negativeEosAt!);
          if (heads) {
            img = heads.visual_projection.forward(ops, img);
            txt = heads.text_projection.forward(ops, txt);
            neg = neg && heads.text_projection.forward(ops, neg);
          }
          return contrastiveLoss(ops, img, txt, heads ? ops.param(heads.logit_scale) : up(ops, fixedScale), neg);
        },
      },
    };
  },
});

export const VAELoss = defineNode({
  type: 'VAELoss',
  category: 'training/loss',
  description: 'VAE: reconstruction (MSE or L1, images in [−1, 1]) of a posterior sample + kl_weight·KL(q(z|x) ‖ N(0, I)).',
  inputs: { vae: { type: 'VAE' }, sequences: { type: 'TOKEN_BATCH' } },
  widgets: {
    reconstruction: { kind: 'ENUM', options: ['mse', 'l1'], default: 'mse' },
    kl_weight: { kind: 'FLOAT', default: 1e-6, min: 0, max: 10 },
    // The VAE is convolutional: training on random windows is ~(size/crop)² cheaper per image and still
    // reconstructs whole images (docs/default-model.md, VAE recipe pilots). 0 keeps the whole image.
    crop: { kind: 'INT', default: 0, min: 0, max: 4096 },
  },
  outputs: { loss: { type: 'LOSS' } },
  execute: (a) => {
    const vae = moduleOf(a.vae, AutoencoderKL, 'VAELoss.vae');
    const t = targetsOf(a.sequences, 'VAELoss');
    const f = vaeDownscale(vae.config);
    const crop = a.crop ?? 0;
    if (t.size % f !== 0) {
      throw new TrainingInputError('TRAIN_INPUT', `VAELoss: image size ${t.size} is not a multiple of the VAE's downscale ${f}`);
    }
    if (crop !== 0 && (crop % f !== 0 || crop > t.size)) {
      throw new TrainingInputError('TRAIN_INPUT', `VAELoss.crop: ${crop} must be 0 or a multiple of the VAE's downscale ${f} no larger than the image size ${t.size}`);
    }
    const side = crop === 0 ? t.size : crop;
    // The windows come from their own stream of the step's seed, so ε below is the same with and without crops.
    const x = signed(crop === 0 ? t.data : randomSquareCrops(t.data, t.batch, t.size, crop, new Rng(mixSeed(a.sequences.seed, 0xc20))));
    const rng = new Rng(mixSeed(a.sequences.seed, 0x7ae));
    // ε of the reparameterised sample, drawn once per step from the step's seed.
    const latentShape = [t.batch, vae.config.latentChannels, side / f, side / f];
    const eps = Float32Array.from({ length: latentShape.reduce((p, q) => p * q, 1) }, () => rng.normal());
    return {
      loss: {
        name: 'vae',
        compute: <T>(ops: Ops<T>): T => {
          const input = ops.tensor(x, [t.batch, 3, side, side]);
          const moments = vae.encodeMoments(ops, input);
          const c2 = ops.shape(moments)[1]!;
          const [mean, logvar] = ops.split(moments, [c2 / 2, c2 / 2], 1);
          // z = μ + exp(logvar/2)·ε.
          const z = ops.add(mean!, ops.mul(ops.exp(ops.mul(ops.clamp(logvar!, -30, 20), 0.5)), ops.tensor(eps, latentShape)));
          return vaeLoss(ops, vae.decode(ops, z), input, mean!, logvar!, { reconstruction: a.reconstruction as 'mse' | 'l1', klWeight: a.kl_weight });
        },
      },
    };
  },
});
