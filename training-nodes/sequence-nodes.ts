// BuildSequences: a batch of rows → the model inputs of one training mode (spec §1.3, §1.9, §1.10), with the
// images each sequence splices in and the images a diffusion loss targets, loaded and resized here.
import { defineNode } from '../engine/node-def.ts';
import { Rng } from '../models/ops/random.ts';
import { loadImage, type ImageRef } from '../models/data/images.ts';
import {
  captionSequence, collateSequences, compositionalSequence, editSequence, imageCaptionSequence, maybeNullCondition,
  textConditionSequence, type SequenceTokenizer, type TokenSequence,
} from '../models/data/sequences.ts';
import type { CompositionalRow, Dataset, EditRow } from '../models/data/datasets.ts';
import { sequenceTokenizer, TrainingInputError } from './inputs.ts';
import type { BatchValue, TokenBatchValue } from './types.ts';

export const SEQUENCE_MODES = ['caption-lm', 'image-caption-lm', 'text-condition', 'image-text', 'compositional', 'edit'] as const;
export type SequenceMode = (typeof SEQUENCE_MODES)[number];

interface Built {
  seq: TokenSequence;
  caption: string;
  /** A plain image a sample carries (image-text mode: CLIP/VAE/T2I targets). */
  image?: ImageRef;
}

function buildOne(mode: SequenceMode, tok: SequenceTokenizer, d: Dataset, index: number, rng: Rng, o: BuildOptions): Built {
  const need = (kinds: Dataset['kind'][]) => {
    if (!kinds.includes(d.kind)) {
      throw new TrainingInputError('TRAIN_INPUT', `BuildSequences: mode '${mode}' needs a ${kinds.join(' or ')} dataset, got '${d.kind}'`);
    }
  };
  const row = d.rows[index]!;
  const cond = (seq: TokenSequence) => (o.nullProb > 0 ? maybeNullCondition(tok, seq, rng, o.nullProb) : seq);
  switch (mode) {
    case 'caption-lm':
      need(['captions', 'image-captions', 'compositional']);
      return { seq: captionSequence(tok, (row as { caption: string }).caption), caption: (row as { caption: string }).caption };
    case 'image-caption-lm': {
      need(['image-captions']);
      const r = d.rows[index] as { caption: string; image: ImageRef };
      return { seq: imageCaptionSequence(tok, r.caption, r.image), caption: r.caption };
    }
    case 'text-condition':
      need(['captions', 'image-captions', 'compositional']);
      return { seq: cond(textConditionSequence(tok, (row as { caption: string }).caption)), caption: (row as { caption: string }).caption };
    case 'image-text': {
      need(['image-captions', 'compositional']);
      const r = row as { caption: string; image: ImageRef };
      return { seq: cond({ ...textConditionSequence(tok, r.caption), targetImage: r.image }), caption: r.caption, image: r.image };
    }
    case 'compositional': {
      need(['compositional']);
      const r = row as CompositionalRow;
      const seq = compositionalSequence(tok, r, rng, { dropObjectProb: o.dropObjectProb, maskedProb: o.maskedProb });
      // The batch's caption is what the prompt means (ConditionAlignLoss aligns to its CLIP text condition).
      return { seq: cond(seq), caption: r.meaning ?? r.caption };
    }
    case 'edit': {
      need(['edit']);
      const r = row as EditRow;
      // The batch's caption is what the edited picture shows where the data says (ConditionAlignLoss's target).
      return { seq: cond(editSequence(tok, r, rng, { dropCaptionProb: o.dropCaptionProb })), caption: r.meaning ?? r.instruction };
    }
  }
}

interface BuildOptions {
  /** Round the padded length up to a multiple of this, and the count of spliced images (with blank ones). */
  lengthMultiple?: number;
  imageMultiple?: number;
  nullProb: number;
  dropCaptionProb: number;
  dropObjectProb: number;
  maskedProb: number;
}

async function loadMany(refs: ImageRef[], size: number, where: string): Promise<Float32Array> {
  const out = new Float32Array(refs.length * 3 * size * size);
  for (const [i, ref] of refs.entries()) out.set(await loadImage(ref, size, where), i * 3 * size * size);
  return out;
}

