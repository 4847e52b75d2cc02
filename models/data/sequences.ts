// Training sequences as the reference loaders build them (spec §1.3, §1.9, §1.10). Every loader builds
// `[<s>] … [</s>]` and the collate step takes src = full[:-1], target = full[1:], so `</s>` is never an input;
// condition sequences (what the MLLM reads for the U-Net) are therefore `[<s>] …` without `</s>`, exactly as at
// inference. Each image occupies 66 positions: `<image>`, 64 slots overwritten by the resampler's features, `</image>`.
// Text snippets between images are encoded separately, as the inference prompt splitter does.
// All randomness comes from a caller's Rng, so a sequence is a pure function of (row, seed).
import type { Rng } from '../ops/random.ts';
import type { ImageRef } from './images.ts';
import type { CompositionalRow, EditRow } from './datasets.ts';

/** Any tokenizer that encodes text without BOS/EOS and knows the fairseq special ids. */
export interface SequenceTokenizer {
  encode(text: string): number[];
  readonly bos: number;
  readonly pad: number;
  readonly eos: number;
  /** `<image>` (64003 in the KOSMOS-G dictionary). */
  readonly image: number;
  /** `</image>` (64004). */
  readonly imageEnd: number;
}

/** The KOSMOS-G fairseq dictionary's special ids (§1.2). */
export const FAIRSEQ_SPECIAL_IDS = { bos: 0, pad: 1, eos: 2, unk: 3, image: 64003, imageEnd: 64004 } as const;

/** §1.3: `--latent-query-num 64` image features per image. */
export const IMAGE_TOKEN_LENGTH = 64;

export interface TokenSequence {
  /** Input ids (src). */
  tokens: number[];
  /** 1 at the 64 slots per image whose embeddings are overwritten by image features. */
  imageMask: number[];
  /** The image spliced at each image block, in order. */
  images: ImageRef[];
  /** Next-token targets (language-model sequences only), same length as `tokens`. */
  target?: number[];
  /** 1 where the target is a text token (image blocks and pads are not predicted). */
  lossMask?: number[];
  /** The image a diffusion loss reconstructs (stage 3). */
  targetImage?: ImageRef;
  /** This condition was replaced by the null condition `[<s>]` (classifier-free guidance dropout). */
  isNull?: boolean;
}

class Builder {
  tokens: number[] = [];
  imageMask: number[] = [];
  images: ImageRef[] = [];
  constructor(readonly tok: SequenceTokenizer) {}
  ids(ids: number[]): this {
    this.tokens.push(...ids);
    for (let i = 0; i < ids.length; i++) this.imageMask.push(0);
    return this;
  }
  text(text: string): this {
    return text.trim() ? this.ids(this.tok.encode(text)) : this;
  }
  image(ref: ImageRef): this {
    this.tokens.push(...new Array<number>(IMAGE_TOKEN_LENGTH + 1).fill(this.tok.image), this.tok.imageEnd);
    this.imageMask.push(0, ...new Array<number>(IMAGE_TOKEN_LENGTH).fill(1), 0);
    this.images.push(ref);
    return this;
  }
  condition(): TokenSequence {
    return { tokens: this.tokens, imageMask: this.imageMask, images: this.images };
  }
  /** Close with `</s>` and shift: src = full[:-1], target = full[1:], loss only where the target is text. */
  languageModel(): TokenSequence {
    this.ids([this.tok.eos]);
    const full = this.tokens;
    const target = full.slice(1);
    const notText = new Set([this.tok.image, this.tok.imageEnd, this.tok.pad]);
    return {
      tokens: full.slice(0, -1),
      imageMask: this.imageMask.slice(0, -1),
      images: this.images,
      target,
      lossMask: target.map((t) => (notText.has(t) ? 0 : 1)),
    };
  }
}

/** Stage 1 text: `[<s>] + caption + [</s>]`, shifted for next-token prediction. */
export function captionSequence(tok: SequenceTokenizer, caption: string): TokenSequence {
  return new Builder(tok).ids([tok.bos]).text(caption).languageModel();
}

/** Stage 1 image–caption (Kosmos-1 style): `[<s>] + image block + caption + [</s>]`, loss on the caption only. */
export function imageCaptionSequence(tok: SequenceTokenizer, caption: string, image: ImageRef): TokenSequence {
  return new Builder(tok).ids([tok.bos]).image(image).text(caption).languageModel();
}

/** Stage 2 and text-to-image condition: `[<s>] + caption` (the LAION loader; no `</s>` reaches the model). */
export function textConditionSequence(tok: SequenceTokenizer, caption: string): TokenSequence {
  return new Builder(tok).ids([tok.bos]).text(caption).condition();
}

/** The null condition: `[<s>]` alone (§1.6). */
export function nullConditionSequence(tok: SequenceTokenizer): TokenSequence {
  return { ...new Builder(tok).ids([tok.bos]).condition(), isNull: true };
}

/** With probability `p`, replace a condition by the null condition (keeping its target image). */
export function maybeNullCondition(tok: SequenceTokenizer, seq: TokenSequence, rng: Rng, p = 0.1): TokenSequence {
  if (rng.uniform() > p) return seq;
  return { ...nullConditionSequence(tok), targetImage: seq.targetImage };
}

export interface EditSequenceOptions {
  /** `--random-drop-caption-prob`, 0.5 in the scripts. */
  dropCaptionProb?: number;
}

