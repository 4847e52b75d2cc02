// The world's whole vocabulary as a small corpus (every colour, shape, background, relation and edit word), so the
// default model's word tokenizers are built from the world's definition, not from whichever scenes a seed drew:
// held-out prompts then never contain an <unk>.

import { BACKGROUND_NAMES, COLOR_NAMES, SHAPES } from '../models/world/palette.ts';
import { RELATIONS } from '../models/world/scene.ts';
import { buildWordTokenizer, type WordTokenizer } from '../models/tokenizers/word-tokenizer.ts';
import { DEFAULT_TEXT_LENGTH } from './config.ts';

export function worldCorpus(): string[] {
  const lines: string[] = [];
  for (const color of COLOR_NAMES) {
    for (const shape of SHAPES) {
      for (const relation of RELATIONS) lines.push(`a ${color} ${shape} ${relation} a ${color} ${shape} on a white background`);
      lines.push(`make the ${color} ${shape} ${color}`);
    }
  }
  for (const b of BACKGROUND_NAMES) lines.push(`on a ${b} background`, `make the background ${b}`);
  return lines;
}

/** The MLLM's tokenizer (fairseq layout) and the CLIP text encoder's (CLIP layout, DEFAULT_TEXT_LENGTH tokens). */
export function defaultTokenizers(): { mllm: WordTokenizer; clip: WordTokenizer } {
  const corpus = worldCorpus();
  return {
    mllm: buildWordTokenizer(corpus, { kind: 'word' }),
    clip: buildWordTokenizer(corpus, { kind: 'word-clip', maxLength: DEFAULT_TEXT_LENGTH }),
  };
}
