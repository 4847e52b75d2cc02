// Graph → ONNX ModelProto bytes. Initializers are raw little-endian bytes; when the model's initializers exceed the
// external-data threshold, every initializer of 1 KiB or more is written to a side file `<model>.data` at
// 4096-aligned offsets (ONNX external data, so ORT can map it) and the model file keeps only its location, offset
// and length. The side file is written one initializer at a time straight from the parameters' buffers (a released
// parameter is read back for its write only), so writing never holds a second copy of the weights.

import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ATTR_TYPE, IR_VERSION, ModelProto, ONNX_DTYPE, OPSET } from './onnx-schema.ts';
import { OP_DOMAINS, type Graph, type Initializer, type Sym } from './graph.ts';

/**
 * Models whose initializers pass 64 MiB keep them as external data: ORT maps the side file instead of parsing a
 * second copy out of the protobuf (whose encoding held ~2.5 × the weights on the host: the SD 1.5 VAE decoder,
 * 198 MB, added 0.53 GB), and the host copies can be released (runner.ts). Protobuf messages cannot
 * exceed 2 GB in any case.
 */
export const DEFAULT_EXTERNAL_THRESHOLD = 64 * 2 ** 20;
const EXTERNAL_MIN_TENSOR = 1024;
const ALIGN = 4096;

function bytesOf(init: Initializer): Uint8Array {
  const data = init.param ? init.param.peek() : init.data!;
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function byteLength(init: Initializer): number {
  return init.dims.reduce((a, b) => a * b, 1) * (init.dtype === 'int64' ? 8 : 4);
}

export interface ExternalSlot {
  init: Initializer;
  offset: number;
  length: number;
}

/** Where each initializer of 1 KiB or more lies in the side file (by name), and the file's length. */
export function externalLayout(graph: Graph): { slots: Map<string, ExternalSlot>; end: number } {
  const slots = new Map<string, ExternalSlot>();
  let offset = 0;
  for (const init of graph.initializers.values()) {
    const length = byteLength(init);
    if (length < EXTERNAL_MIN_TENSOR) continue;
    offset = Math.ceil(offset / ALIGN) * ALIGN;
    slots.set(init.name, { init, offset, length });
    offset += length;
  }
  return { slots, end: offset };
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

/** The standard opset, and each other operator set the graph's nodes use (a contrib op's 'com.microsoft'). */
function opsetImports(graph: Graph): { domain: string; version: number }[] {
  const domains = new Set(graph.nodes.flatMap((n) => (n.domain ? [n.domain] : [])));
  return [{ domain: '', version: OPSET }, ...[...domains].map((domain) => ({ domain, version: OP_DOMAINS[domain] }))];
}

/** Encode the graph; with `externalFile`, initializers of 1 KiB or more are only referenced (see externalLayout). */
export function encodeModel(graph: Graph, externalFile?: string): Uint8Array {
  const slots = externalFile ? externalLayout(graph).slots : new Map<string, ExternalSlot>();
  const initializer = [...graph.initializers.values()].map((init) => {
    const base = { name: init.name, dims: init.dims, dataType: ONNX_DTYPE[init.dtype] };
    const slot = slots.get(init.name);
    if (!slot) return { ...base, rawData: bytesOf(init) };
    return {
      ...base,
      dataLocation: 1,
      externalData: [
        { key: 'location', value: externalFile! },
        { key: 'offset', value: String(slot.offset) },
        { key: 'length', value: String(slot.length) },
      ],
    };
  });
  const message = ModelProto.fromObject({
    irVersion: IR_VERSION,
    producerName: 'kosmos-g',
    producerVersion: '1',
    opsetImport: opsetImports(graph),
    graph: {
      name: 'main',
      node: graph.nodes.map((n, i) => ({
        name: `${n.op}_${i}`,
        opType: n.op,
        ...(n.domain ? { domain: n.domain } : {}),
        input: n.inputs,
        output: n.outputs,
        attribute: n.attrs.map(attribute),
      })),
      initializer,
      input: graph.inputs.map(valueInfo),
      output: graph.outputs.map(valueInfo),
    },
  });
  return ModelProto.encode(message).finish();
}

export function totalInitializerBytes(graph: Graph): number {
  let n = 0;
  for (const init of graph.initializers.values()) n += byteLength(init);
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
  if (external) {
    const { slots } = externalLayout(graph);
    writeAtomic(path.join(path.dirname(file), dataName), (fd) => {
      for (const { init, offset } of slots.values()) {
        const bytes = bytesOf(init);
        writeSync(fd, bytes, 0, bytes.byteLength, offset);
      }
    });
  }
  const model = encodeModel(graph, external ? dataName : undefined);
  writeAtomic(file, (fd) => {
    writeSync(fd, model);
  });
  return { external };
}
