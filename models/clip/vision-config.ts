// CLIP vision tower configurations. Real: open_clip ViT-L/14 at 224 as KOSMOS-G runs it (spec §1.3): width 1024,
// 24 layers, 16 heads, patch 14, MLP 4096, quick-GELU. Small: for tests and the embedded model.

export interface CLIPVisionConfig {
  imageSize: number;
  patchSize: number;
  width: number;
  layers: number;
  heads: number;
  mlpDim: number;
  eps: number;
}

export const CLIP_VISION_REAL: CLIPVisionConfig = {
  imageSize: 224,
  patchSize: 14,
  width: 1024,
  layers: 24,
  heads: 16,
  mlpDim: 4096,
  eps: 1e-5,
};

export const CLIP_VISION_SMALL: CLIPVisionConfig = {
  imageSize: 32,
  patchSize: 8,
  width: 64,
  layers: 2,
  heads: 4,
  mlpDim: 256,
  eps: 1e-5,
};

/** Tokens per image: the patch grid plus the class token (257 for the real tower). */
export function visionTokens(c: CLIPVisionConfig): number {
  const grid = Math.floor(c.imageSize / c.patchSize);
  return grid * grid + 1;
}

/** CLIP's normalisation constants (spec §1.3). */
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;
