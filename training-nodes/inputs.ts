// Reading model and tokenizer inputs. Model sockets (MLLM, ALIGNER, UNET, …) belong to other packs; their values
// carry the module as `.model` (or are the module), so the training pack checks the class at run time and says
// which input was wrong instead of failing deep inside a forward pass.
import { Module } from '../models/nn/module.ts';
import type { SequenceTokenizer } from '../models/data/sequences.ts';

export class TrainingInputError extends Error {
  constructor(
    readonly code: 'TRAIN_INPUT',
    message: string,
  ) {
    super(message);
    this.name = 'TrainingInputError';
  }
}

/** The module inside a model socket value: the value itself or its `.model`, checked against `cls`. */
export function moduleOf<M extends Module>(value: unknown, cls: abstract new (...a: never[]) => M, where: string): M {
  const m = value instanceof Module ? value : (value as { model?: unknown } | undefined)?.model;
  if (m instanceof cls) return m;
  const got = m instanceof Module ? m.constructor.name : value === undefined ? 'nothing' : typeof value;
  throw new TrainingInputError('TRAIN_INPUT', `${where}: expected a ${cls.name}, got ${got}`);
}

/** Any module inside a model socket value, or undefined when the input is not wired. */
export function anyModule(value: unknown): Module | undefined {
  if (value instanceof Module) return value;
  const m = (value as { model?: unknown } | undefined)?.model;
  return m instanceof Module ? m : undefined;
}

interface TokenizerLike {
  encode(text: string): number[];
  specials?: { bos: number; eos: number; pad: number; image?: number; endImage?: number };
  maxLength?: number;
}

/** A TOKENIZER value (a TextTokenizer or `{ tokenizer }`) as the sequence builders' interface. */
export function sequenceTokenizer(value: unknown, where: string): SequenceTokenizer & { maxLength?: number } {
  const t = ((value as { tokenizer?: unknown })?.tokenizer ?? value) as TokenizerLike | undefined;
  if (!t || typeof t.encode !== 'function' || !t.specials) {
    throw new TrainingInputError('TRAIN_INPUT', `${where}: expected a tokenizer`);
  }
  const s = t.specials;
  return {
    encode: (text) => t.encode(text),
    bos: s.bos,
    eos: s.eos,
    pad: s.pad,
    // Tokenizers without image markers (CLIP BPE) can still build text-only sequences.
    image: s.image ?? -1,
    imageEnd: s.endImage ?? -1,
    maxLength: t.maxLength,
  };
}

