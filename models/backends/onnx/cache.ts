// Cache keys for traced models: sha256 over the traced graph (ops, attributes, shapes, input signature, the entry
// name), the constants' bytes, and each parameter's content hash. Parameter hashes are remembered per parameter
// version, so a model is hashed once per weight change, not once per run.

import { createHash } from 'node:crypto';
import type { Parameter } from '../../nn/module.ts';
import type { Graph } from './graph.ts';
import { OPSET } from './onnx-schema.ts';

const FORMAT = 'kosmos-g-onnx-trace-1';
const paramHashes = new WeakMap<Parameter, { version: number; hash: string }>();

function bytesHash(data: ArrayBufferView): string {
  return createHash('sha256').update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest('hex');
}

export function parameterHash(p: Parameter): string {
  const known = paramHashes.get(p);
  if (known && known.version === p.version && p.materialized) return known.hash;
  const hash = bytesHash(p.data);
  paramHashes.set(p, { version: p.version, hash });
  return hash;
}

export function graphKey(entry: string, graph: Graph): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ format: FORMAT, opset: OPSET, entry }));
  h.update(JSON.stringify(graph.inputs.map((s) => [s.name, s.shape, s.dtype])));
  h.update(JSON.stringify(graph.outputs.map((s) => [s.name, s.shape, s.dtype])));
  h.update(JSON.stringify(graph.nodes));
  for (const init of graph.initializers.values()) {
    h.update(JSON.stringify([init.name, init.dims, init.dtype]));
    h.update(init.param ? parameterHash(init.param) : bytesHash(init.data!));
  }
  return h.digest('hex');
}
