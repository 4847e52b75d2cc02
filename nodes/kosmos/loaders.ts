// Loader nodes: LoadCLIPVision, LoadConnector, LoadMLLM, LoadAligner, LoadCLIPText, LoadKosmosG. A path loads the
// weights by their checkpoint key names (a full KOSMOS-G checkpoint or the part alone); an empty path builds a
// seeded random model of the preset (training from scratch, tests).

import { defineNode } from '../../engine/node-def.ts';
import { Rng } from '../../models/ops/random.ts';
import { CLIPVision } from '../../models/clip/vision-model.ts';
import { CLIP_VISION_REAL, CLIP_VISION_SMALL } from '../../models/clip/vision-config.ts';
import { CLIPTextModel } from '../../models/clip/text-model.ts';
import { CLIP_TEXT_REAL, clipTextSmall } from '../../models/clip/text-config.ts';
import { XConnector } from '../../models/connector/connector.ts';
import { CONNECTOR_REAL, CONNECTOR_SMALL } from '../../models/connector/config.ts';
import { MLLM } from '../../models/mllm/mllm.ts';
import { MLLM_REAL, mllmSmall } from '../../models/mllm/config.ts';
import { AlignerNet } from '../../models/aligner/aligner.ts';
import { ALIGNER_REAL, ALIGNER_SMALL } from '../../models/aligner/config.ts';
import { KosmosG } from '../../models/kosmosg/kosmosg.ts';
import { KOSMOS_G_REAL, kosmosGSmall } from '../../models/kosmosg/config.ts';
import { alignerFrom, clipVisionFrom, connectorFrom, kosmosGFrom, mllmFrom, readClipText } from '../../models/kosmosg/weights.ts';
import { asBackend, asConfig, BACKEND_WIDGET, CONFIG_WIDGET, PATH_WIDGET, SEED_WIDGET, weightsOrRandom } from './common.ts';
import { modelValue, type ModelValue } from './types.ts';

const widgets = { path: PATH_WIDGET, config: CONFIG_WIDGET, backend: BACKEND_WIDGET, seed: SEED_WIDGET };
const randomSource = (what: string, config: string, seed: number) => `random ${config} ${what} (seed ${seed})`;

export const LoadCLIPVision = defineNode({
  type: 'LoadCLIPVision',
  category: 'kosmos-g/loaders',
  description: 'Load the KOSMOS-G CLIP ViT-L/14 vision tower (img_model.visual.*; OpenAI attn.in_proj_* layouts are split)',
  inputs: {},
  widgets,
  outputs: { clip_vision: { type: 'CLIP_VISION' } },
  async execute({ path, config, backend, seed }) {
    const c = asConfig(config);
    const file = await weightsOrRandom(path, c, 'LoadCLIPVision');
    const model = file ? clipVisionFrom(file, c) : new CLIPVision(c === 'real' ? CLIP_VISION_REAL : CLIP_VISION_SMALL, new Rng(seed));
    return { clip_vision: modelValue(model, asBackend(backend), file?.path ?? randomSource('CLIP vision', c, seed)) };
  },
});

export const LoadConnector = defineNode({
  type: 'LoadConnector',
  category: 'kosmos-g/loaders',
  description: 'Load the XConnector resampler (img_connector.*): 64 latent queries over the image tokens',
  inputs: {},
  widgets,
  outputs: { connector: { type: 'CONNECTOR' } },
  async execute({ path, config, backend, seed }) {
    const c = asConfig(config);
    const file = await weightsOrRandom(path, c, 'LoadConnector');
    const model = file ? connectorFrom(file, c) : new XConnector(c === 'real' ? CONNECTOR_REAL : CONNECTOR_SMALL, new Rng(seed));
    return { connector: modelValue(model, asBackend(backend), file?.path ?? randomSource('connector', c, seed)) };
  },
});

export const LoadMLLM = defineNode({
  type: 'LoadMLLM',
  category: 'kosmos-g/loaders',
  description: 'Load the MAGNETO MLLM decoder (gpt_model.decoder.*); random small models take their vocabulary from the tokenizer',
  inputs: { tokenizer: { type: 'TOKENIZER', optional: true, description: 'Sets the vocabulary of a random small MLLM' } },
  widgets,
  outputs: { mllm: { type: 'MLLM' } },
  async execute({ tokenizer, path, config, backend, seed }) {
    const c = asConfig(config);
    const file = await weightsOrRandom(path, c, 'LoadMLLM');
    const model = file ? mllmFrom(file, c) : new MLLM(c === 'real' ? MLLM_REAL : mllmSmall(tokenizer?.vocabSize), new Rng(seed));
    return { mllm: modelValue(model, asBackend(backend), file?.path ?? randomSource('MLLM', c, seed)) };
  },
});

