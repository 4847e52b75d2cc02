// .pt → .safetensors: read the state dict as data (never unpickling code) and write it with the project's
// safetensors writer, so a user holding `checkpoint_final.pt` gets a file every loader here reads by key name.

import path from 'node:path';
import type { HostTensor } from '../../ops/ops.ts';
import { saveSafetensors } from '../safetensors.ts';
import { TorchCheckpoint, readStateDict, tensorRefs } from './torch-load.ts';

export interface ConvertOptions {
  /** Dotted path of the state dict ('model' for KOSMOS-G/fairseq; default: detected). */
  key?: string;
  /** Keep only keys starting with one of these (e.g. the KOSMOS-G parts, leaving the frozen U-Net/VAE out). */
  include?: readonly string[];
  /** Drop keys starting with one of these. */
  exclude?: readonly string[];
  /** Storage type of float tensors in the output (default F32). */
  floatDType?: 'F32' | 'F16' | 'BF16';
}

export interface ConvertReport {
  tensors: number;
  parameters: number;
  skipped: number;
  key: string;
}

function keep(name: string, options: ConvertOptions): boolean {
  if (options.include && !options.include.some((p) => name.startsWith(p))) return false;
  if (options.exclude && options.exclude.some((p) => name.startsWith(p))) return false;
  return true;
}

export async function convertTorchToSafetensors(input: string, output: string, options: ConvertOptions = {}): Promise<ConvertReport> {
  const ckpt = TorchCheckpoint.open(input);
  try {
    const all = readStateDict(ckpt, options.key === undefined ? {} : { key: options.key });
    const tensors = new Map<string, HostTensor>();
    let parameters = 0;
    for (const [name, t] of all) {
      if (!keep(name, options)) continue;
      tensors.set(name, t);
      parameters += t.data.length;
    }
    const key = options.key ?? (ckpt.root instanceof Map && ckpt.root.has('model') ? 'model' : '');
    await saveSafetensors(
      output,
      tensors,
      { format: 'pt', source: path.basename(input), source_key: key, converted_by: 'kosmos-g convert-checkpoint' },
      options.floatDType ? { floatDType: options.floatDType } : {},
    );
    return { tensors: tensors.size, parameters, skipped: all.size - tensors.size, key };
  } finally {
    ckpt.close();
  }
}

/** Key, dtype and shape of every tensor under `key`, without reading tensor data. */
export function listTorchTensors(input: string, key?: string): { name: string; dtype: string; shape: number[] }[] {
  const ckpt = TorchCheckpoint.open(input);
  try {
    const root = key === undefined ? (ckpt.root instanceof Map && ckpt.root.has('model') ? ckpt.get('model') : ckpt.root) : ckpt.get(key);
    return tensorRefs(root).map(([name, ref]) => ({ name, dtype: ref.dtype, shape: ref.shape }));
  } finally {
    ckpt.close();
  }
}
