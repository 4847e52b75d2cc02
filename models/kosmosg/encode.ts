// The KOSMOS-G condition pipeline (spec §1.3, §1.6): images → CLIP vision → connector → spliced into the MLLM
// input → MLLM hidden states → AlignerNet M → [B, 77, 768], the U-Net's encoder_hidden_states. And the null
// condition for guidance: the same MLLM + M on `[<s>]` (+ a negative prompt), never CLIP("").
// Each part runs through a Runner entry of its own, so ONNX traces are cached per part and shape.

import type { ImageValue } from '../image.ts';
import { hostTensor, type HostTensor } from '../ops/ops.ts';
import type { ForwardFn, Runner } from '../runtime/runner.ts';
import { preprocessForCLIP } from '../clip/vision-preprocess.ts';
import type { CLIPVision } from '../clip/vision-model.ts';
import type { XConnector } from '../connector/connector.ts';
import { mllmHostInputs, type MLLM } from '../mllm/mllm.ts';
import { alignerPadMask, alignerPositionIds, type AlignerNet } from '../aligner/aligner.ts';
import type { KosmosG } from './kosmosg.ts';

/** One MLLM input sequence: tokens and the image-slot mask (1 where an image feature goes). */
export interface PromptSequence {
  tokens: Int32Array;
  imageMask?: Uint8Array | Int32Array;
}

export class KosmosEncodeError extends Error {
  constructor(
    readonly code: 'KOSMOS_IMAGE_COUNT' | 'KOSMOS_EMPTY_PROMPT',
    message: string,
  ) {
    super(message);
  }
}

/** Images (batches of any sizes, taken in order) → preprocessed pixels [N, 3, S, S]. */
export function preprocessImages(images: ImageValue | readonly ImageValue[], size: number): HostTensor {
  const list = Array.isArray(images) ? (images as readonly ImageValue[]) : [images as ImageValue];
  const parts = list.filter((i) => i.batch > 0).map((i) => preprocessForCLIP(i, size));
  const n = parts.reduce((a, p) => a + p.shape[0]!, 0);
  const data = new Float32Array(n * 3 * size * size);
  let offset = 0;
  for (const p of parts) {
    data.set(p.data as Float32Array, offset);
    offset += p.data.length;
  }
  return hostTensor(data, [n, 3, size, size]);
}

/** Count of images in a list of batches. */
export function imageCount(images: ImageValue | readonly ImageValue[] | undefined): number {
  if (!images) return 0;
  return Array.isArray(images) ? (images as readonly ImageValue[]).reduce((a, i) => a + i.batch, 0) : (images as ImageValue).batch;
}

/** Images [N, 3, H, W] in [0, 1] (one batch or several) → L2-normalised CLIP tokens [N, T, width]. */
export async function encodeImages(runner: Runner, visual: CLIPVision, images: ImageValue | readonly ImageValue[]): Promise<HostTensor> {
  const pixels = preprocessImages(images, visual.config.imageSize);
  const forward: ForwardFn = (ops, [x]) => [visual.forward(ops, x!)];
  return (await runner.run(visual, 'clip-vision', forward, [pixels]))[0]!;
}

/** CLIP tokens [N, T, width] → connector features [N·latents, dim]. */
export async function resample(runner: Runner, connector: XConnector, imageTokens: HostTensor): Promise<HostTensor> {
  const forward: ForwardFn = (ops, [x]) => [connector.forward(ops, x!)];
  return (await runner.run(connector, 'connector', forward, [imageTokens]))[0]!;
}

/** Right-pad sequences with `padIdx` (mask with 0) into [B, T]. */
export function batchSequences(seqs: readonly PromptSequence[], padIdx: number): { tokens: Int32Array; mask: Uint8Array; batch: number; length: number } {
  if (seqs.length === 0) throw new KosmosEncodeError('KOSMOS_EMPTY_PROMPT', 'KOSMOS-G encode: no prompt sequences');
  const length = Math.max(...seqs.map((s) => s.tokens.length));
  if (length === 0) throw new KosmosEncodeError('KOSMOS_EMPTY_PROMPT', 'KOSMOS-G encode: empty token sequence (it needs at least <s>)');
  const tokens = new Int32Array(seqs.length * length).fill(padIdx);
  const mask = new Uint8Array(seqs.length * length);
  seqs.forEach((s, b) => {
    tokens.set(s.tokens, b * length);
    if (s.imageMask) for (let i = 0; i < s.imageMask.length; i++) mask[b * length + i] = s.imageMask[i] ? 1 : 0;
  });
  return { tokens, mask, batch: seqs.length, length };
}

