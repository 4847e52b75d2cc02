// AlignerNet configurations (spec §1.5): torchscale EncoderDecoderConfig defaults, d 768, 12 heads, FFN 3072,
// 12 layers per stack, Sub-LN; 77 queries (CLIP's length); learned positions with 32768 rows.

export interface AlignerConfig {
  /** MLLM width the aligner reads (and N reconstructs). */
  mllmDim: number;
  dim: number;
  heads: number;
  ffnDim: number;
  /** Layers in each of the four stacks. */
  layers: number;
  /** l_t: rows of the condition (77 = CLIP's length). */
  queries: number;
  /** Rows of the learned position tables and of N's decoder_query. */
  maxPositions: number;
  eps: number;
}

export const ALIGNER_REAL: AlignerConfig = {
  mllmDim: 2048,
  dim: 768,
  heads: 12,
  ffnDim: 3072,
  layers: 12,
  queries: 77,
  maxPositions: 32768,
  eps: 1e-5,
};

/** Width 32 = the small U-Net's cross-attention width (models/unet/config.ts SMALL_UNET_CONFIG). */
export const ALIGNER_SMALL: AlignerConfig = {
  mllmDim: 64,
  dim: 32,
  heads: 2,
  ffnDim: 128,
  layers: 2,
  queries: 77,
  maxPositions: 512,
  eps: 1e-5,
};
