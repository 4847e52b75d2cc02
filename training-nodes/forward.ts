// The differentiable forwards the loss and condition nodes share, from a TOKEN_BATCH's host arrays: image
// features (CLIP vision → L2-normalised tokens → XConnector), MLLM hidden states with the features spliced into the
// image slots, and AlignerNet inputs. They are called inside a loss closure, differentiated with the loss.
import { mllmHostInputs, type MLLM } from '../models/mllm/mllm.ts';
import type { CLIPVision } from '../models/clip/vision-model.ts';
import type { XConnector } from '../models/connector/connector.ts';
import { preprocessForCLIP } from '../models/clip/vision-preprocess.ts';
import { imageValue } from '../models/image.ts';
import { alignerPadMask, alignerPositionIds } from '../models/aligner/aligner.ts';
import type { HostTensor, Ops } from '../models/ops/ops.ts';
import { TrainingInputError } from './inputs.ts';
import type { TokenBatchValue } from './types.ts';

export interface Vision {
  vision: CLIPVision;
  connector: XConnector;
}

export function up<T>(ops: Ops<T>, t: HostTensor): T {
  return ops.tensor(t.data, t.shape, t.dtype);
}

/** CLIP-normalised pixels of `count` images [count, 3, size, size] in [0, 1]. */
export function clipPixels(data: Float32Array, count: number, size: number, visionSize: number): HostTensor {
  return preprocessForCLIP(imageValue(data, count, size, size), visionSize);
}

/** MLLM final hidden states [B, T, D] for a token batch, image features spliced in where the sequences ask. */
export function mllmStates<T>(ops: Ops<T>, mllm: MLLM, b: TokenBatchValue, vision?: Vision): T {
  const { tokens, batch, length, imageMask } = b.tokens;
  const host = mllmHostInputs(tokens, batch, length, b.pad, imageMask);
  let image: { features: T; spliceIndex: T } | undefined;
  if (host.imageSlots > 0) {
    if (!vision || !b.images) {
      throw new TrainingInputError('TRAIN_INPUT', 'these sequences splice images: wire clip_vision and connector into the node');
    }
    const pixels = clipPixels(b.images.data, b.images.count, b.images.size, vision.vision.config.imageSize);
    const features = vision.connector.forward(ops, vision.vision.forward(ops, up(ops, pixels)));
    const rows = ops.shape(features)[0]!;
    // More rows than slots: blank images padding the batch (BuildSequences pad_images_to), never spliced.
    if (rows < host.imageSlots) {
      throw new TrainingInputError('TRAIN_INPUT', `the connector gives ${rows} feature rows, the sequences have ${host.imageSlots} image slots`);
    }
    image = { features, spliceIndex: up(ops, host.spliceIndex!) };
  }
  return mllm.forward(ops, up(ops, host.tokens), up(ops, host.positions), up(ops, host.notPad), image);
}

export function alignerInputs<T>(ops: Ops<T>, b: TokenBatchValue): { positionIds: T; padMask: T } {
  const { tokens, batch, length } = b.tokens;
  return { positionIds: up(ops, alignerPositionIds(batch, length)), padMask: up(ops, alignerPadMask(tokens, batch, length, b.pad)) };
}
