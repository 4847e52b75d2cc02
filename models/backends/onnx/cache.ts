// Cache keys for traced models: sha256 over the traced graph (ops, attributes, shapes, input signature, the entry
// name), the constants' bytes, and each parameter's content hash. Parameter hashes are remembered per parameter
// version, so a model is hashed once per weight change, not once per run.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import path from 'node:path';
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
  // A released parameter holds the values it was hashed with (release keeps the version and the values).
  if (known && known.version === p.version && (p.materialized || p.released)) return known.hash;
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

/**
 * Keep the disk cache under `maxBytes` (KOSMOS_G_ONNX_CACHE_GB, default 16 GiB): models traced for weights that
 * later changed are never read again, and a real U-Net is 3.4 GB per copy. Files are removed oldest-used first
 * (the runner touches a model's mtime each time it opens it); `keep` is never removed.
 */
export function pruneCache(dir: string, keep: string, maxBytes = (Number(process.env.KOSMOS_G_ONNX_CACHE_GB) || 16) * 2 ** 30): string[] {
  const models = readdirSync(dir)
    .filter((f) => f.endsWith('.onnx'))
    .map((f) => {
      const file = path.join(dir, f);
      const data = `${file}.data`;
      const st = statSync(file);
      const size = st.size + (existsSync(data) ? statSync(data).size : 0);
      return { file, data, size, used: st.mtimeMs };
    })
    .sort((a, b) => a.used - b.used);
  let total = models.reduce((n, m) => n + m.size, 0);
  const removed: string[] = [];
  for (const m of models) {
    if (total <= maxBytes) break;
    if (path.resolve(m.file) === path.resolve(keep)) continue;
    rmSync(m.file, { force: true });
    rmSync(m.data, { force: true });
    total -= m.size;
    removed.push(m.file);
  }
  return removed;
}

/** Mark a cached model as used now (its mtime orders pruning). */
export function touch(file: string): void {
  const now = new Date();
  try {
    utimesSync(file, now, now);
  } catch {
    // A file removed meanwhile is rebuilt on its next use.
  }
}
