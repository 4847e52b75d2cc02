// The safetensors container (u64 LE header length, JSON header {name: {dtype, shape, data_offsets}} plus optional
// string `__metadata__`, header padded with spaces to 8 bytes, then raw little-endian data), for F32 and I32
// tensors: what training checkpoints need. Kept here until a shared models/io reader exists.
import type { HostTensor } from '../ops/ops.ts';
import { TrainError } from './errors.ts';

export function encodeSafetensors(tensors: Map<string, HostTensor>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const entries = [...tensors.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, t] of entries) {
    const bytes = t.data.length * 4;
    header[name] = { dtype: t.data instanceof Int32Array ? 'I32' : 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let at = 8 + head.length;
  for (const [, t] of entries) {
    const src = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.length * 4);
    if (!isLittleEndian()) throw new Error('safetensors: big-endian hosts are not supported');
    src.copy(out, at);
    at += src.length;
  }
  return out;
}

export function decodeSafetensors(buf: Buffer, where: string): { tensors: Map<string, HostTensor>; metadata: Record<string, string> } {
  const bad = (why: string) => new TrainError('CHECKPOINT_FORMAT', `${where}: not a valid safetensors file (${why})`);
  if (buf.length < 8) throw bad('too short');
  const n = Number(buf.readBigUInt64LE(0));
  if (n > buf.length - 8) throw bad('header length past the end');
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw bad('header is not JSON');
  }
  const base = 8 + n;
  const tensors = new Map<string, HostTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = raw as Record<string, string>;
      continue;
    }
    const e = raw as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const [a, b] = e.data_offsets ?? [];
    if (a === undefined || b === undefined || base + b > buf.length || b < a) throw bad(`${name}: data offsets out of range`);
    const count = e.shape.reduce((x, y) => x * y, 1);
    if ((e.dtype !== 'F32' && e.dtype !== 'I32') || (b - a) !== count * 4) throw bad(`${name}: dtype ${e.dtype} with ${b - a} bytes for shape [${e.shape}]`);
    const copy = new Uint8Array(buf.subarray(base + a, base + b)); // aligned copy
    const data = e.dtype === 'F32' ? new Float32Array(copy.buffer) : new Int32Array(copy.buffer);
    tensors.set(name, { data, shape: e.shape, dtype: e.dtype === 'F32' ? 'float32' : 'int32' });
  }
  return { tensors, metadata };
}

function isLittleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}
