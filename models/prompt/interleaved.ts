// The KOSMOS-G MLLM input sequence (spec §1.3, `AppModel.kosmosg_preprocess`): a prompt with one literal `<i>`
// per image becomes
//   <s>  text₀  <image>×65 </image>  text₁  <image>×65 </image>  …  textₙ
// where the last 64 `<image>` of each run are slots the image features overwrite (mask 1) and the first `<image>`
// and `</image>` stay tokens (mask 0). Each text snippet is tokenized on its own (so "a dog " → ▁a ▁dog), and no
// `</s>` is appended: training sequences drop it too (`src = full[:-1]`).
//
// Works with any tokenizer that has fairseq-style specials with `image`/`endImage` ids: KOSMOS-G's SentencePiece or
// the project's small "word" tokenizer.

import type { TextTokenizer } from '../tokenizers/tokenizer.ts';

export const IMAGE_PLACEHOLDER = '<i>';
/** `--latent-query-num 64`: image feature slots per image (the connector's 64 latent queries). */
export const IMAGE_FEATURE_TOKENS = 64;

export interface InterleavedPrompt {
  /** Token ids, length T. */
  tokens: Int32Array;
  /** 1 where an image feature replaces the token embedding (64 per image), else 0. Length T. */
  imageMask: Uint8Array;
  imageCount: number;
}

/** A prompt error a user can act on; the node layer turns it into a validation error. */
export class PromptError extends Error {
  constructor(
    readonly code: 'PROMPT_IMAGE_COUNT' | 'PROMPT_TOKENIZER' | 'PROMPT_EMPTY_BATCH',
    message: string,
  ) {
    super(message);
    this.name = 'PromptError';
  }
}

export interface InterleavedOptions {
  /** Feature slots per image (64 for KOSMOS-G; small models may use fewer). */
  imageTokens?: number;
}

/** How many `<i>` placeholders a prompt holds. */
export function countImagePlaceholders(text: string): number {
  return text.split(IMAGE_PLACEHOLDER).length - 1;
}

function imageIds(tokenizer: TextTokenizer): { image: number; endImage: number } {
  const { image, endImage } = tokenizer.specials;
  if (image === undefined || endImage === undefined) {
    throw new PromptError(
      'PROMPT_TOKENIZER',
      `a ${tokenizer.kind} tokenizer has no <image>/</image> ids: interleaved prompts need an MLLM tokenizer`,
    );
  }
  return { image, endImage };
}

/**
 * Build the MLLM input for `text` with `imageCount` images. A count of `<i>` different from `imageCount` throws a
 * PromptError with code PROMPT_IMAGE_COUNT.
 */
export function buildInterleavedPrompt(
  text: string,
  imageCount: number,
  tokenizer: TextTokenizer,
  options: InterleavedOptions = {},
): InterleavedPrompt {
  const slots = options.imageTokens ?? IMAGE_FEATURE_TOKENS;
  const snippets = text.split(IMAGE_PLACEHOLDER);
  const placeholders = snippets.length - 1;
  if (placeholders !== imageCount) {
    throw new PromptError(
      'PROMPT_IMAGE_COUNT',
      `prompt has ${placeholders} ${IMAGE_PLACEHOLDER} placeholder(s) but ${imageCount} image(s) were given: ` +
        `put one ${IMAGE_PLACEHOLDER} where each image belongs`,
    );
  }
  const tokens: number[] = [tokenizer.specials.bos];
  const mask: number[] = [0];
  const pushText = (snippet: string) => {
    for (const id of tokenizer.encode(snippet)) {
      tokens.push(id);
      mask.push(0);
    }
  };
  if (placeholders > 0) {
    const { image, endImage } = imageIds(tokenizer);
    for (let i = 0; i < placeholders; i++) {
      pushText(snippets[i]!);
      tokens.push(image);
      mask.push(0);
      for (let k = 0; k < slots; k++) {
        tokens.push(image);
        mask.push(1);
      }
      tokens.push(endImage);
      mask.push(0);
    }
  }
  pushText(snippets[placeholders]!);
  return { tokens: Int32Array.from(tokens), imageMask: Uint8Array.from(mask), imageCount };
}

/**
 * The sequence the unconditional (guidance) embedding is computed from (spec §1.6): `[<s>]`, or `[<s>] + tokens of
 * the negative prompt`. It is run through the MLLM and AlignerNet like any prompt — not CLIP("") and not zeros.
 */
export function nullConditionTokens(tokenizer: TextTokenizer, negative?: string): InterleavedPrompt {
  const ids = [tokenizer.specials.bos, ...(negative ? tokenizer.encode(negative) : [])];
  return { tokens: Int32Array.from(ids), imageMask: new Uint8Array(ids.length), imageCount: 0 };
}

export interface PromptBatch {
  /** [B, T] row-major, right-padded with the pad id. */
  tokens: Int32Array;
  /** [B, T] row-major, padding 0. */
  imageMask: Uint8Array;
  /** [B, T] row-major: 1 on real tokens, 0 on padding (for key-padding masks). */
  attentionMask: Uint8Array;
  shape: [number, number];
  /** Unpadded length of each row. */
  lengths: number[];
  imageCounts: number[];
}

/** Right-pad prompts to one length (pad id 1 = fairseq `<pad>`, mask 0), as the evaluation scripts batch. */
export function batchPrompts(prompts: readonly InterleavedPrompt[], padId = 1): PromptBatch {
  if (prompts.length === 0) throw new PromptError('PROMPT_EMPTY_BATCH', 'batchPrompts: no prompts to batch');
  const B = prompts.length;
  const T = Math.max(...prompts.map((p) => p.tokens.length));
  const tokens = new Int32Array(B * T).fill(padId);
  const imageMask = new Uint8Array(B * T);
  const attentionMask = new Uint8Array(B * T);
  prompts.forEach((p, b) => {
    tokens.set(p.tokens, b * T);
    imageMask.set(p.imageMask, b * T);
    attentionMask.fill(1, b * T, b * T + p.tokens.length);
  });
  return {
    tokens,
    imageMask,
    attentionMask,
    shape: [B, T],
    lengths: prompts.map((p) => p.tokens.length),
    imageCounts: prompts.map((p) => p.imageCount),
  };
}