export const LoadAligner = defineNode({
  type: 'LoadAligner',
  category: 'kosmos-g/loaders',
  description: 'Load AlignerNet (aligner.*): M always, N too when the file has it (stage 2) or `reconstruction` is on',
  inputs: {},
  widgets: { ...widgets, reconstruction: { kind: 'BOOLEAN', default: false, description: 'Random models: build N (stage-2 reconstruction) too' } },
  outputs: { aligner: { type: 'ALIGNER' } },
  async execute({ path, config, backend, seed, reconstruction }) {
    const c = asConfig(config);
    const file = await weightsOrRandom(path, c, 'LoadAligner');
    const model = file ? alignerFrom(file, c) : new AlignerNet(c === 'real' ? ALIGNER_REAL : ALIGNER_SMALL, new Rng(seed), { reconstruction });
    return { aligner: modelValue(model, asBackend(backend), file?.path ?? randomSource('AlignerNet', c, seed)) };
  },
});

export const LoadCLIPText = defineNode({
  type: 'LoadCLIPText',
  category: 'kosmos-g/loaders',
  description:
    "Load SD 1.5's CLIP text encoder (diffusers text_encoder/ folder or file, or the one in a stage-2 checkpoint); 'from-file' reads the stored config, else text_encoder/config.json, else infers from the shapes",
  inputs: { tokenizer: { type: 'TOKENIZER', optional: true, description: 'Sets the vocabulary of a random small encoder' } },
  widgets,
  outputs: { clip_text: { type: 'CLIP_TEXT' } },
  async execute({ tokenizer, path, config, backend, seed }, ctx) {
    const c = asConfig(config);
    const file = await weightsOrRandom(path, c, 'LoadCLIPText');
    if (!file) {
      const model = new CLIPTextModel(c === 'real' ? CLIP_TEXT_REAL : clipTextSmall(tokenizer?.vocabSize), new Rng(seed));
      return { clip_text: modelValue(model, asBackend(backend), randomSource('CLIP text', c, seed)) };
    }
    const read = readClipText(file, c);
    // Say where the config came from (stored, config.json, or guessed from shapes) and what was ignored.
    for (const n of read.inferred) ctx.log.info(`LoadCLIPText: ${n}`);
    for (const n of read.ignored) ctx.log.warn(`LoadCLIPText: ${file.path}: ${n}`);
    return { clip_text: modelValue(read.model, asBackend(backend), file.path) };
  },
});

export const LoadKosmosG = defineNode({
  type: 'LoadKosmosG',
  category: 'kosmos-g/loaders',
  description: 'Load every KOSMOS-G part (vision tower, connector, MLLM, AlignerNet) from one checkpoint by its key names',
  inputs: { tokenizer: { type: 'TOKENIZER', optional: true, description: 'Sets the vocabulary of a random small model' } },
  widgets,
  outputs: {
    kosmos_g: { type: 'KOSMOS_G' },
    clip_vision: { type: 'CLIP_VISION' },
    connector: { type: 'CONNECTOR' },
    mllm: { type: 'MLLM' },
    aligner: { type: 'ALIGNER' },
  },
  async execute({ tokenizer, path, config, backend, seed }) {
    const c = asConfig(config);
    const b = asBackend(backend);
    const file = await weightsOrRandom(path, c, 'LoadKosmosG');
    const model = file ? kosmosGFrom(file, c) : new KosmosG(c === 'real' ? KOSMOS_G_REAL : kosmosGSmall(tokenizer?.vocabSize), seed);
    const source = file?.path ?? randomSource('KOSMOS-G', c, seed);
    // The parts share kosmos_g's parameters: they report no bytes of their own, so the output cache counts the
    // model once (counted twice, a real-size model would look twice as big and could be refused by the cache).
    const part = <M>(m: M): ModelValue<M> => ({ ...(modelValue(m as never, b, source) as ModelValue<M>), byteSize: () => 0 });
    return {
      kosmos_g: modelValue(model, b, source),
      clip_vision: part(model.visual),
      connector: part(model.connector),
      mllm: part(model.mllm),
      aligner: part(model.aligner),
    };
  },
});
