// The socket values of the training pack. A DATASET is rows read from an index file; a BATCH is the rows of one
// step; a TOKEN_BATCH is a batch turned into model inputs (sequences, image pixels, target images); a
// TRAIN_CONDITION is a differentiable conditioning forward (KOSMOS-G MLLM + AlignerNet-M, or CLIP text); a LOSS
// is a closure the training loop calls under autograd; a CHECKPOINT names a saved checkpoint folder.
import type { Dataset } from '../models/data/datasets.ts';
import type { CollatedTokens } from '../models/data/sequences.ts';
import type { Ops } from '../models/ops/ops.ts';
import type { LossFn } from '../models/autodiff/index.ts';
import type { CLIPHeads } from '../models/training/clip-heads.ts';

export interface DatasetValue {
  dataset: Dataset;
  byteSize(): number;
}

export interface BatchValue {
  dataset: Dataset;
  /** Indices of this step's rows in `dataset.rows`. */
  indices: number[];
  /** Micro-step the batch belongs to (the data cursor). */
  step: number;
  /** Seed of this step's randomness. */
  seed: number;
  epoch: number;
}

export interface TokenBatchValue {
  /** Right-padded MLLM inputs (with LM targets for language-model modes). */
  tokens: CollatedTokens;
  /** The pixels of every image block, in sequence order: [N, 3, S, S] in [0, 1]. */
  images?: { data: Float32Array; count: number; size: number };
  /** Per sample, the image a diffusion or reconstruction loss targets: [B, 3, S, S] in [0, 1]. */
  targets?: { data: Float32Array; batch: number; size: number };
  /** Per sample, the caption text (CLIP targets in stage 2, text side of CLIP training). */
  captions: string[];
  /** Per sample, whether its condition was replaced by the null condition. */
  isNull: boolean[];
  seed: number;
  /** The tokenizer's `<pad>` id the tokens are padded with. */
  pad: number;
}

export interface TrainConditionValue {
  /** Conditioning [B, L, D] for the U-Net's cross-attention, differentiated with the loss. */
  compute<T>(ops: Ops<T>): T;
  batch: TokenBatchValue;
  source: string;
}

export interface LossValue {
  name: string;
  /**
   * The scalar loss, written against Ops: TrainLoop differentiates it on its backend (traced with the backward pass
   * into one ONNX graph, or under tfjs autograd).
   */
  compute: LossFn;
}

export interface CheckpointValue {
  /** The checkpoint's step folder (model.safetensors, optimizer.safetensors, state.json). */
  dir: string;
  step: number;
  losses: number[];
  /** The evaluation losses of the run that wrote it (TrainLoop `eval_every`), in order; absent when off. */
  evals?: { step: number; loss: number }[];
}

/** CLIP_HEADS: the contrastive projections and logit scale (models/training/clip-heads.ts). */
export interface ClipHeadsValue {
  model: CLIPHeads;
  source: string;
  byteSize(): number;
}

declare module '../engine/node-def.ts' {
  interface SocketTypes {
    CLIP_HEADS: ClipHeadsValue;
    DATASET: DatasetValue;
    BATCH: BatchValue;
    TOKEN_BATCH: TokenBatchValue;
    TRAIN_CONDITION: TrainConditionValue;
    LOSS: LossValue;
    CHECKPOINT: CheckpointValue;
  }
}
