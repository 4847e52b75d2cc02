// The default model's six training stages as ordinary workflows (the training engineer's nodes: data → batch →
// sequences → condition → loss → TrainLoop → SaveCheckpoint), built here from the default configs and a set of
// paths so that scripts/train-default.ts and the files shipped in workflows/default/ are the same graphs.
// Models load with config 'from-file' from the files init.ts wrote (the default sizes travel with the weights);
// each stage saves its trained parts back over them.

import path from 'node:path';
import { DEFAULT_CONDITION_DIM, DEFAULT_IMAGE_SIZE, DEFAULT_VISION } from './config.ts';
import { weightsLayout, workLayout, type WeightsLayout, type WorkLayout } from './layout.ts';

/** Where `npm run train:default` puts things, relative to the repository root (data/ is not committed). */
export const SHIPPED_WEIGHTS_DIR = 'default-model/weights';
export const DEFAULT_WORK_DIR = 'data/train-default';

/** The stage workflows as shipped in workflows/default/: paths relative to the repository root. */
export function shippedStageWorkflow(stage: StageName, root: string): WorkflowDoc {
  return stageWorkflow(stage, { weights: weightsLayout(path.join(root, SHIPPED_WEIGHTS_DIR)), work: workLayout(path.join(root, DEFAULT_WORK_DIR)), base: root });
}

export type StageName = 'clip' | 'vae' | 'unet' | 'stage1' | 'stage2' | 'stage3';
export const STAGES: readonly StageName[] = ['clip', 'vae', 'unet', 'stage1', 'stage2', 'stage3'];

export const STAGE_TITLES: Record<StageName, string> = {
  clip: 'small CLIP (contrastive)',
  vae: 'VAE (reconstruction + KL)',
  unet: 'U-Net text-to-image (CLIP text condition)',
  stage1: 'stage 1: MLLM (captions, image–caption pairs, single entities)',
  stage2: 'stage 2: AlignerNet (text only, to the CLIP text space)',
  stage3: 'stage 3: instruction tuning through the frozen U-Net',
};

export interface StageSettings {
  steps: number;
  batch: number;
  lr: number;
  warmup: number;
  /** DiffusionLoss `offset_noise` of the U-Net and stage-3 losses (0: off; docs/default-model.md, offset noise). */
  offsetNoise?: number;
  /**
   * Stage 3 only: the share of steps that train stage 2's alignment loss (MSE to the CLIP text condition +
   * reconstruction) instead of the diffusion loss, to keep the condition in the space the U-Net was trained on
   * (0: the paper's diffusion loss alone; docs/default-model.md, what stage 3 does to the aligned condition).
   */
  align?: number;
  /**
   * Stage 3 only: the share of steps that align the condition of compositional prompts (subjects as images) to the
   * CLIP text condition of what they mean (ConditionAlignLoss); with `align`, below 1 together.
   */
  alignImages?: number;
  /**
   * Stage 3 only: the share of steps that align the condition of edit prompts (the scene as an image + the
   * instruction) to the CLIP text condition of the edited scene's caption; with the other two, below 1 together.
   */
  alignEdits?: number;
  /**
   * Stage 1 only: the weight of whole-scene image captions in its mix (captions : scenes : single entities =
   * 1 : sceneWeight : 1; 1 when unset).
   */
  sceneWeight?: number;
  /** TrainLoop `ema_decay`: the stage's saved weights are the moving average of its trained ones (0: off). */
  ema?: number;
  /**
   * Save a checkpoint every N steps and keep them all (0: only the last), e.g. to score a learning curve from one
   * run (bench/default-model/curve.ts).
   */
  every?: number;
  /**
   * U-Net stage only: 1 trains the CLIP text encoder jointly with the U-Net under the diffusion loss (as the first
   * latent diffusion models trained their text transformer), so the words the U-Net must tell apart move its condition;
   * the encoder it saves is then stage 2's target (docs/default-model.md, a text encoder trained with the U-Net).
   */
  trainText?: number;
  /**
   * Stage 1 only: 1 trains the CLIP vision tower's last block and ln_post with the MLLM and the connector, as
   * KOSMOS-1 trains its ViT's last layer in this stage (and KOSMOS-G's stage 3 does); the tower is saved for the
   * stages after it. 0 or unset: the tower stays as the CLIP stage left it. Off: at the MLLM's learning rate it made
   * stage 1's captioner worse at every shape, a subject's too (docs/default-model.md, after v4, continued).
   */
  trainVision?: number;
  /** TrainLoop `resume`: continue from the stage's last checkpoint (train-default --resume). */
  resume?: boolean;
}