/**
 * MLLM hidden states [B, T, D] for right-padded sequences; `features` [N, D] fill the masked slots in order
 * (their count must equal the mask's ones).
 */
export async function mllmEncode(
  runner: Runner,
  mllm: MLLM,
  seqs: readonly PromptSequence[],
  features?: HostTensor,
): Promise<{ states: HostTensor; tokens: Int32Array; batch: number; length: number }> {
  const { tokens, mask, batch, length } = batchSequences(seqs, mllm.config.padIdx);
  const inputs = mllmHostInputs(tokens, batch, length, mllm.config.padIdx, mask);
  const rows = features ? features.shape[0]! : 0;
  if (inputs.imageSlots !== rows) {
    throw new KosmosEncodeError(
      'KOSMOS_IMAGE_COUNT',
      `MLLM encode: the prompt has ${inputs.imageSlots} image slots but ${rows} image feature rows were given ` +
        `(${mllm.config.embedDim}-wide rows, one per connector latent)`,
    );
  }
  let states: HostTensor;
  if (inputs.spliceIndex && features) {
    const forward: ForwardFn = (ops, [t, p, n, f, s]) => [mllm.forward(ops, t!, p!, n!, { features: f!, spliceIndex: s! })];
    states = (await runner.run(mllm, 'mllm-image', forward, [inputs.tokens, inputs.positions, inputs.notPad, features, inputs.spliceIndex]))[0]!;
  } else {
    const forward: ForwardFn = (ops, [t, p, n]) => [mllm.forward(ops, t!, p!, n!)];
    states = (await runner.run(mllm, 'mllm-text', forward, [inputs.tokens, inputs.positions, inputs.notPad]))[0]!;
  }
  return { states, tokens, batch, length };
}

/** AlignerNet M: MLLM states [B, T, D] (+ their tokens, for the padding mask) → condition [B, queries, dim]. */
export async function alignerEncode(runner: Runner, aligner: AlignerNet, states: HostTensor, tokens: Int32Array, padIdx = 1): Promise<HostTensor> {
  const [b, t] = states.shape as [number, number];
  const forward: ForwardFn = (ops, [x, pos, pad]) => [aligner.encode(ops, x!, pos!, pad!)];
  return (await runner.run(aligner, 'aligner-m', forward, [states, alignerPositionIds(b, t), alignerPadMask(tokens, b, t, padIdx)]))[0]!;
}

/** AlignerNet N: condition [B, queries, dim] → reconstructed MLLM states [B, length, mllmDim]. */
export async function alignerReconstruct(runner: Runner, aligner: AlignerNet, condition: HostTensor, length: number): Promise<HostTensor> {
  const b = condition.shape[0]!;
  const forward: ForwardFn = (ops, [c, pos]) => [aligner.reconstruct(ops, c!, pos!)];
  return (await runner.run(aligner, 'aligner-n', forward, [condition, alignerPositionIds(b, length)]))[0]!;
}

/**
 * The whole condition: prompt sequences (one per batch row) and the images their slots take, in order → [B, 77, 768].
 */
export async function encodeKosmosG(
  runner: Runner,
  model: KosmosG,
  seqs: readonly PromptSequence[],
  images?: ImageValue | readonly ImageValue[],
): Promise<HostTensor> {
  let features: HostTensor | undefined;
  if (images && imageCount(images) > 0) features = await resample(runner, model.connector, await encodeImages(runner, model.visual, images));
  const { states, tokens } = await mllmEncode(runner, model.mllm, seqs, features);
  return alignerEncode(runner, model.aligner, states, tokens, model.mllm.config.padIdx);
}

/**
 * The null condition (spec §1.6): MLLM + AlignerNet-M on `[<s>]`, or `[<s>] + negative` when a negative prompt's
 * ids are given. Shape [1, 77, 768].
 */
export async function nullCondition(runner: Runner, model: KosmosG, bos: number, negativeIds: readonly number[] = []): Promise<HostTensor> {
  const tokens = Int32Array.from([bos, ...negativeIds]);
  const { states } = await mllmEncode(runner, model.mllm, [{ tokens }]);
  return alignerEncode(runner, model.aligner, states, tokens, model.mllm.config.padIdx);
}
