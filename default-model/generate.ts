// Generation with the default model through the same graph a user runs (LoadKosmosG → KosmosGEncode →
// LoadStableDiffusion → Scheduler → EmptyLatent → Sampler → VAEDecode), so the harness measures what `kosmos-g run`
// produces. Prompt images are written to PNG files for LoadImage; the decoded IMAGE value is read back directly.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Executor, parseWorkflow, Registry, formatIssue } from '../engine/index.ts';
import { imageValue, type ImageValue } from '../models/image.ts';
import type { Raster } from '../models/world/raster.ts';
import { rasterToPng } from '../models/world/write.ts';
import { DEFAULT_IMAGE_SIZE } from './config.ts';
import type { EvalItem } from '../models/world/eval-set.ts';
import { weightsLayout, type WeightsLayout } from './layout.ts';
import type { Generator } from '../models/world/score.ts';
import type { WorkflowDoc } from './workflows.ts';

export class GenerateError extends Error {
  readonly code = 'DEFAULT_GENERATE_FAILED';
}

export interface GenerateSettings {
  /** The shipped weights folder (default-model/weights/). */
  weights: string;
  /** A KOSMOS-G file other than the folder's own (e.g. the stage-2-only model of the ablation). */
  kosmosG?: string;
  backend?: 'onnx' | 'tfjs';
  steps?: number;
  guidance?: number;
  /**
   * 'clip-text': condition on the small CLIP text encoder instead (the U-Net's own teacher). It reads no images: a
   * single image is only the edit's starting picture (the edit ceiling: the edited scene's caption from that start).
   */
  encoder?: 'kosmos-g' | 'clip-text';
  /**
   * Edits (a prompt that starts with its image, "<i> make the circle green") start from the input image's latent
   * noised to this strength (Sampler `denoise`), as the paper's editing setting does, so the scene is kept and only
   * what the instruction names changes; 1 starts from pure noise like any other prompt.
   */
  editStrength?: number;
  /**
   * Blend each item's condition towards the CLIP text condition of a caption (ConditioningAverage: `weight` of the
   * CLIP text, the rest the encoder's own): how close a condition must come to a target before the picture follows
   * (bench/default-model/blend-curve.ts).
   */
  blend?: { weight: number; caption: (item: EvalItem) => string };
}

/**
 * Classifier-free guidance of the default model's generations (docs/default-model.md, v2: KOSMOS-G's condition
 * only approximates the CLIP text condition the U-Net learnt, and a high scale amplifies the error).
 */
export const DEFAULT_GUIDANCE = 2.5;

/** The Sampler `denoise` of edits unless a setting says otherwise (docs/default-model.md, editing). */
export const DEFAULT_EDIT_STRENGTH = 0.75;

/** An edit prompt: the picture to edit comes first, then the instruction. */
export function isEditPrompt(prompt: string, images: readonly unknown[]): boolean {
  return images.length === 1 && prompt.trimStart().startsWith('<i>') && prompt.trim() !== '<i>';
}

/** The small CLIP text encoder's nodes for `text` (guidance against CLIP("")), its condition at `${prefix}encode`. */
function clipTextNodes(w: WeightsLayout, backend: string, text: string, prefix: string): WorkflowDoc['nodes'] {
  const tokenizer = () => ({ tokenizer: { node: `${prefix}tok`, output: 'tokenizer' } });
  return [
    { id: `${prefix}tok`, type: 'LoadTokenizer', widgets: { path: path.dirname(w.clipTokenizer) } },
    { id: `${prefix}clip`, type: 'LoadCLIPText', widgets: { path: w.textEncoder, config: 'from-file', backend, seed: 0 }, inputs: tokenizer() },
    { id: `${prefix}prompt`, type: 'Tokenize', widgets: { text }, inputs: tokenizer() },
    { id: `${prefix}empty`, type: 'Tokenize', widgets: { text: '' }, inputs: tokenizer() },
    {
      id: `${prefix}encode`,
      type: 'CLIPTextEncode',
      inputs: { clip_text: { node: `${prefix}clip`, output: 'clip_text' }, tokens: { node: `${prefix}prompt`, output: 'tokens' }, negative: { node: `${prefix}empty`, output: 'tokens' } },
    },
  ];
}

/**
 * The generation graph for one prompt; `images` are PNG paths in `<i>` order (at most four). `blend`: average the CLIP
 * text condition of `caption` into the encoder's, `weight` of it (ConditioningAverage, `to` = CLIP text).
 */