/** InstructPix2Pix: `[<s>] + input_caption (dropped with p 0.5) + image block + instruction`; target = edited image. */
export function editSequence(tok: SequenceTokenizer, row: EditRow, rng: Rng, o: EditSequenceOptions = {}): TokenSequence {
  const pair = row.pairs[rng.int(row.pairs.length)]!;
  const b = new Builder(tok).ids([tok.bos]);
  if (rng.uniform() > (o.dropCaptionProb ?? 0.5)) b.text(row.inputCaption);
  b.image(pair.input).text(row.instruction);
  return { ...b.condition(), targetImage: pair.edited };
}

const COLOUR_WORDS = new Set([
  'red', 'green', 'blue', 'yellow', 'white', 'black', 'orange', 'purple', 'pink', 'brown', 'gray', 'grey',
  'violet', 'cyan', 'magenta', 'gold', 'golden', 'silver', 'beige', 'navy', 'teal', 'turquoise',
]);

export interface TagSpan {
  tag: string;
  /** Index into the row's entities. */
  entity: number;
  start: number;
  end: number;
}

/**
 * The loader's tag rules (§1.10): drop colour tags, tags not found as a whole word in the caption, and ambiguous
 * tags (occurring more than once, or overlapping another tag); sort the rest by position in the caption.
 */
export function usableTags(caption: string, tags: readonly string[]): TagSpan[] {
  const spans: TagSpan[] = [];
  tags.forEach((raw, entity) => {
    const tag = raw.trim();
    if (!tag || COLOUR_WORDS.has(tag.toLowerCase())) return;
    const escaped = tag.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const hits = [...caption.matchAll(new RegExp(`(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])`, 'giu'))];
    if (hits.length !== 1) return;
    spans.push({ tag, entity, start: hits[0]!.index!, end: hits[0]!.index! + hits[0]![0].length });
  });
  const overlapping = new Set<TagSpan>();
  for (const a of spans) for (const b of spans) if (a !== b && a.start < b.end && b.start < a.end) overlapping.add(a);
  return spans.filter((s) => !overlapping.has(s)).sort((a, b) => a.start - b.start);
}

export interface CompositionalOptions {
  /** `drop_object`: cut before the entity word so the image replaces it (0.5). */
  dropObjectProb?: number;
  /** Splice the masked crop instead of the crop (0.5). */
  maskedProb?: number;
}

/**
 * Stage 3 compositional: for each usable entity, the caption text up to the end of its word (or, with p 0.5,
 * up to its start, dropping the word), then the entity's image block (crop or masked crop, 50/50); then the rest
 * of the caption. Target = the full image. A row with no usable tags becomes a plain caption condition.
 */
export function compositionalSequence(
  tok: SequenceTokenizer,
  row: CompositionalRow,
  rng: Rng,
  o: CompositionalOptions = {},
): TokenSequence {
  const b = new Builder(tok).ids([tok.bos]);
  let cursor = 0;
  for (const span of usableTags(row.caption, row.entities.map((e) => e.tag))) {
    const drop = rng.uniform() <= (o.dropObjectProb ?? 0.5);
    b.text(row.caption.slice(cursor, drop ? span.start : span.end));
    const ent = row.entities[span.entity]!;
    b.image(rng.uniform() <= (o.maskedProb ?? 0.5) ? ent.masked : ent.crop);
    cursor = span.end;
  }
  b.text(row.caption.slice(cursor));
  return { ...b.condition(), targetImage: row.image };
}

export interface CollatedTokens {
  batch: number;
  length: number;
  /** [B, T] right-padded with `<pad>`. */
  tokens: Int32Array;
  /** [B, T] 1 at image-feature slots. */
  imageMask: Float32Array;
  /** [B, T] 1 at padding (for attention key masks). */
  padMask: Float32Array;
  /** [B, T] (language-model batches). */
  target?: Int32Array;
  /** [B, T] 1 where the target counts in the loss. */
  lossMask?: Float32Array;
}

/**
 * Right-pad a batch of sequences with `<pad>` (masks with 0), as the eval scripts do; the length is rounded up to a
 * multiple of `lengthMultiple` (more pads, masked like the others), so batches fall into fewer distinct shapes.
 */
export function collateSequences(seqs: readonly TokenSequence[], pad: number, lengthMultiple = 1): CollatedTokens {
  const B = seqs.length;
  const T = Math.ceil(Math.max(...seqs.map((s) => s.tokens.length)) / lengthMultiple) * lengthMultiple;
  const lm = seqs.every((s) => s.target && s.lossMask);
  const tokens = new Int32Array(B * T).fill(pad);
  const imageMask = new Float32Array(B * T);
  const padMask = new Float32Array(B * T).fill(1);
  const target = lm ? new Int32Array(B * T).fill(pad) : undefined;
  const lossMask = lm ? new Float32Array(B * T) : undefined;
  seqs.forEach((s, b) => {
    s.tokens.forEach((t, i) => {
      tokens[b * T + i] = t;
      imageMask[b * T + i] = s.imageMask[i]!;
      padMask[b * T + i] = 0;
      if (target && lossMask) {
        target[b * T + i] = s.target![i]!;
        lossMask[b * T + i] = s.lossMask![i]!;
      }
    });
  });
  return { batch: B, length: T, tokens, imageMask, padMask, target, lossMask };
}
