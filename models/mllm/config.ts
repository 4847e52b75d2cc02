// MLLM (MAGNETO decoder) configurations. Real: `kosmosg_xl` (spec §1.1, §1.4). Small: for tests and the
// embedded model, with the vocabulary of the project's small tokenizer.

export interface MLLMConfig {
  /** Embedding rows: 64007 for the fairseq dictionary (spec §1.2). */
  vocabSize: number;
  embedDim: number;
  layers: number;
  heads: number;
  ffnDim: number;
  /** fairseq padding index (1): pads get position 1, whose sinusoid row is zero. */
  padIdx: number;
  eps: number;
}

export const MLLM_REAL: MLLMConfig = {
  vocabSize: 64007,
  embedDim: 2048,
  layers: 24,
  heads: 32,
  ffnDim: 8192,
  padIdx: 1,
  eps: 1e-5,
};

export function mllmSmall(vocabSize = 512): MLLMConfig {
  return { vocabSize, embedDim: 64, layers: 2, heads: 4, ffnDim: 256, padIdx: 1, eps: 1e-5 };
}

export const MLLM_SMALL: MLLMConfig = mllmSmall();
