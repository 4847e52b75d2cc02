// Where the default model's files live. The weights folder is what ships (default-model/weights/): a diffusers-like
// layout that the loader nodes read with config 'from-file' (unet/ and vae/ with config.json; safetensors files of
// the project's own parts with their configs in the metadata). The work folder holds what training needs and the
// ship does not: the world data set, per-stage parts, checkpoints.

import path from 'node:path';

export interface WeightsLayout {
  dir: string;
  tokenizer: string;
  clipTokenizer: string;
  textEncoder: string;
  unetDir: string;
  unet: string;
  vaeDir: string;
  vae: string;
  /** The final KOSMOS-G (vision tower, connector, MLLM, AlignerNet) after stage 3. */
  kosmosG: string;
  card: string;
  record: string;
}

export function weightsLayout(dir: string): WeightsLayout {
  return {
    dir,
    tokenizer: path.join(dir, 'tokenizer', 'tokenizer.json'),
    clipTokenizer: path.join(dir, 'clip-tokenizer', 'tokenizer.json'),
    textEncoder: path.join(dir, 'text_encoder', 'model.safetensors'),
    unetDir: path.join(dir, 'unet'),
    unet: path.join(dir, 'unet', 'diffusion_pytorch_model.safetensors'),
    vaeDir: path.join(dir, 'vae'),
    vae: path.join(dir, 'vae', 'diffusion_pytorch_model.safetensors'),
    kosmosG: path.join(dir, 'kosmos-g.safetensors'),
    card: path.join(dir, 'MODEL_CARD.md'),
    record: path.join(dir, 'training.json'),
  };
}

export interface WorkLayout {
  dir: string;
  world: string;
  captions: string;
  imageCaptions: string;
  compositional: string;
  edits: string;
  /** Stage 1's captions of single entities (default-model/subject-captions.ts). */
  subjectCaptions: string;
  vision: string;
  clipHeads: string;
  connector: string;
  mllm: string;
  aligner: string;
  /** Stage-2 KOSMOS-G (no instruction tuning): the ablation. */
  kosmosGStage2: string;
  checkpoints: string;
}

export function workLayout(dir: string): WorkLayout {
  const world = path.join(dir, 'world');
  return {
    dir,
    world,
    captions: path.join(world, 'captions.jsonl'),
    imageCaptions: path.join(world, 'image-captions.jsonl'),
    compositional: path.join(world, 'compositional.jsonl'),
    edits: path.join(world, 'edits.jsonl'),
    subjectCaptions: path.join(world, 'subject-captions.jsonl'),
    vision: path.join(dir, 'parts', 'clip-vision.safetensors'),
    clipHeads: path.join(dir, 'parts', 'clip-heads.safetensors'),
    connector: path.join(dir, 'parts', 'connector.safetensors'),
    mllm: path.join(dir, 'parts', 'mllm.safetensors'),
    aligner: path.join(dir, 'parts', 'aligner.safetensors'),
    kosmosGStage2: path.join(dir, 'parts', 'kosmos-g-stage2.safetensors'),
    checkpoints: path.join(dir, 'checkpoints'),
  };
}
