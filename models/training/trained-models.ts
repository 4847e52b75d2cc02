// The models a training loop updates, each with the key prefix its weights carry in a checkpoint (the reference
// names: `gpt_model.decoder.` for the MLLM, `aligner.` for AlignerNet, none for a diffusers U-Net, …), so a
// checkpoint's weights load back by name into generation.
import type { Module, Parameter } from '../nn/module.ts';
import { TrainError } from './errors.ts';

export interface TrainedModel {
  /** What the user calls it (the socket name), for messages. */
  name: string;
  module: Module;
  /** Prefix of its keys in the checkpoint ('' for none). */
  prefix: string;
}

/** Every parameter of the trained models by checkpoint key; a key claimed twice is an error. */
export function checkpointParameters(models: readonly TrainedModel[]): Map<string, Parameter> {
  const out = new Map<string, Parameter>();
  const owner = new Map<string, string>();
  for (const m of models) {
    for (const [key, p] of m.module.namedParameters()) {
      const full = m.prefix + key;
      if (out.has(full)) {
        // The same module wired twice is harmless; two modules sharing a key would overwrite each other.
        if (out.get(full) === p) continue;
        throw new TrainError('TRAIN_KEY_COLLISION', `checkpoint key ${full} is claimed by both ${owner.get(full)} and ${m.name}`);
      }
      out.set(full, p);
      owner.set(full, m.name);
    }
  }
  return out;
}
