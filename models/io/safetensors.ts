// safetensors: an 8-byte little-endian header length, a JSON header ({name: {dtype, shape, data_offsets}} plus
// optional string `__metadata__`), padded with spaces to 8 bytes, then raw little-endian tensor data.
// Reading checks every claim the header makes against the file (a lying or truncated file is an error naming
// the file and tensor, never a crash) and reads large files tensor by tensor through a file handle.
// Half-precision values (F16, BF16) decode exactly to float32.
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import type { HostTensor } from '../ops/ops.ts';
import { tempNameFor } from './atomic.ts';
import { bfloatsToFloats, floatsToHalves, halvesToFloats } from './float16.ts';

// Kept for callers that encode single values from here.
export { floatBitsToBFloat, floatBitsToHalf } from './float16.ts';

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const ITEM_SIZE: Record<SafetensorsDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
/** The header of a sane file is far below this; a bigger claim is a corrupt or hostile file. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface SafetensorsEntry {
  dtype: SafetensorsDType;
  shape: number[];
  /** Byte range [begin, end) relative to the start of the data section. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** Absolute file offset of the data section. */
  dataStart: number;
  fileSize: number;
}

export class SafetensorsError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'SafetensorsError';
    this.code = code;
  }
}

const invalid = (file: string, message: string): SafetensorsError => new SafetensorsError('SAFETENSORS_INVALID', `${file}: ${message}`);

if (os.endianness() !== 'LE') throw new Error('safetensors.ts assumes a little-endian host');

/** Read and check the header only. */
export async function readSafetensorsHeader(file: string): Promise<SafetensorsHeader> {
  const handle = await openFile(file);
  try {
    return await readHeader(handle, file);
  } finally {
    await handle.close();
  }
}

/** A file opened for reading tensors one at a time (for files too large to read whole). */
export interface SafetensorsReader {
  readonly header: SafetensorsHeader;
  read(name: string): Promise<HostTensor>;
  close(): Promise<void>;
}