/** The keys `--set STAGE.KEY=VALUE` takes, with the StageSettings field each sets. */
export const SETTING_KEYS = { steps: 'steps', batch: 'batch', lr: 'lr', warmup: 'warmup', offset_noise: 'offsetNoise', align: 'align', align_images: 'alignImages', align_edits: 'alignEdits', scene_weight: 'sceneWeight', ema: 'ema', every: 'every', train_text: 'trainText', train_vision: 'trainVision' } as const;

/** Hyper-parameters per stage (steps are what fits the 90-minute budget; docs/default-model.md). */
export const STAGE_SETTINGS: Record<StageName, StageSettings> = {
  // v5: 1,000 steps at batch 64 (400 at 16 before): more in-batch negatives that differ in shape alone teach the vision
  // tower a scene's shapes (stage 1's captioner names one-entity scenes' shapes 35 → 75 %); it runs beside the VAE.
  clip: { steps: 1000, batch: 64, lr: 1e-3, warmup: 20 },
  vae: { steps: 2000, batch: 8, lr: 3e-3, warmup: 50 },
  // v3 (docs/default-model.md): the CLIP text encoder trains with the U-Net under the diffusion loss (through CLIP text,
  // pictures passing 21 % → 58 % at 8,000 steps, 79 % at 12,000), on ONNX Runtime (~0.23 s/step quiet), offset noise
  // so colours come from the caption, and the moving average of the weights as the shipped U-Net.
  unet: { steps: 16000, batch: 8, lr: 2e-3, warmup: 50, offsetNoise: 0.3, ema: 0.999, trainText: 1 },
  // v4: 10× the steps, a third of them captioning single entities (subject-captions.ts): the subject's shape now
  // passes the resampler (read back from its latents 25 % → 92 %), single-entity 21 → 88 % (docs/default-model.md, v4).
  stage1: { steps: 5000, batch: 8, lr: 2e-3, warmup: 20 },
  // v3: 600 steps left the shape word out of the aligned condition (it moved it 0.06 against CLIP text's 0.36);
  // 4,000 (~4 min) carry every word (docs/default-model.md, v3).
  // v4: 4,000 left a fresh run's stage 2 short of the encoder its U-Net stage trained (loss 0.011, text error 0.150);
  // 10,000 (~9 min) reach 0.002 / 0.057, and the from-scratch model 50 → 71 % single-entity (docs/default-model.md, v4).
  stage2: { steps: 10000, batch: 16, lr: 1e-3, warmup: 20 },
  // v2: half the steps keep the condition in the CLIP text space the U-Net reads — 20 % stage 2's loss on captions,
  // 30 % aligning subject-driven prompts to what they mean — beside the paper's diffusion loss (docs/default-model.md:
  // the diffusion loss alone washes the words and subjects out of the condition at this scale).
  // v3: twice the steps, half of them aligning subject prompts (subject-prompt error 0.30 → 0.23, single-entity
  // 13 → 21 %; docs/default-model.md, v3).
  stage3: { steps: 3000, batch: 4, lr: 3e-4, warmup: 40, offsetNoise: 0.3, align: 0.2, alignImages: 0.5 },
};

/** The VAE's reconstruction loss (L1 did no better than MSE in a 150-step pilot: docs/default-model.md). */
export const VAE_RECONSTRUCTION: 'mse' | 'l1' = 'mse';
/**
 * The VAE trains on random 32×32 windows of the 64×64 scenes (VAELoss `crop`): it is convolutional, a window costs
 * ~¼ of a whole image, and it still reconstructs whole images (docs/default-model.md, VAE recipe pilots).
 */
export const VAE_CROP = 32;

interface WorkflowNode {
  id: string;
  type: string;
  title?: string;
  widgets?: Record<string, unknown>;
  inputs?: Record<string, { node: string; output: string }>;
  pos?: [number, number];
}

export interface WorkflowDoc {
  format: 'kosmos-g/workflow';
  version: 1;
  meta: { name: string; description: string };
  nodes: WorkflowNode[];
}

export interface StagePaths {
  weights: WeightsLayout;
  work: WorkLayout;
  /** Paths in the workflow are written relative to this folder (the repository root for shipped files). */
  base?: string;
}