export async function buildTokenBatch(
  batch: BatchValue,
  tok: SequenceTokenizer,
  mode: SequenceMode,
  imageSize: number,
  o: BuildOptions,
): Promise<TokenBatchValue> {
  const rng = new Rng(batch.seed);
  const built = batch.indices.map((i) => buildOne(mode, tok, batch.dataset, i, rng, o));
  const blocks = built.flatMap((b) => b.seq.images);
  if (blocks.length && (tok.image < 0 || tok.imageEnd < 0)) {
    throw new TrainingInputError('TRAIN_INPUT', `BuildSequences: mode '${mode}' splices images, but the tokenizer has no <image> ids`);
  }
  const where = `BuildSequences (${batch.dataset.report.source}, step ${batch.step})`;
  const targetRefs = built.map((b) => b.seq.targetImage ?? b.image);
  const value: TokenBatchValue = {
    tokens: collateSequences(built.map((b) => b.seq), tok.pad, o.lengthMultiple),
    captions: built.map((b) => b.caption),
    isNull: built.map((b) => b.seq.isNull === true),
    seed: batch.seed,
    pad: tok.pad,
  };
  if (blocks.length) {
    // Blank images after the real ones: their features are computed but never spliced (no slot points at them).
    const count = Math.ceil(blocks.length / (o.imageMultiple ?? 1)) * (o.imageMultiple ?? 1);
    const data = new Float32Array(count * 3 * imageSize * imageSize);
    data.set(await loadMany(blocks, imageSize, where));
    value.images = { data, count, size: imageSize };
  }
  if (targetRefs.every((r) => r)) {
    value.targets = { data: await loadMany(targetRefs as ImageRef[], imageSize, where), batch: built.length, size: imageSize };
  }
  return value;
}

export const BuildSequences = defineNode({
  type: 'BuildSequences',
  category: 'training/data',
  description:
    'Turn a batch into training sequences: caption-lm ([<s>] caption [</s>]), image-caption-lm, text-condition (stage 2 / T2I), image-text (pairs for CLIP, VAE, T2I), compositional (stage 3), edit (InstructPix2Pix).',
  inputs: { batch: { type: 'BATCH' }, tokenizer: { type: 'TOKENIZER' } },
  widgets: {
    mode: { kind: 'ENUM', options: SEQUENCE_MODES, default: 'caption-lm' },
    image_size: { kind: 'INT', default: 224, min: 8, max: 1024, description: 'spliced and target images are resized to this' },
    null_prob: { kind: 'FLOAT', default: 0.1, min: 0, max: 1, description: 'conditions replaced by the null condition [<s>]' },
    drop_caption_prob: { kind: 'FLOAT', default: 0.5, min: 0, max: 1 },
    drop_object_prob: { kind: 'FLOAT', default: 0.5, min: 0, max: 1 },
    masked_prob: { kind: 'FLOAT', default: 0.5, min: 0, max: 1, description: 'splice the masked crop instead of the crop' },
    pad_length_to: {
      kind: 'INT', default: 1, min: 1, max: 1024,
      description:
        "round the padded sequence length up to a multiple of this: fewer distinct shapes, so ONNX Runtime training compiles fewer step graphs. The extra pads are masked in attention and in the LM loss (not in the AlignerNet loss's reconstruction, which counts pads: keep 1 there)",
    },
    pad_images_to: {
      kind: 'INT', default: 1, min: 1, max: 1024,
      description: 'round the number of spliced images up to a multiple of this with blank images that no sequence splices (fewer distinct shapes, as pad_length_to)',
    },
  },
  outputs: { sequences: { type: 'TOKEN_BATCH' } },
  execute: async (a) => ({
    sequences: await buildTokenBatch(a.batch, sequenceTokenizer(a.tokenizer, 'BuildSequences.tokenizer'), a.mode as SequenceMode, a.image_size, {
      nullProb: a.mode === 'caption-lm' || a.mode === 'image-caption-lm' ? 0 : a.null_prob,
      dropCaptionProb: a.drop_caption_prob,
      dropObjectProb: a.drop_object_prob,
      maskedProb: a.masked_prob,
      lengthMultiple: a.pad_length_to,
      imageMultiple: a.pad_images_to,
    }),
  }),
});