export function generateWorkflow(s: GenerateSettings, prompt: string, images: string[], seed: number, blend?: { weight: number; caption: string }): WorkflowDoc {
  const w = weightsLayout(s.weights);
  const backend = s.backend ?? 'onnx';
  const clipText = s.encoder === 'clip-text';
  if (clipText && images.length > 1) throw new GenerateError(`the CLIP text encoder reads no images, and an edit starts from one: "${prompt}"`);
  const strength = s.editStrength ?? DEFAULT_EDIT_STRENGTH;
  const edit = (clipText ? images.length === 1 : isEditPrompt(prompt, images)) && strength < 1;
  const encoder: WorkflowDoc['nodes'] =
    clipText
      ? [
          ...clipTextNodes(w, backend, prompt, ''),
          ...(edit ? [{ id: 'image1', type: 'LoadImage', widgets: { image: images[0]! } }] : []),
        ]
      : [
          { id: 'tok', type: 'LoadTokenizer', widgets: { path: path.dirname(w.tokenizer) } },
          { id: 'kosmos', type: 'LoadKosmosG', widgets: { path: s.kosmosG ?? w.kosmosG, config: 'from-file', backend, seed: 0 }, inputs: { tokenizer: { node: 'tok', output: 'tokenizer' } } },
          ...images.map((file, i) => ({ id: `image${i + 1}`, type: 'LoadImage', widgets: { image: file } })),
          {
            id: 'encode',
            type: 'KosmosGEncode',
            widgets: { prompt, negative: '' },
            inputs: {
              kosmos_g: { node: 'kosmos', output: 'kosmos_g' },
              tokenizer: { node: 'tok', output: 'tokenizer' },
              ...Object.fromEntries(images.map((_, i) => [`image_${i + 1}`, { node: `image${i + 1}`, output: 'image' }])),
            },
          },
        ];
  const blending: WorkflowDoc['nodes'] = !blend
    ? []
    : [
        ...clipTextNodes(w, backend, blend.caption, 'blend_'),
        {
          id: 'blend',
          type: 'ConditioningAverage',
          widgets: { strength: blend.weight },
          inputs: { conditioning_to: { node: 'blend_encode', output: 'conditioning' }, conditioning_from: { node: 'encode', output: 'conditioning' } },
        },
      ];
  const conditioning = { node: blend ? 'blend' : 'encode', output: 'conditioning' };
  const nodes: WorkflowDoc['nodes'] = [
    ...encoder,
    ...blending,
    { id: 'sd', type: 'LoadStableDiffusion', widgets: { path: s.weights, config: 'from-file', backend, seed: 0 } },
    { id: 'sched', type: 'Scheduler', widgets: { name: 'dpmsolver++', steps: s.steps ?? 25, spacing: 'default', final_sigma: 'alpha0', eta: 0 } },
    edit
      ? { id: 'latent', type: 'VAEEncode', widgets: { mode: 'mean', seed: 0 }, inputs: { vae: { node: 'sd', output: 'vae' }, image: { node: 'image1', output: 'image' } } }
      : { id: 'latent', type: 'EmptyLatent', widgets: { width: DEFAULT_IMAGE_SIZE, height: DEFAULT_IMAGE_SIZE, batch: 1 }, inputs: { vae: { node: 'sd', output: 'vae' } } },
    {
      id: 'sample',
      type: 'Sampler',
      widgets: { guidance: s.guidance ?? DEFAULT_GUIDANCE, seed, steps: 0, denoise: edit ? strength : 1, preview_every: 0 },
      inputs: { unet: { node: 'sd', output: 'unet' }, conditioning, latent: { node: 'latent', output: 'latent' }, scheduler: { node: 'sched', output: 'scheduler' } },
    },
    { id: 'decode', type: 'VAEDecode', inputs: { vae: { node: 'sd', output: 'vae' }, latent: { node: 'sample', output: 'latent' } } },
    { id: 'save', type: 'SaveImage', widgets: { filename_prefix: 'default-model' }, inputs: { images: { node: 'decode', output: 'image' } } },
  ];
  return { format: 'kosmos-g/workflow', version: 1, meta: { name: 'Default model: generate', description: `"${prompt}"` }, nodes };
}

/** A world raster as the [1, 3, H, W] image in [0, 1] the encoders take. */
export function rasterToImage(r: Raster): ImageValue {
  const n = r.width * r.height;
  const data = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) data[c * n + i] = r.data[i * 3 + c]! / 255;
  return imageValue(data, 1, r.height, r.width);
}

export function imageToRaster(image: ImageValue): Raster {
  const { width, height, data } = image;
  const out = new Uint8ClampedArray(width * height * 3);
  const plane = width * height;
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(data[c * plane + i] * 255);
  return { width, height, data: out };
}

/** A generator over one executor (the loaders stay cached between items). Call `close` to remove temp files. */
export async function modelGenerator(s: GenerateSettings): Promise<{ generate: Generator; close: () => Promise<void> }> {
  const executor = new Executor(await Registry.load({ env: false }), { log: () => {} });
  const dir = await mkdtemp(path.join(tmpdir(), 'default-generate-'));
  const generate = async (item: EvalItem): Promise<Raster> => {
    const files: string[] = [];
    for (let i = 0; i < item.images.length; i++) {
      const file = path.join(dir, `${item.id}-${i}.png`);
      await writeFile(file, await rasterToPng(item.images[i]));
      files.push(file);
    }
    const blend = s.blend && { weight: s.blend.weight, caption: s.blend.caption(item) };
    const doc = generateWorkflow(s, item.prompt, files, item.seed, blend);
    const result = await executor.run(parseWorkflow(doc, `generate ${item.id}`), { outputs: ['decode'], outputDir: path.join(dir, 'out') });
    if (result.status !== 'ok') throw new GenerateError(`generate ${item.id}: ${result.errors.map((e) => formatIssue(e)).join('; ')}`);
    const image = result.outputs.decode?.values?.image as ImageValue | undefined;
    if (!image) throw new GenerateError(`generate ${item.id}: VAEDecode returned no image`);
    return imageToRaster(image);
  };
  return { generate, close: () => rm(dir, { recursive: true, force: true }) };
}
