// Text side: LoadTokenizer, Tokenize (plain text → ids for the CLIP text encoder or the MLLM), KosmosPrompt
// (text with <i> placeholders + images → the interleaved MLLM sequence, spec §1.3).

import { defineNode } from '../../engine/node-def.ts';
import { loadTokenizer } from '../../models/tokenizers/load.ts';
import { encodePadded, type TextTokenizer } from '../../models/tokenizers/tokenizer.ts';
import { buildInterleavedPrompt, IMAGE_PLACEHOLDER } from '../../models/prompt/interleaved.ts';
import { unknownWordsWarning } from '../../models/tokenizers/unknown-words.ts';
import { collectImages, IMAGE_INPUTS } from './common.ts';
import type { TokensValue } from './types.ts';

export const LoadTokenizer = defineNode({
  type: 'LoadTokenizer',
  category: 'kosmos-g/text',
  description:
    'Load a tokenizer: KOSMOS-G SentencePiece (.model + dict.txt), CLIP BPE (tokenizer.json, vocab.json + merges.txt, bpe_simple_vocab_16e6.txt.gz) or the project’s small tokenizer.json',
  inputs: {},
  widgets: {
    path: { kind: 'PATH', default: '', mode: 'read', description: 'A tokenizer file or the folder holding it' },
  },
  outputs: { tokenizer: { type: 'TOKENIZER' } },
  async execute({ path }) {
    return { tokenizer: await loadTokenizer(path) };
  },
});

function isClip(t: TextTokenizer): boolean {
  return t.kind === 'clip-bpe' || t.kind === 'word-clip';
}

export const Tokenize = defineNode({
  type: 'Tokenize',
  category: 'kosmos-g/text',
  description: 'Text → token ids: CLIP tokenizers give BOS + text + EOS padded to 77; MLLM tokenizers give <s> + text (no </s>)',
  inputs: { tokenizer: { type: 'TOKENIZER' } },
  widgets: { text: { kind: 'STRING', default: '', multiline: true } },
  outputs: { tokens: { type: 'TOKENS' } },
  execute({ tokenizer, text }, ctx) {
    const unknown = unknownWordsWarning(tokenizer, text, 'text');
    if (unknown !== undefined) ctx.log.warn(unknown);
    const clip = isClip(tokenizer);
    const ids = clip ? encodePadded(tokenizer, text) : [tokenizer.specials.bos, ...tokenizer.encode(text)];
    const tokens: TokensValue = {
      ids: Int32Array.from(ids),
      shape: [1, ids.length],
      imageCount: 0,
      padId: tokenizer.specials.pad,
      kind: clip ? 'clip' : 'mllm',
    };
    return { tokens };
  },
});

export const KosmosPrompt = defineNode({
  type: 'KosmosPrompt',
  category: 'kosmos-g/text',
  description: 'An interleaved prompt: one <i> per image → <s> text <image>×65 </image> … with the 64 feature slots of each image marked',
  inputs: { tokenizer: { type: 'TOKENIZER' }, ...IMAGE_INPUTS },
  widgets: { prompt: { kind: 'STRING', default: '<i> in the jungle', multiline: true, description: 'Text with one <i> per image, in input order' } },
  outputs: { tokens: { type: 'TOKENS' } },
  execute({ tokenizer, prompt, ...images }, ctx) {
    const unknown = unknownWordsWarning(tokenizer, prompt, 'prompt', [IMAGE_PLACEHOLDER]);
    if (unknown !== undefined) ctx.log.warn(unknown);
    const count = collectImages(images).reduce((n, i) => n + i.batch, 0);
    const built = buildInterleavedPrompt(prompt, count, tokenizer);
    const tokens: TokensValue = {
      ids: built.tokens,
      shape: [1, built.tokens.length],
      imageMask: built.imageMask,
      imageCount: built.imageCount,
      padId: tokenizer.specials.pad,
      kind: 'mllm',
    };
    return { tokens };
  },
});
