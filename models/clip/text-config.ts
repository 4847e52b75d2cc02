// CLIP text encoder configurations. Real: SD 1.5 `text_encoder/config.json` (spec §3.1): 12 layers, width 768,
// 12 heads, FFN 3072, 77 positions, vocab 49408, quick-GELU, eps 1e-5. Small: for tests and the embedded model.

export interface CLIPTextConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  maxPositions: number;
  eps: number;
  /** transformers `hidden_act` of the MLP: quick_gelu (SD 1.x, OpenAI CLIP; the default) or gelu (SD 2.x OpenCLIP). */
  hiddenAct?: CLIPActivation;
}

/** 'gelu' is the exact (erf) GELU; 'gelu_tanh' is transformers' gelu_new / gelu_pytorch_tanh. */
export type CLIPActivation = 'quick_gelu' | 'gelu' | 'gelu_tanh';

export const CLIP_TEXT_REAL: CLIPTextConfig = {
  vocabSize: 49408,
  hiddenSize: 768,
  intermediateSize: 3072,
  layers: 12,
  heads: 12,
  maxPositions: 77,
  eps: 1e-5,
};

/** Width 32 = the small U-Net's cross-attention width and the small AlignerNet's (the stage-2 target). */
export function clipTextSmall(vocabSize = 512): CLIPTextConfig {
  return { vocabSize, hiddenSize: 32, intermediateSize: 128, layers: 2, heads: 2, maxPositions: 77, eps: 1e-5 };
}

export const CLIP_TEXT_SMALL: CLIPTextConfig = clipTextSmall();