export async function openSafetensors(file: string): Promise<SafetensorsReader> {
  const handle = await openFile(file);
  let header: SafetensorsHeader;
  try {
    header = await readHeader(handle, file);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return {
    header,
    async read(name: string): Promise<HostTensor> {
      const entry = header.tensors.get(name);
      if (entry === undefined) throw new SafetensorsError('SAFETENSORS_MISSING_TENSOR', `${file}: no tensor "${name}"`);
      const [begin, end] = entry.dataOffsets;
      const bytes = new Uint8Array(end - begin);
      let done = 0;
      while (done < bytes.length) {
        const { bytesRead } = await handle.read(bytes, done, bytes.length - done, header.dataStart + begin + done);
        if (bytesRead === 0) throw invalid(file, `tensor "${name}": file ended early (truncated)`);
        done += bytesRead;
      }
      return decodeTensor(bytes, entry, file, name);
    },
    close: () => handle.close(),
  };
}

/** Load every tensor (or those `filter` accepts) into host memory, reading one tensor at a time. */
export async function loadSafetensors(file: string, filter?: (name: string) => boolean): Promise<Map<string, HostTensor>> {
  const reader = await openSafetensors(file);
  try {
    const out = new Map<string, HostTensor>();
    for (const name of reader.header.tensors.keys()) if (filter === undefined || filter(name)) out.set(name, await reader.read(name));
    return out;
  } finally {
    await reader.close();
  }
}

/** Parse a whole safetensors file already in memory (uploads, tests). */
export function parseSafetensors(bytes: Uint8Array, file = 'safetensors'): { tensors: Map<string, HostTensor>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw invalid(file, `only ${bytes.length} bytes: too short for a safetensors header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = headerLengthOf(view.getBigUint64(0, true), bytes.length, file);
  const header = parseHeader(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)), 8 + headerLength, bytes.length, file);
  const tensors = new Map<string, HostTensor>();
  for (const [name, entry] of header.tensors) {
    const [begin, end] = entry.dataOffsets;
    // Copy so the tensor owns aligned memory.
    tensors.set(name, decodeTensor(bytes.slice(header.dataStart + begin, header.dataStart + end), entry, file, name));
  }
  return { tensors, metadata: header.metadata };
}

export interface SaveOptions {
  /** Storage type for float32 tensors (default F32). F16 and BF16 round to nearest even. */
  floatDType?: 'F32' | 'F16' | 'BF16';
}

/** Write tensors (float32 as F32/F16/BF16, int32 as I32) atomically: a temp file renamed into place. */
export async function saveSafetensors(file: string, tensors: Map<string, HostTensor>, metadata?: Record<string, string>, options: SaveOptions = {}): Promise<void> {
  const floatDType = options.floatDType ?? 'F32';
  const header: Record<string, unknown> = {};
  if (metadata !== undefined && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new SafetensorsError('SAFETENSORS_METADATA', `${file}: metadata "${k}" must be a string`);
    header.__metadata__ = metadata;
  }
  let offset = 0;
  const plan: { tensor: HostTensor; dtype: SafetensorsDType }[] = [];
  for (const [name, tensor] of tensors) {
    if (name === '__metadata__') throw new SafetensorsError('SAFETENSORS_NAME', `${file}: "__metadata__" is reserved`);
    const numel = tensor.shape.reduce((a, b) => a * b, 1);
    if (numel !== tensor.data.length) throw new SafetensorsError('SAFETENSORS_SHAPE', `${file}: tensor "${name}": shape [${tensor.shape.join(', ')}] does not hold ${tensor.data.length} values`);
    const dtype: SafetensorsDType = tensor.data instanceof Int32Array ? 'I32' : floatDType;
    const size = numel * ITEM_SIZE[dtype];
    header[name] = { dtype, shape: tensor.shape, data_offsets: [offset, offset + size] };
    offset += size;
    plan.push({ tensor, dtype });
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const lengthBytes = Buffer.alloc(8);
  lengthBytes.writeBigUInt64LE(BigInt(headerBytes.length));

  const temp = tempNameFor(file);
  const handle = await open(temp, 'w');
  try {
    await handle.write(lengthBytes);
    await handle.write(headerBytes);
    for (const { tensor, dtype } of plan) await handle.write(encodeTensor(tensor, dtype));
    await handle.sync();
    await handle.close();
    await rename(temp, file);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}

// ---------------------------------------------------------------- header

async function openFile(file: string): Promise<FileHandle> {
  try {
    return await open(file, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SafetensorsError('FILE_NOT_FOUND', `${file}: no such file`);
    if (code === 'EISDIR') throw new SafetensorsError('SAFETENSORS_INVALID', `${file}: is a folder, not a safetensors file`);
    throw new SafetensorsError('FILE_UNREADABLE', `${file}: cannot be read (${code ?? (error as Error).message})`);
  }
}

async function readHeader(handle: FileHandle, file: string): Promise<SafetensorsHeader> {
  const fileSize = (await handle.stat()).size;
  if (fileSize < 8) throw invalid(file, `only ${fileSize} bytes: too short for a safetensors header`);
  const lengthBytes = new Uint8Array(8);
  await handle.read(lengthBytes, 0, 8, 0);
  const headerLength = headerLengthOf(new DataView(lengthBytes.buffer).getBigUint64(0, true), fileSize, file);
  const headerBytes = new Uint8Array(headerLength);
  const { bytesRead } = await handle.read(headerBytes, 0, headerLength, 8);
  if (bytesRead !== headerLength) throw invalid(file, 'header truncated');
  return parseHeader(new TextDecoder().decode(headerBytes), 8 + headerLength, fileSize, file);
}

function headerLengthOf(length: bigint, fileSize: number, file: string): number {
  if (length > BigInt(MAX_HEADER_BYTES)) throw invalid(file, `header claims ${length} bytes (more than ${MAX_HEADER_BYTES}): not a safetensors file`);
  const n = Number(length);
  if (8 + n > fileSize) throw invalid(file, `header claims ${n} bytes but the file has ${fileSize - 8} after the length (truncated)`);
  if (n < 2) throw invalid(file, 'empty header');
  return n;
}

function parseHeader(text: string, dataStart: number, fileSize: number, file: string): SafetensorsHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw invalid(file, `header is not valid JSON (${(error as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(file, 'header is not a JSON object');
  const tensors = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
        throw invalid(file, '"__metadata__" must map names to strings');
      }
      metadata = value as Record<string, string>;
      continue;
    }
    tensors.set(name, checkEntry(value, name, file));
  }
  const dataSize = fileSize - dataStart;
  const ranges = [...tensors].sort((a, b) => a[1].dataOffsets[0] - b[1].dataOffsets[0] || a[1].dataOffsets[1] - b[1].dataOffsets[1]);
  let previous: [string, SafetensorsEntry] | undefined;
  for (const current of ranges) {
    const [name, entry] = current;
    if (entry.dataOffsets[1] > dataSize) {
      throw invalid(file, `tensor "${name}": data ends at byte ${entry.dataOffsets[1]} but the data section has ${dataSize} bytes (truncated or lying header)`);
    }
    if (previous !== undefined && entry.dataOffsets[0] < previous[1].dataOffsets[1] && entry.dataOffsets[1] > entry.dataOffsets[0]) {
      throw invalid(file, `tensor "${name}": bytes [${entry.dataOffsets.join(', ')}) overlap tensor "${previous[0]}" [${previous[1].dataOffsets.join(', ')})`);
    }
    if (entry.dataOffsets[1] > entry.dataOffsets[0]) previous = current;
  }
  return { tensors, metadata, dataStart, fileSize };
}

function checkEntry(value: unknown, name: string, file: string): SafetensorsEntry {
  const where = `tensor "${name}"`;
  if (typeof value !== 'object' || value === null) throw invalid(file, `${where}: entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof dtype !== 'string') throw invalid(file, `${where}: missing dtype`);
  if (!(dtype in ITEM_SIZE)) throw new SafetensorsError('SAFETENSORS_DTYPE', `${file}: ${where}: dtype ${dtype} is not supported (F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL are)`);
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw invalid(file, `${where}: shape must be a list of non-negative integers`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || o < 0) || offsets[0] > offsets[1]) {
    throw invalid(file, `${where}: data_offsets must be [begin, end] with 0 <= begin <= end`);
  }
  const numel = (shape as number[]).reduce((a, b) => a * b, 1);
  const expected = numel * ITEM_SIZE[dtype as SafetensorsDType];
  if (!Number.isSafeInteger(expected) || offsets[1] - offsets[0] !== expected) {
    throw invalid(file, `${where}: ${dtype} [${(shape as number[]).join(', ')}] needs ${expected} bytes but data_offsets span ${offsets[1] - offsets[0]}`);
  }
  return { dtype: dtype as SafetensorsDType, shape: [...(shape as number[])], dataOffsets: [offsets[0], offsets[1]] };
}

// ---------------------------------------------------------------- data

function decodeTensor(bytes: Uint8Array, entry: SafetensorsEntry, file: string, name: string): HostTensor {
  const n = entry.shape.reduce((a, b) => a * b, 1);
  const shape = [...entry.shape];
  const buf = bytes.buffer;
  const at = bytes.byteOffset;
  switch (entry.dtype) {
    case 'F32':
      return { data: at % 4 === 0 ? new Float32Array(buf, at, n) : new Float32Array(bytes.slice().buffer, 0, n), shape, dtype: 'float32' };
    case 'F64':
      return { data: Float32Array.from(new Float64Array(bytes.slice().buffer, 0, n)), shape, dtype: 'float32' };
    case 'F16':
      return { data: halvesToFloats(new Uint16Array(bytes.slice().buffer, 0, n)), shape, dtype: 'float32' };
    case 'BF16':
      return { data: bfloatsToFloats(new Uint16Array(bytes.slice().buffer, 0, n)), shape, dtype: 'float32' };
    case 'I32':
      return { data: at % 4 === 0 ? new Int32Array(buf, at, n) : new Int32Array(bytes.slice().buffer, 0, n), shape, dtype: 'int32' };
    case 'I64': {
      const wide = new BigInt64Array(bytes.slice().buffer, 0, n);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = wide[i]!;
        if (v > 2147483647n || v < -2147483648n) {
          throw new SafetensorsError('SAFETENSORS_RANGE', `${file}: tensor "${name}": I64 value ${v} at index ${i} does not fit int32`);
        }
        out[i] = Number(v);
      }
      return { data: out, shape, dtype: 'int32' };
    }
    case 'I16':
      return { data: Int32Array.from(new Int16Array(bytes.slice().buffer, 0, n)), shape, dtype: 'int32' };
    case 'I8':
      return { data: Int32Array.from(new Int8Array(buf, at, n)), shape, dtype: 'int32' };
    case 'U8':
    case 'BOOL':
      return { data: Int32Array.from(bytes.subarray(0, n)), shape, dtype: 'int32' };
  }
}

function encodeTensor(tensor: HostTensor, dtype: SafetensorsDType): Uint8Array {
  const data = tensor.data;
  if (dtype === 'F32' || dtype === 'I32') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(floatsToHalves(data, dtype === 'F16' ? 'float16' : 'bfloat16').buffer);
}

/** Size of a file, for callers deciding whether to read tensor by tensor. */
export async function fileSize(file: string): Promise<number> {
  return (await stat(file)).size;
}
