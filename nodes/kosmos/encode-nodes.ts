// Compute nodes: CLIPVisionEncode → Resample → MLLMEncode → AlignerEncode (→ AlignerReconstruct), CLIPTextEncode,
// and KosmosGEncode, the whole chain plus the null condition in one node. Each runs on its model's backend.

import { defineNode } from '../../engine/node-def.ts';
import type { Conditioning } from '../../models/conditioning.ts';
import { hostTensor, type HostTensor } from '../../models/ops/ops.ts';
import type { ForwardFn } from '../../models/runtime/runner.ts';
import { buildInterleavedPrompt, IMAGE_PLACEHOLDER } from '../../models/prompt/interleaved.ts';
import { unknownWordsWarning } from '../../models/tokenizers/unknown-words.ts';
import {
  alignerEncode,
  alignerReconstruct,
  encodeImages,
  encodeKosmosG,
  mllmEncode,
  nullCondition,
  resample,
  type PromptSequence,
} from '../../models/kosmosg/encode.ts';
import { getRunner } from '../../models/runtime/runners.ts';
import { collectImages, IMAGE_INPUTS, kosmosError } from './common.ts';
import type { CLIPTextModel } from '../../models/clip/text-model.ts';
import type { ImageFeaturesValue, MLLMStatesValue, ModelValue, TokensValue } from './types.ts';

/** The rows of a TOKENS value as prompt sequences (padding stays; the MLLM treats pad id 1 as padding). */
function sequences(tokens: TokensValue, where: string): PromptSequence[] {
  if (tokens.kind !== 'mllm') {
    throw kosmosError('KOSMOS_TOKENS_KIND', `${where}: these are CLIP tokens (77 ids with BOS/EOS); the MLLM needs MLLM tokens (KosmosPrompt or Tokenize with an MLLM tokenizer)`);
  }
  const [b, t] = tokens.shape;
  return Array.from({ length: b }, (_, i) => ({
    tokens: tokens.ids.subarray(i * t, (i + 1) * t),
    imageMask: tokens.imageMask?.subarray(i * t, (i + 1) * t),
  }));
}

export const CLIPVisionEncode = defineNode({
  type: 'CLIPVisionEncode',
  category: 'kosmos-g/encode',
  description: 'Images → CLIP ViT tokens (224 px bicubic resize + centre crop, CLIP mean/std; all tokens after ln_post, L2-normalised)',
  inputs: { clip_vision: { type: 'CLIP_VISION' }, ...IMAGE_INPUTS },
  widgets: {},
  outputs: { features: { type: 'IMAGE_FEATURES' } },
  async execute({ clip_vision, ...rest }) {
    const images = collectImages(rest);
    if (images.length === 0) throw kosmosError('KOSMOS_NO_IMAGE', 'CLIPVisionEncode: connect at least one image');
    const tensor = await encodeImages(await getRunner(clip_vision.backend), clip_vision.model, images);
    const features: ImageFeaturesValue = { tensor, stage: 'clip-vision', images: tensor.shape[0]! };
    return { features };
  },
});

export const Resample = defineNode({
  type: 'Resample',
  category: 'kosmos-g/encode',
  description: 'CLIP image tokens → 64 MLLM-width features per image (XConnector cross-attention)',
  inputs: { connector: { type: 'CONNECTOR' }, features: { type: 'IMAGE_FEATURES' } },
  widgets: {},
  outputs: { features: { type: 'IMAGE_FEATURES' } },
  async execute({ connector, features }) {
    if (features.stage !== 'clip-vision') throw kosmosError('KOSMOS_FEATURES_STAGE', 'Resample: these features are already resampled; connect CLIPVisionEncode’s output');
    const tensor = await resample(await getRunner(connector.backend), connector.model, features.tensor);
    const out: ImageFeaturesValue = { tensor, stage: 'connector', images: features.images };
    return { features: out };
  },
});

export const MLLMEncode = defineNode({
  type: 'MLLMEncode',
  category: 'kosmos-g/encode',
  description: 'MLLM tokens (+ resampled image features for the <i> slots) → final-LayerNorm hidden states [B, T, 2048]',
  inputs: { mllm: { type: 'MLLM' }, tokens: { type: 'TOKENS' }, features: { type: 'IMAGE_FEATURES', optional: true } },
  widgets: {},
  outputs: { states: { type: 'MLLM_STATES' } },
  async execute({ mllm, tokens, features }) {
    if (features && features.stage !== 'connector') throw kosmosError('KOSMOS_FEATURES_STAGE', 'MLLMEncode: image features must go through Resample first');
    const out = await mllmEncode(await getRunner(mllm.backend), mllm.model, sequences(tokens, 'MLLMEncode'), features?.tensor);
    const states: MLLMStatesValue = { states: out.states, tokens: out.tokens, padId: mllm.model.config.padIdx };
    return { states };
  },
});