/** Wires `from` as `node.output`; "node" alone means the output named like the input. */
function wire(spec: Record<string, string>): Record<string, { node: string; output: string }> {
  return Object.fromEntries(
    Object.entries(spec).map(([input, from]) => {
      const [node, output] = from.includes('.') ? from.split('.') : [from, input];
      return [input, { node: node!, output: output! }];
    }),
  );
}

/**
 * A node's height as the editor draws it, over-estimated from what the graph knows (the editor's rows: 20 px a
 * socket, 24 px a widget, a seed widget with two more rows for its after-queue control and randomize button, and
 * room for unlisted widgets), so nodes stacked in a column never overlap (test/web/layout.test.ts).
 */
function drawnHeight(widgets: Record<string, unknown>, inputs: number): number {
  const rows = Object.keys(widgets).length + ('seed' in widgets ? 2 : 0);
  return 80 + 24 * rows + 20 * inputs;
}

/** Nodes in 6 columns, 340 px apart, each stacked below the one before it in its column. */
class Graph {
  readonly nodes: WorkflowNode[] = [];
  private readonly bottoms = [0, 0, 0, 0, 0, 0];
  add(id: string, type: string, widgets: Record<string, unknown> = {}, inputs: Record<string, string> = {}, title?: string): void {
    const column = this.nodes.length % 6;
    const y = this.bottoms[column]!;
    this.bottoms[column] = y + drawnHeight(widgets, Object.keys(inputs).length) + 40;
    this.nodes.push({ id, type, ...(title ? { title } : {}), widgets, inputs: wire(inputs), pos: [column * 340, y] });
  }
}

function trainWidgets(s: StageSettings, checkpoint: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    steps: s.steps, lr: s.lr, beta1: 0.9, beta2: 0.98, eps: 1e-6, weight_decay: 0.01, warmup: s.warmup,
    decay: 'polynomial', power: 1, clip: 2, accumulate: 1, seed: 0, train_only: '', checkpoint_every: s.every ?? 0, checkpoint,
    ...(s.every ? { checkpoint_keep: 0 } : {}), ...(s.ema ? { ema_decay: s.ema } : {}), resume: s.resume ?? false,
    ...extra,
  };
}

/** The U-Net learns from scratch in ~2000 steps: Min-SNR-γ weighting (docs/default-model.md) spends them on the noisy
 * timesteps where shapes and colours are decided, not on the nearly clean ones. Stage 3 keeps the paper's plain loss. */
export const UNET_SNR_GAMMA = 5;

/**
 * Stages whose sequences vary in length and image count from batch to batch (stage 1's image–caption LM, stage 3's
 * compositional and edit sequences) round both up, so ONNX Runtime compiles a handful of step graphs instead of one
 * for nearly every step; the extra pads and blank images are masked / never spliced. Not for the AlignerNet loss,
 * whose reconstruction term counts pads.
 */
/** Share of null conditions in stage 2's alignment batches (and stage 3's caption alignment), as in the U-Net's. */
const ALIGN_NULL_PROB = 0.1;

/** The part of the vision tower KOSMOS-G trains (spec: the ViT's last block and ln_post), as TrainLoop prefixes. */
const VISION_TRAINED = `img_model.visual.transformer.resblocks.${DEFAULT_VISION.layers - 1}.,img_model.visual.ln_post.`;

const FEW_SHAPES = { pad_length_to: 16, pad_images_to: 4 };

function sequences(mode: string, nullProb: number, shapes: Record<string, number> = {}): Record<string, unknown> {
  return { mode, image_size: DEFAULT_IMAGE_SIZE, null_prob: nullProb, drop_caption_prob: 0.5, drop_object_prob: 0.5, masked_prob: 0.5, ...shapes };
}

const TFJS = { backend: 'tfjs', config: 'from-file', seed: 0 };

/** The DiffusionLoss widget for the stage's offset noise; absent when off, so the default graphs stay as they were. */
function offsetNoise(s: StageSettings): Record<string, unknown> {
  return s.offsetNoise ? { offset_noise: s.offsetNoise } : {};
}

function round(x: number): number {
  return Number(x.toFixed(6));
}

