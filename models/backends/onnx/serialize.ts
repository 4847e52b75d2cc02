// Graph → ONNX ModelProto bytes. Initializers are raw little-endian bytes; when the model is larger than the
// external-data threshold (protobuf messages cannot exceed 2 GB), every initializer of 1 KiB or more is written to
// a side file `<model>.data` at 4096-aligned offsets (ONNX external data, so ORT can map it) and the model file
// keeps only its location, offset and length.

import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ATTR_TYPE, IR_VERSION, ModelProto, ONNX_DTYPE, OPSET } from './onnx-schema.ts';
import type { Graph, Initializer, Sym } from './graph.ts';

/** Below 2 GiB with room for the graph itself. */
export const DEFAULT_EXTERNAL_THRESHOLD = 1.75 * 2 ** 30;
const EXTERNAL_MIN_TENSOR = 1024;
const ALIGN = 4096;

function bytesOf(init: Initializer): Uint8Array {
  const data = init.param ? init.param.data : init.data!;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function valueInfo(s: Sym) {
  return {
    name: s.name,
    type: { tensorType: { elemType: ONNX_DTYPE[s.dtype], shape: { dim: s.shape.map((d) => ({ dimValue: d })) } } },
  };
}

function attribute(a: Graph['nodes'][number]['attrs'][number]) {
  switch (a.kind) {
    case 'int':
      return { name: a.name, type: ATTR_TYPE.int, i: a.value };
    case 'ints':
      return { name: a.name, type: ATTR_TYPE.ints, ints: a.value };
    case 'float':
      return { name: a.name, type: ATTR_TYPE.float, f: a.value };
    case 'floats':
      return { name: a.name, type: ATTR_TYPE.floats, floats: a.value };
    case 'string':
      return { name: a.name, type: ATTR_TYPE.string, s: new TextEncoder().encode(a.value) };
  }
}

export interface ExternalChunk {
  offset: number;
  bytes: Uint8Array;
}

/** Encode the graph; with `externalFile`, large initializers are listed in `chunks` for that side file instead. */
export function encodeModel(graph: Graph, externalFile?: string): { model: Uint8Array; chunks: ExternalChunk[] } {
  const chunks: ExternalChunk[] = [];
  let offset = 0;
  const initializer = [...graph.initializers.values()].map((init) => {
    const bytes = bytesOf(init);
    const base = { name: init.name, dims: init.dims, dataType: ONNX_DTYPE[init.dtype] };
    if (!externalFile || bytes.byteLength < EXTERNAL_MIN_TENSOR) return { ...base, rawData: bytes };
    offset = Math.ceil(offset / ALIGN) * ALIGN;
    chunks.push({ offset, bytes });
    const entry = {
      ...base,
      dataLocation: 1,
      externalData: [
        { key: 'location', value: externalFile },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(bytes.byteLength) },
      ],
    };
    offset += bytes.byteLength;
    return entry;
  });
  const message = ModelProto.fromObject({
    irVersion: IR_VERSION,
    producerName: 'kosmos-g',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: OPSET }],
    graph: {
      name: 'main',
      node: graph.nodes.map((n, i) => ({
        name: `${n.op}_${i}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: n.attrs.map(attribute),
      })),
      initializer,
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
  });
  return { model: ModelProto.encode(message).finish(), chunks };
}

export function totalInitializerBytes(graph: Graph): number {
  let n = 0;
  for (const init of graph.initializers.values()) {
    n += init.dims.reduce((a, b) => a * b, 1) * (init.dtype === 'int64' ? 8 : 4);
  }
  return n;
}

function writeAtomic(file: string, write: (fd: number) => void): void {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    write(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, file);
}

/**
 * Write the model to `file` (atomically: temp file then rename), with external data in `${file}.data` when the
 * initializers exceed `externalThreshold` bytes. The side file is written first, so an existing model file is
 * always complete.
 */
export function writeModel(graph: Graph, file: string, externalThreshold = DEFAULT_EXTERNAL_THRESHOLD): { external: boolean } {
  const external = totalInitializerBytes(graph) > externalThreshold;
  const dataName = `${path.basename(file)}.data`;
  const { model, chunks } = encodeModel(graph, external ? dataName : undefined);
  if (external) {
    writeAtomic(path.join(path.dirname(file), dataName), (fd) => {
      for (const c of chunks) writeSync(fd, c.bytes, 0, c.bytes.byteLength, c.offset);
    });
  }
  writeAtomic(file, (fd) => {
    writeSync(fd, model);
  });
  return { external };
}