export const AlignerEncode = defineNode({
  type: 'AlignerEncode',
  category: 'kosmos-g/encode',
  description: 'AlignerNet M: MLLM states → U-Net conditioning [B, 77, 768]; optional negative states give the unconditional side',
  inputs: { aligner: { type: 'ALIGNER' }, states: { type: 'MLLM_STATES' }, negative: { type: 'MLLM_STATES', optional: true } },
  widgets: {},
  outputs: { conditioning: { type: 'CONDITIONING' } },
  async execute({ aligner, states, negative }) {
    const runner = await getRunner(aligner.backend);
    const cond = await alignerEncode(runner, aligner.model, states.states, states.tokens, states.padId);
    const conditioning: Conditioning = { cond, source: 'kosmos-g' };
    if (negative) conditioning.uncond = await alignerEncode(runner, aligner.model, negative.states, negative.tokens, negative.padId);
    return { conditioning };
  },
});

export const AlignerReconstruct = defineNode({
  type: 'AlignerReconstruct',
  category: 'kosmos-g/encode',
  description: 'AlignerNet N (stage 2): conditioning → reconstructed MLLM states, as long as the given states',
  inputs: { aligner: { type: 'ALIGNER' }, conditioning: { type: 'CONDITIONING' }, states: { type: 'MLLM_STATES' } },
  widgets: {},
  outputs: { states: { type: 'MLLM_STATES' } },
  async execute({ aligner, conditioning, states }) {
    if (!aligner.model.hasReconstruction) throw kosmosError('KOSMOS_NO_RECONSTRUCTION', 'AlignerReconstruct: this AlignerNet has no N (load a stage-2 checkpoint or turn on reconstruction)');
    const length = states.states.shape[1]!;
    const rec = await alignerReconstruct(await getRunner(aligner.backend), aligner.model, conditioning.cond, length);
    const out: MLLMStatesValue = { states: rec, tokens: states.tokens, padId: states.padId };
    return { states: out };
  },
});

async function clipEncode(clip: ModelValue<CLIPTextModel>, tokens: TokensValue): Promise<HostTensor> {
  if (tokens.kind !== 'clip') throw kosmosError('KOSMOS_TOKENS_KIND', 'CLIPTextEncode: these are MLLM tokens; tokenize with a CLIP tokenizer');
  const forward: ForwardFn = (ops, [ids]) => [clip.model.forward(ops, ids!)];
  const runner = await getRunner(clip.backend);
  return (await runner.run(clip.model, 'clip-text', forward, [hostTensor(tokens.ids, tokens.shape)]))[0]!;
}

export const CLIPTextEncode = defineNode({
  type: 'CLIPTextEncode',
  category: 'kosmos-g/encode',
  description: "SD 1.5's CLIP text encoder: 77 tokens → last_hidden_state [B, 77, 768] (the stage-2 target; plain SD conditioning)",
  inputs: { clip_text: { type: 'CLIP_TEXT' }, tokens: { type: 'TOKENS' }, negative: { type: 'TOKENS', optional: true, description: 'e.g. Tokenize("") for plain SD guidance' } },
  widgets: {},
  outputs: { conditioning: { type: 'CONDITIONING' } },
  async execute({ clip_text, tokens, negative }) {
    const conditioning: Conditioning = { cond: await clipEncode(clip_text, tokens), source: 'clip-text' };
    if (negative) conditioning.uncond = await clipEncode(clip_text, negative);
    return { conditioning };
  },
});

export const KosmosGEncode = defineNode({
  type: 'KosmosGEncode',
  category: 'kosmos-g/encode',
  description: 'Interleaved prompt + images → KOSMOS-G conditioning [1, 77, 768] with its null condition (MLLM + AlignerNet-M on <s> + negative) as uncond',
  inputs: { kosmos_g: { type: 'KOSMOS_G' }, tokenizer: { type: 'TOKENIZER' }, ...IMAGE_INPUTS },
  widgets: {
    prompt: { kind: 'STRING', default: '<i> in the jungle', multiline: true, description: 'Text with one <i> per image, in input order' },
    negative: { kind: 'STRING', default: '', multiline: true, description: 'Negative prompt; empty: the null condition on <s>' },
  },
  outputs: { conditioning: { type: 'CONDITIONING' } },
  async execute({ kosmos_g, tokenizer, prompt, negative, ...rest }, ctx) {
    for (const [text, where] of [[prompt, 'prompt'], [negative, 'negative']] as const) {
      const unknown = unknownWordsWarning(tokenizer, text, where, [IMAGE_PLACEHOLDER]);
      if (unknown !== undefined) ctx.log.warn(unknown);
    }
    const images = collectImages(rest);
    const count = images.reduce((n, i) => n + i.batch, 0);
    const built = buildInterleavedPrompt(prompt, count, tokenizer);
    const runner = await getRunner(kosmos_g.backend);
    const model = kosmos_g.model;
    if (tokenizer.vocabSize > model.config.mllm.vocabSize) {
      throw kosmosError('KOSMOS_VOCAB', `KosmosGEncode: the tokenizer has ${tokenizer.vocabSize} ids but the MLLM embeds ${model.config.mllm.vocabSize}`);
    }
    ctx.progress({ value: 0, max: 2 });
    const cond = await encodeKosmosG(runner, model, [{ tokens: built.tokens, imageMask: built.imageMask }], images);
    ctx.progress({ value: 1, max: 2 });
    const uncond = await nullCondition(runner, model, tokenizer.specials.bos, negative.trim() ? tokenizer.encode(negative) : []);
    ctx.progress({ value: 2, max: 2 });
    return { conditioning: { cond, uncond, source: 'kosmos-g' } };
  },
});