export function stageWorkflow(stage: StageName, paths: StagePaths, settings: StageSettings = STAGE_SETTINGS[stage]): WorkflowDoc {
  const rel = (p: string) => (paths.base ? path.relative(paths.base, p) || '.' : p);
  const { weights: W, work: K } = paths;
  const ckpt = rel(path.join(K.checkpoints, stage));
  const g = new Graph();
  const tok = () => g.add('tok', 'LoadTokenizer', { path: rel(path.dirname(W.tokenizer)) }, {}, 'MLLM tokenizer');
  const clipTok = () => g.add('clip_tok', 'LoadTokenizer', { path: rel(path.dirname(W.clipTokenizer)) }, {}, 'CLIP tokenizer');
  const batch = (id: string, data: string, size = settings.batch) => g.add(id, 'NextBatch', { batch_size: size, seed: 0, shuffle: true }, { dataset: `${data}.dataset` });
  const save = (id: string, file: string, models: Record<string, string>) => g.add(id, 'SaveCheckpoint', { path: rel(file) }, { after: 'train.checkpoint', ...models });
  const loadUnet = () => g.add('unet', 'LoadUNet', { ...TFJS, path: rel(W.unetDir) });
  const loadVae = () => g.add('vae', 'LoadVAE', { ...TFJS, path: rel(W.vaeDir) });
  const loadText = () => g.add('clip_text', 'LoadCLIPText', { ...TFJS, path: rel(W.textEncoder) }, { tokenizer: 'clip_tok.tokenizer' });
  const loadVision = () => g.add('clip_vision', 'LoadCLIPVision', { ...TFJS, path: rel(K.vision) });
  const loadConnector = () => g.add('connector', 'LoadConnector', { ...TFJS, path: rel(K.connector) });
  const loadMllm = () => g.add('mllm', 'LoadMLLM', { ...TFJS, path: rel(K.mllm) }, { tokenizer: 'tok.tokenizer' });
  const loadAligner = (reconstruction = false) => g.add('aligner', 'LoadAligner', { ...TFJS, path: rel(K.aligner), reconstruction });
  const kosmosParts = { mllm: 'mllm.mllm', aligner: 'aligner.aligner', connector: 'connector.connector', clip_vision: 'clip_vision.clip_vision' };

  let name: string;
  let description: string;
  switch (stage) {
    case 'clip':
      name = 'Default model 1/6: small CLIP';
      description = 'Contrastive training of the small CLIP vision tower and text encoder on the world\'s image–caption pairs.';
      clipTok();
      loadVision();
      loadText();
      g.add('heads', 'LoadCLIPHeads', { path: '', vision_width: DEFAULT_VISION.width, text_width: DEFAULT_CONDITION_DIM, projection_dim: DEFAULT_CONDITION_DIM, seed: 0 });
      g.add('data', 'LoadImageCaptions', { path: rel(K.imageCaptions) });
      batch('batch', 'data');
      g.add('seq', 'BuildSequences', sequences('image-text', 0), { batch: 'batch.batch', tokenizer: 'clip_tok.tokenizer' });
      g.add('loss', 'ContrastiveLoss', { logit_scale: 2.6593 }, { clip_vision: 'clip_vision.clip_vision', clip_text: 'clip_text.clip_text', tokenizer: 'clip_tok.tokenizer', sequences: 'seq.sequences', clip_heads: 'heads.clip_heads' });
      g.add('train', 'TrainLoop', trainWidgets(settings, ckpt, { weight_decay: 0.1 }), { loss: 'loss.loss', clip_vision: 'clip_vision.clip_vision', clip_text: 'clip_text.clip_text', clip_heads: 'heads.clip_heads' });
      save('save_vision', K.vision, { clip_vision: 'clip_vision.clip_vision' });
      save('save_text', W.textEncoder, { clip_text: 'clip_text.clip_text' });
      break;
    case 'vae':
      name = 'Default model 2/6: VAE';
      description = `The ×4 VAE trained to reconstruct the world's 64×64 images, on random ${VAE_CROP}×${VAE_CROP} windows of them (MSE + a small KL).`;
      clipTok();
      loadVae();
      g.add('data', 'LoadImageCaptions', { path: rel(K.imageCaptions) });
      batch('batch', 'data');
      g.add('seq', 'BuildSequences', sequences('image-text', 0), { batch: 'batch.batch', tokenizer: 'clip_tok.tokenizer' });
      g.add('loss', 'VAELoss', { reconstruction: VAE_RECONSTRUCTION, kl_weight: 1e-6, crop: VAE_CROP }, { vae: 'vae.vae', sequences: 'seq.sequences' });
      g.add('train', 'TrainLoop', trainWidgets(settings, ckpt), { loss: 'loss.loss', vae: 'vae.vae' });
      save('save_vae', W.vae, { vae: 'vae.vae' });
      break;
    case 'unet':
      name = 'Default model 3/6: text-to-image U-Net';
      description = 'The latent U-Net trained for text-to-image with the frozen small CLIP text encoder and the frozen VAE (10 % empty captions for guidance).';
      clipTok();
      loadUnet();
      loadVae();
      loadText();
      g.add('data', 'LoadImageCaptions', { path: rel(K.imageCaptions) });
      batch('batch', 'data');
      g.add('seq', 'BuildSequences', sequences('image-text', 0.1), { batch: 'batch.batch', tokenizer: 'clip_tok.tokenizer' });
      g.add('cond', 'ClipTextCondition', {}, { clip_text: 'clip_text.clip_text', tokenizer: 'clip_tok.tokenizer', sequences: 'seq.sequences' });
      g.add('loss', 'DiffusionLoss', { snr_gamma: UNET_SNR_GAMMA, ...offsetNoise(settings) }, { unet: 'unet.unet', vae: 'vae.vae', condition: 'cond.condition' });
      if (settings.trainText) description += ' The CLIP text encoder trains with it under the same loss, and is saved as the condition\'s encoder.';
      g.add('train', 'TrainLoop', trainWidgets(settings, ckpt), { loss: 'loss.loss', unet: 'unet.unet', ...(settings.trainText ? { clip_text: 'clip_text.clip_text' } : {}) });
      save('save_unet', W.unet, { unet: 'unet.unet' });
      if (settings.trainText) save('save_text', W.textEncoder, { clip_text: 'clip_text.clip_text' });
      break;
    case 'stage1':
      name = 'Default model 4/6: KOSMOS-G stage 1 (MLLM)';
      description = 'Multimodal language modelling: the MLLM and the connector learn captions, image–caption pairs and captions of single entities over the frozen CLIP vision tower.';
      tok();
      loadMllm();
      loadVision();
      loadConnector();
      g.add('data_text', 'LoadCaptions', { path: rel(K.captions) });
      batch('batch_text', 'data_text');
      g.add('seq_text', 'BuildSequences', sequences('caption-lm', 0, FEW_SHAPES), { batch: 'batch_text.batch', tokenizer: 'tok.tokenizer' });
      g.add('loss_text', 'LMLoss', {}, { mllm: 'mllm.mllm', sequences: 'seq_text.sequences' });
      g.add('data_pairs', 'LoadImageCaptions', { path: rel(K.imageCaptions) });
      batch('batch_pairs', 'data_pairs');
      g.add('seq_pairs', 'BuildSequences', sequences('image-caption-lm', 0, FEW_SHAPES), { batch: 'batch_pairs.batch', tokenizer: 'tok.tokenizer' });
      g.add('loss_pairs', 'LMLoss', {}, { mllm: 'mllm.mllm', sequences: 'seq_pairs.sequences', clip_vision: 'clip_vision.clip_vision', connector: 'connector.connector' });
      // Single entities captioned as subject prompts show them (subject-captions.ts): in whole scenes shapes are too
      // small for the 32-px vision tower, and without these the connector never learns to carry a subject's shape.
      g.add('data_subjects', 'LoadImageCaptions', { path: rel(K.subjectCaptions) });
      batch('batch_subjects', 'data_subjects');
      g.add('seq_subjects', 'BuildSequences', sequences('image-caption-lm', 0, FEW_SHAPES), { batch: 'batch_subjects.batch', tokenizer: 'tok.tokenizer' });
      g.add('loss_subjects', 'LMLoss', {}, { mllm: 'mllm.mllm', sequences: 'seq_subjects.sequences', clip_vision: 'clip_vision.clip_vision', connector: 'connector.connector' });
      g.add('mix', 'MixLosses', { weights: `1,${settings.sceneWeight ?? 1},1`, mode: 'sample' }, { a: 'loss_text.loss', b: 'loss_pairs.loss', c: 'loss_subjects.loss' });
      if (settings.trainVision) {
        description += ' The vision tower\'s last block and ln_post train with them.';
        g.add('train', 'TrainLoop', trainWidgets(settings, ckpt, { train_only: `gpt_model.decoder.,img_connector.,${VISION_TRAINED}` }), { loss: 'mix.loss', mllm: 'mllm.mllm', connector: 'connector.connector', clip_vision: 'clip_vision.clip_vision' });
        save('save_vision', K.vision, { clip_vision: 'clip_vision.clip_vision' });
      } else g.add('train', 'TrainLoop', trainWidgets(settings, ckpt), { loss: 'mix.loss', mllm: 'mllm.mllm', connector: 'connector.connector' });
      save('save_mllm', K.mllm, { mllm: 'mllm.mllm' });
      save('save_connector', K.connector, { connector: 'connector.connector' });
      break;
    case 'stage2':
      name = 'Default model 5/6: KOSMOS-G stage 2 (AlignerNet)';
      description = 'AlignerNet learns to map the frozen MLLM\'s caption states into the small CLIP text space (MSE to CLIP + reconstruction), on text only.';
      tok();
      clipTok();
      loadMllm();
      loadText();
      g.add('aligner', 'LoadAligner', { ...TFJS, path: rel(K.aligner), reconstruction: true });
      loadVision();
      loadConnector();
      g.add('data', 'LoadCaptions', { path: rel(K.captions) });
      batch('batch', 'data');
      // 10 % null conditions ([<s>] against CLIP("")), as the U-Net saw them: guidance steers away from KOSMOS-G's null
      // condition, which must be the U-Net's (docs/default-model.md, v3).
      g.add('seq', 'BuildSequences', sequences('text-condition', ALIGN_NULL_PROB), { batch: 'batch.batch', tokenizer: 'tok.tokenizer' });
      g.add('loss', 'AlignerLoss', {}, { mllm: 'mllm.mllm', aligner: 'aligner.aligner', clip_text: 'clip_text.clip_text', clip_tokenizer: 'clip_tok.tokenizer', sequences: 'seq.sequences' });
      g.add('train', 'TrainLoop', trainWidgets(settings, ckpt), { loss: 'loss.loss', aligner: 'aligner.aligner' });
      save('save_aligner', K.aligner, { aligner: 'aligner.aligner' });
      save('save_kosmos', K.kosmosGStage2, kosmosParts);
      break;
    case 'stage3': {
      name = 'Default model 6/6: KOSMOS-G stage 3 (instruction tuning)';
      description =
        'Diffusion ε-MSE through the frozen VAE and U-Net, conditioned by MLLM → AlignerNet-M; compositional : edit : text-to-image data 2 : 2 : 1. Trained: MLLM, connector, AlignerNet-M, the last ViT block and ln_post.';
      tok();
      loadMllm();
      const align = settings.align ?? 0;
      // Stage 2's loss kept beside the diffusion loss needs the AlignerNet's decoder N for its reconstruction term.
      loadAligner(align > 0);
      loadVision();
      loadConnector();
      loadUnet();
      loadVae();
      const branch = (key: string, loader: string, file: string, mode: string) => {
        g.add(`data_${key}`, loader, { path: rel(file) });
        batch(`batch_${key}`, `data_${key}`);
        g.add(`seq_${key}`, 'BuildSequences', sequences(mode, 0.1, FEW_SHAPES), { batch: `batch_${key}.batch`, tokenizer: 'tok.tokenizer' });
        g.add(`cond_${key}`, 'KosmosGCondition', {}, { ...kosmosParts, sequences: `seq_${key}.sequences` });
        g.add(`loss_${key}`, 'DiffusionLoss', offsetNoise(settings), { unet: 'unet.unet', vae: 'vae.vae', condition: `cond_${key}.condition` });
      };
      branch('comp', 'LoadCompositional', K.compositional, 'compositional');
      branch('edit', 'LoadEditTriples', K.edits, 'edit');
      branch('t2i', 'LoadImageCaptions', K.imageCaptions, 'image-text');
      g.add('mix', 'MixLosses', { weights: '2,2,1', mode: 'sample' }, { a: 'loss_comp.loss', b: 'loss_edit.loss', c: 'loss_t2i.loss' });
      let loss = 'mix.loss';
      const alignImages = settings.alignImages ?? 0;
      const alignEdits = settings.alignEdits ?? 0;
      const extra: { loss: string; share: number }[] = [];
      if (align > 0 || alignImages > 0 || alignEdits > 0) {
        clipTok();
        loadText();
      }
      if (align > 0) {
        g.add('data_align', 'LoadCaptions', { path: rel(K.captions) });
        batch('batch_align', 'data_align', STAGE_SETTINGS.stage2.batch);
        g.add('seq_align', 'BuildSequences', sequences('text-condition', ALIGN_NULL_PROB), { batch: 'batch_align.batch', tokenizer: 'tok.tokenizer' });
        g.add('loss_align', 'AlignerLoss', {}, { mllm: 'mllm.mllm', aligner: 'aligner.aligner', clip_text: 'clip_text.clip_text', clip_tokenizer: 'clip_tok.tokenizer', sequences: 'seq_align.sequences' });
        extra.push({ loss: 'loss_align.loss', share: align });
        description += ` ${Math.round(align * 100)} % of the steps train stage 2's alignment loss instead (MSE to the CLIP text condition + reconstruction), to keep the condition in the space the U-Net was trained on.`;
      }
      // Prompts whose images carry meaning, aligned to the CLIP text condition of what they mean: subject-driven ones
      // (the compositional rows, subjects as images) and edits (the edited scene's caption). Both go through one
      // ConditionAlignLoss branch each, mixed by their shares into one extra loss.
      const conditionAligned: { key: string; share: number }[] = [];
      const alignBranch = (key: string, loader: string, file: string, mode: string, share: number, seqWidgets: Record<string, unknown> = {}) => {
        g.add(`data_${key}`, loader, { path: rel(file) });
        batch(`batch_${key}`, `data_${key}`);
        g.add(`seq_${key}`, 'BuildSequences', { ...sequences(mode, 0, FEW_SHAPES), ...seqWidgets }, { batch: `batch_${key}.batch`, tokenizer: 'tok.tokenizer' });
        g.add(`cond_${key}`, 'KosmosGCondition', {}, { ...kosmosParts, sequences: `seq_${key}.sequences` });
        g.add(`loss_${key}`, 'ConditionAlignLoss', {}, { condition: `cond_${key}.condition`, clip_text: 'clip_text.clip_text', clip_tokenizer: 'clip_tok.tokenizer' });
        conditionAligned.push({ key, share });
      };
      if (alignImages > 0) {
        alignBranch('aimg', 'LoadCompositional', K.compositional, 'compositional', alignImages);
        description += ` ${Math.round(alignImages * 100)} % of the steps align the condition of subject-driven prompts (subjects as images) to the CLIP text condition of what they mean.`;
      }
      if (alignEdits > 0) {
        // Without the input's caption in the prompt: held-out edits show the scene only as a picture, and a caption
        // beside it would let the words do the image path's work (the diffusion branch keeps 50 %).
        alignBranch('aedit', 'LoadEditTriples', K.edits, 'edit', alignEdits, { drop_caption_prob: 1 });
        description += ` ${Math.round(alignEdits * 100)} % align the condition of edit prompts to the CLIP text condition of the edited scene's caption.`;
      }
      if (conditionAligned.length === 1) extra.push({ loss: `loss_${conditionAligned[0]!.key}.loss`, share: conditionAligned[0]!.share });
      else if (conditionAligned.length === 2) {
        const total = conditionAligned.reduce((n, c) => n + c.share, 0);
        g.add('mix_cond', 'MixLosses', { weights: conditionAligned.map((c) => round(c.share / total)).join(','), mode: 'sample' }, { a: 'loss_aimg.loss', b: 'loss_aedit.loss' });
        extra.push({ loss: 'mix_cond.loss', share: total });
      }
      if (extra.length) {
        const shares = [1 - extra.reduce((n, e) => n + e.share, 0), ...extra.map((e) => e.share)];
        const inputs = Object.fromEntries(['mix.loss', ...extra.map((e) => e.loss)].map((l, i) => [['a', 'b', 'c'][i]!, l]));
        g.add('mix_align', 'MixLosses', { weights: shares.map(round).join(','), mode: 'sample' }, inputs);
        loss = 'mix_align.loss';
      }
      const trainOnly = `gpt_model.decoder.,img_connector.,aligner.,${VISION_TRAINED}`;
      g.add('train', 'TrainLoop', trainWidgets(settings, ckpt, { train_only: trainOnly }), { loss, ...kosmosParts });
      save('save_kosmos', W.kosmosG, kosmosParts);
      break;
    }
  }
  return { format: 'kosmos-g/workflow', version: 1, meta: { name, description }, nodes: g.nodes };
}
