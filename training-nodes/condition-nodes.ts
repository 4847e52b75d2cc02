// Conditioning forwards for the diffusion loss, run under autograd each step: KOSMOS-G's (MLLM → AlignerNet-M,
// spec §1.6; null conditions are `[<s>]` rows of the same batch, so they get gradients as in the reference) and
// plain SD's (CLIP text encoder on the captions, "" for null conditions).
import { defineNode } from '../engine/node-def.ts';
import { MLLM } from '../models/mllm/mllm.ts';
import { AlignerNet } from '../models/aligner/aligner.ts';
import { CLIPVision } from '../models/clip/vision-model.ts';
import { XConnector } from '../models/connector/connector.ts';
import { CLIPTextModel } from '../models/clip/text-model.ts';
import { encodePadded, type TextTokenizer } from '../models/tokenizers/tokenizer.ts';
import { hostTensor } from '../models/ops/ops.ts';
import type { Ops } from '../models/ops/ops.ts';
import { moduleOf, sequenceTokenizer } from './inputs.ts';
import { alignerInputs, mllmStates, up, type Vision } from './forward.ts';
import type { TokenBatchValue } from './types.ts';

export function optionalVision(vision: unknown, connector: unknown, where: string): Vision | undefined {
  if (vision === undefined && connector === undefined) return undefined;
  return { vision: moduleOf(vision, CLIPVision, `${where}.clip_vision`), connector: moduleOf(connector, XConnector, `${where}.connector`) };
}

/** CLIP text ids [B, L] for the captions (null conditions get ""), padded as the SD tokenizer does. */
export function clipIds(tokenizer: unknown, b: TokenBatchValue, maxLength: number, where: string) {
  sequenceTokenizer(tokenizer, where); // checks it is a tokenizer
  const tok = ((tokenizer as { tokenizer?: unknown }).tokenizer ?? tokenizer) as TextTokenizer;
  const rows = b.captions.map((c, i) => encodePadded(tok, b.isNull[i] ? '' : c, { maxLength }));
  return hostTensor(Int32Array.from(rows.flat()), [rows.length, maxLength]);
}

export const KosmosGCondition = defineNode({
  type: 'KosmosGCondition',
  category: 'training/forward',
  description: 'KOSMOS-G conditioning under autograd: MLLM over the sequences (images through CLIP vision + connector), then AlignerNet-M.',
  inputs: {
    mllm: { type: 'MLLM' },
    aligner: { type: 'ALIGNER' },
    sequences: { type: 'TOKEN_BATCH' },
    clip_vision: { type: 'CLIP_VISION', optional: true },
    connector: { type: 'CONNECTOR', optional: true },
  },
  widgets: {},
  outputs: { condition: { type: 'TRAIN_CONDITION' } },
  execute: (a) => {
    const mllm = moduleOf(a.mllm, MLLM, 'KosmosGCondition.mllm');
    const aligner = moduleOf(a.aligner, AlignerNet, 'KosmosGCondition.aligner');
    const vision = optionalVision(a.clip_vision, a.connector, 'KosmosGCondition');
    const b = a.sequences;
    return {
      condition: {
        batch: b,
        source: 'kosmos-g',
        compute: <T>(ops: Ops<T>): T => {
          const states = mllmStates(ops, mllm, b, vision);
          const { positionIds, padMask } = alignerInputs(ops, b);
          return aligner.encode(ops, states, positionIds, padMask);
        },
      },
    };
  },
});

export const ClipTextCondition = defineNode({
  type: 'ClipTextCondition',
  category: 'training/forward',
  description: 'Plain SD conditioning under autograd: the CLIP text encoder over the captions ("" for null conditions).',
  inputs: { clip_text: { type: 'CLIP_TEXT' }, tokenizer: { type: 'TOKENIZER' }, sequences: { type: 'TOKEN_BATCH' } },
  widgets: {},
  outputs: { condition: { type: 'TRAIN_CONDITION' } },
  execute: (a) => {
    const clip = moduleOf(a.clip_text, CLIPTextModel, 'ClipTextCondition.clip_text');
    const ids = clipIds(a.tokenizer, a.sequences, clip.config.maxPositions, 'ClipTextCondition.tokenizer');
    return { condition: { batch: a.sequences, source: 'clip-text', compute: <T>(ops: Ops<T>): T => clip.forward(ops, up(ops, ids)) } };
  },
});
