// Tensors in and out of safetensors files.
import { defineNode } from '../../engine/node-def.ts';
import { KosmosError } from '../../engine/errors.ts';
import { openSafetensors, saveSafetensors } from '../../models/io/safetensors.ts';
import { checkPrefix, nextFileNames } from './files.ts';
import './types.ts';

export const LoadTensor = defineNode({
  type: 'LoadTensor',
  category: 'core/tensor',
  description: 'Reads one tensor from a .safetensors file (by name; empty name = the file\'s only tensor).',
  inputs: {},
  widgets: {
    file: { kind: 'PATH', default: '', mode: 'read', extensions: ['.safetensors'] },
    name: { kind: 'STRING', default: '' },
  },
  outputs: { tensor: { type: 'TENSOR' } },
  execute: async ({ file, name }, ctx) => {
    const reader = await openSafetensors(file);
    try {
      const names = [...reader.header.tensors.keys()];
      if (name === '' && names.length !== 1) {
        throw new KosmosError('TENSOR_NAME', `node "${ctx.nodeId}": ${file} holds ${names.length} tensors; set "name" to one of ${names.slice(0, 10).join(', ')}`, { exitCode: 1 });
      }
      const chosen = name === '' ? names[0]! : name;
      if (!reader.header.tensors.has(chosen)) {
        throw new KosmosError('TENSOR_NAME', `node "${ctx.nodeId}": ${file} has no tensor "${chosen}"`, { exitCode: 1 });
      }
      return { tensor: await reader.read(chosen) };
    } finally {
      await reader.close();
    }
  },
});

export const SaveTensor = defineNode({
  type: 'SaveTensor',
  category: 'core/tensor',
  description: 'Writes the tensor to a .safetensors file under the job\'s output folder.',
  inputs: { tensor: { type: 'TENSOR' } },
  widgets: {
    filename_prefix: { kind: 'STRING', default: 'tensor' },
    name: { kind: 'STRING', default: 'tensor' },
  },
  outputs: {},
  output: true,
  execute: async ({ tensor, filename_prefix, name }, ctx) => {
    const prefix = checkPrefix(filename_prefix, ctx.nodeId);
    const [file] = await nextFileNames(await ctx.outputDir(), prefix, '.safetensors', 1);
    await saveSafetensors(file!, new Map([[name === '' ? 'tensor' : name, tensor]]), { producer: 'kosmos-g' });
    ctx.addOutputFile({ path: file!, kind: 'tensor', mime: 'application/octet-stream' });
    return {};
  },
});

export const tensorNodes = [LoadTensor, SaveTensor];
