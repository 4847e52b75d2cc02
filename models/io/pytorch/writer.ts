// Write checkpoints in torch.save's zip layout (for tests, and for handing weights back to PyTorch users):
//   <archive>/data.pkl (pickle protocol 2, tensors as _rebuild_tensor_v2 over persistent-id storages
//   ('storage', torch.FloatStorage, key, 'cpu', numel)), <archive>/byteorder, <archive>/data/<key>, <archive>/version.
// Entries are stored uncompressed with data aligned to 64 bytes, as torch writes them; `zip64` forces the ZIP64
// records large checkpoints carry, so the reader's ZIP64 path is testable with a small file.

import { crc32, deflateRawSync } from 'node:zlib';
import type { HostTensor } from '../../ops/ops.ts';
import { writeFileAtomicSync } from '../atomic.ts';
import { floatsToHalves } from '../float16.ts';
import { ITEM_SIZE } from './torch-load.ts';
import { STORAGE_DTYPES, type TorchDType } from './pickle.ts';

/** A Python tuple (a plain array is written as a list). */
export class PyTuple {
  constructor(readonly items: readonly unknown[]) {}
}

/** A Python float even when integral (a plain integral number is written as an int). */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** A storage several tensors can share (tied weights). Values are given as float32/int32 and encoded to `dtype`. */
export class TorchStorage {
  constructor(
    readonly data: Float32Array | Int32Array,
    readonly dtype: TorchDType = data instanceof Float32Array ? 'float32' : 'int64',
  ) {}
}

/** A tensor over a storage with an explicit offset/shape/stride (views, non-contiguous layouts). */
export class TorchTensor {
  constructor(
    readonly storage: TorchStorage,
    readonly shape: readonly number[],
    readonly stride: readonly number[] = contiguous(shape),
    readonly offset = 0,
  ) {}
}

/** A HostTensor stored as its own contiguous storage of `dtype`. */
export function torchTensor(t: HostTensor, dtype?: TorchDType): TorchTensor {
  return new TorchTensor(new TorchStorage(t.data, dtype), t.shape);
}

function contiguous(shape: readonly number[]): number[] {
  const s: number[] = [];
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

function isHostTensor(v: unknown): v is HostTensor {
  const t = v as HostTensor;
  return !!t && typeof t === 'object' && (t.data instanceof Float32Array || t.data instanceof Int32Array) && Array.isArray(t.shape);
}

// ---- value encoding

export function encodeStorage(data: Float32Array | Int32Array, dtype: TorchDType): Uint8Array {
  const n = data.length;
  const out = new ArrayBuffer(n * ITEM_SIZE[dtype]);
  switch (dtype) {
    case 'float32': new Float32Array(out).set(data); break;
    case 'float64': new Float64Array(out).set(data); break;
    case 'float16':
    case 'bfloat16': return new Uint8Array(floatsToHalves(data, dtype).buffer);
    case 'int64': { const o = new BigInt64Array(out); for (let i = 0; i < n; i++) o[i] = BigInt(Math.trunc(data[i]!)); break; }
    case 'int32': new Int32Array(out).set(data); break;
    case 'int16': new Int16Array(out).set(data); break;
    case 'int8': new Int8Array(out).set(data); break;
    case 'uint8': new Uint8Array(out).set(data); break;
    case 'bool': { const o = new Uint8Array(out); for (let i = 0; i < n; i++) o[i] = data[i] ? 1 : 0; break; }
  }
  return new Uint8Array(out);
}

const STORAGE_NAME = Object.fromEntries(Object.entries(STORAGE_DTYPES).map(([name, dt]) => [dt, name])) as Record<TorchDType, string>;

// ---- pickle

class PickleWriter {
  private readonly chunks: number[] = [];
  private memoCount = 0;
  private readonly globals = new Map<string, number>();
  readonly storages = new Map<TorchStorage, string>();

  private byte(...b: number[]) {
    this.chunks.push(...b);
  }
  private bytes(b: Uint8Array) {
    for (const x of b) this.chunks.push(x);
  }
  private u32(n: number) {
    this.byte(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }
  private put() {
    const i = this.memoCount++;
    if (i < 256) this.byte(0x71, i);
    else (this.byte(0x72), this.u32(i));
  }
  private get(i: number) {
    if (i < 256) this.byte(0x68, i);
    else (this.byte(0x6a), this.u32(i));
  }
  private global(module: string, name: string) {
    const key = `${module}\n${name}\n`;
    const memo = this.globals.get(key);
    if (memo !== undefined) return this.get(memo);
    this.byte(0x63);
    this.bytes(new TextEncoder().encode(key));
    this.globals.set(key, this.memoCount);
    this.put();
  }
  private str(s: string) {
    const b = new TextEncoder().encode(s);
    this.byte(0x58);
    this.u32(b.length);
    this.bytes(b);
  }
  private int(n: number | bigint) {
    if (typeof n === 'number' && n >= 0 && n < 256) return this.byte(0x4b, n);
    if (typeof n === 'number' && n >= 0 && n < 65536) return this.byte(0x4d, n & 0xff, n >>> 8);
    if (typeof n === 'number' && n >= -2147483648 && n <= 2147483647) return (this.byte(0x4a), this.u32(n >>> 0));
    // LONG1: little-endian two's complement, minimal length.
    let v = BigInt(n);
    const out: number[] = [];
    for (;;) {
      out.push(Number(v & 0xffn));
      v >>= 8n;
      const signBit = (out[out.length - 1]! & 0x80) !== 0;
      if ((v === 0n && !signBit) || (v === -1n && signBit)) break;
    }
    this.byte(0x8a, out.length, ...out);
  }
  private float(x: number) {
    const b = new DataView(new ArrayBuffer(8));
    b.setFloat64(0, x, false);
    this.byte(0x47);
    this.bytes(new Uint8Array(b.buffer));
  }
  private tuple(items: readonly unknown[]) {
    if (items.length === 0) return this.byte(0x29);
    if (items.length <= 3) {
      for (const x of items) this.value(x);
      return this.byte([0x85, 0x86, 0x87][items.length - 1]!);
    }
    this.byte(0x28);
    for (const x of items) this.value(x);
    this.byte(0x74);
  }
  private setItems(entries: [unknown, unknown][]) {
    for (let i = 0; i < entries.length; i += 1000) {
      this.byte(0x28);
      for (const [k, v] of entries.slice(i, i + 1000)) (this.value(k), this.value(v));
      this.byte(0x75);
    }
  }
  private tensor(t: TorchTensor) {
    let key = this.storages.get(t.storage);
    if (key === undefined) {
      key = String(this.storages.size);
      this.storages.set(t.storage, key);
    }
    this.global('torch._utils', '_rebuild_tensor_v2');
    this.byte(0x28); // MARK: the argument tuple
    this.byte(0x28); // the persistent id tuple
    this.str('storage');
    this.global('torch', STORAGE_NAME[t.storage.dtype]);
    this.str(key);
    this.str('cpu');
    this.int(t.storage.data.length);
    this.byte(0x74, 0x51); // TUPLE, BINPERSID
    this.int(t.offset);
    this.tuple(t.shape);
    this.tuple(t.stride);
    this.byte(0x89); // requires_grad False
    this.global('collections', 'OrderedDict');
    this.byte(0x29, 0x52); // () REDUCE: the empty backward-hooks dict
    this.byte(0x74, 0x52); // TUPLE, REDUCE
    this.put();
  }

  value(v: unknown): void {
    if (v === null || v === undefined) return this.byte(0x4e);
    if (v === true) return this.byte(0x88);
    if (v === false) return this.byte(0x89);
    if (typeof v === 'bigint') return this.int(v);
    if (typeof v === 'number') return Number.isInteger(v) ? this.int(v) : this.float(v);
    if (v instanceof PyFloat) return this.float(v.value);
    if (typeof v === 'string') return this.str(v);
    if (v instanceof Uint8Array) {
      this.byte(0x42);
      this.u32(v.length);
      return this.bytes(v);
    }
    if (v instanceof PyTuple) return this.tuple(v.items);
    if (v instanceof TorchTensor) return this.tensor(v);
    if (isHostTensor(v)) return this.tensor(torchTensor(v));
    if (Array.isArray(v)) {
      this.byte(0x5d);
      this.put();
      if (v.length) {
        this.byte(0x28);
        for (const x of v) this.value(x);
        this.byte(0x65);
      }
      return;
    }
    if (v instanceof Map) {
      // state dicts are OrderedDicts
      this.global('collections', 'OrderedDict');
      this.byte(0x29, 0x52);
      this.put();
      return this.setItems([...v.entries()]);
    }
    if (typeof v === 'object') {
      this.byte(0x7d);
      this.put();
      return this.setItems(Object.entries(v as Record<string, unknown>));
    }
    throw new TypeError(`cannot pickle a ${typeof v}`);
  }

  finish(): Uint8Array {
    return Uint8Array.from([0x80, 2, ...this.chunks, 0x2e]);
  }
}

/** Pickle a value the way torch.save's pickler would (protocol 2). Storages are returned by key. */
export function pickleForTorch(value: unknown): { pickle: Uint8Array; storages: Map<string, TorchStorage> } {
  const w = new PickleWriter();
  w.value(value);
  const storages = new Map<string, TorchStorage>();
  for (const [s, key] of w.storages) storages.set(key, s);
  return { pickle: w.finish(), storages };
}

// ---- zip

export interface ZipWriteOptions {
  /** Write ZIP64 records even for a small file. */
  zip64?: boolean;
  /** Deflate entries (torch stores them; other zip tools may not). */
  deflate?: boolean;
}

/** A stored (uncompressed) zip with every entry's data aligned to 64 bytes. */
export function writeZip(files: readonly [string, Uint8Array][], options: ZipWriteOptions = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const enc = new TextEncoder();
  const z64 = !!options.zip64;
  for (const [name, raw] of files) {
    const nameBytes = enc.encode(name);
    const crc = crc32(raw) >>> 0;
    const data = options.deflate ? new Uint8Array(deflateRawSync(raw)) : raw;
    const method = options.deflate ? 8 : 0;
    const z64Local = z64 ? 20 : 0;
    const base = offset + 30 + nameBytes.length + z64Local + 4;
    const pad = (64 - (base % 64)) % 64;
    const extraLen = z64Local + 4 + pad;
    const local = new DataView(new ArrayBuffer(30 + nameBytes.length + extraLen));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, z64 ? 45 : 20, true);
    local.setUint16(8, method, true);
    local.setUint32(14, crc, true);
    local.setUint32(18, z64 ? 0xffffffff : data.length, true);
    local.setUint32(22, z64 ? 0xffffffff : raw.length, true);
    local.setUint16(26, nameBytes.length, true);
    local.setUint16(28, extraLen, true);
    new Uint8Array(local.buffer).set(nameBytes, 30);
    let e = 30 + nameBytes.length;
    if (z64) {
      local.setUint16(e, 0x0001, true);
      local.setUint16(e + 2, 16, true);
      local.setBigUint64(e + 4, BigInt(raw.length), true);
      local.setBigUint64(e + 12, BigInt(data.length), true);
      e += 20;
    }
    local.setUint16(e, 0x4246, true); // "FB": torch's alignment padding field
    local.setUint16(e + 2, pad, true);

    const cExtra = z64 ? 28 : 0;
    const cd = new DataView(new ArrayBuffer(46 + nameBytes.length + cExtra));
    cd.setUint32(0, 0x02014b50, true);
    cd.setUint16(4, z64 ? 45 : 20, true);
    cd.setUint16(6, z64 ? 45 : 20, true);
    cd.setUint16(10, method, true);
    cd.setUint32(16, crc, true);
    cd.setUint32(20, z64 ? 0xffffffff : data.length, true);
    cd.setUint32(24, z64 ? 0xffffffff : raw.length, true);
    cd.setUint16(28, nameBytes.length, true);
    cd.setUint16(30, cExtra, true);
    cd.setUint32(42, z64 ? 0xffffffff : offset, true);
    new Uint8Array(cd.buffer).set(nameBytes, 46);
    if (z64) {
      const q = 46 + nameBytes.length;
      cd.setUint16(q, 0x0001, true);
      cd.setUint16(q + 2, 24, true);
      cd.setBigUint64(q + 4, BigInt(raw.length), true);
      cd.setBigUint64(q + 12, BigInt(data.length), true);
      cd.setBigUint64(q + 20, BigInt(offset), true);
    }
    parts.push(new Uint8Array(local.buffer), data);
    central.push(new Uint8Array(cd.buffer));
    offset += local.byteLength + data.length;
  }
  const cdOffset = offset;
  const cdSize = central.reduce((a, c) => a + c.length, 0);
  parts.push(...central);
  offset += cdSize;
  if (z64) {
    const rec = new DataView(new ArrayBuffer(56 + 20));
    rec.setUint32(0, 0x06064b50, true);
    rec.setBigUint64(4, 44n, true);
    rec.setUint16(12, 45, true);
    rec.setUint16(14, 45, true);
    rec.setBigUint64(24, BigInt(files.length), true);
    rec.setBigUint64(32, BigInt(files.length), true);
    rec.setBigUint64(40, BigInt(cdSize), true);
    rec.setBigUint64(48, BigInt(cdOffset), true);
    rec.setUint32(56, 0x07064b50, true); // locator
    rec.setBigUint64(64, BigInt(offset), true);
    rec.setUint32(72, 1, true);
    parts.push(new Uint8Array(rec.buffer));
  }
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, z64 ? 0xffff : files.length, true);
  end.setUint16(10, z64 ? 0xffff : files.length, true);
  end.setUint32(12, z64 ? 0xffffffff : cdSize, true);
  end.setUint32(16, z64 ? 0xffffffff : cdOffset, true);
  parts.push(new Uint8Array(end.buffer));
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  let p = 0;
  for (const part of parts) (out.set(part, p), (p += part.length));
  return out;
}

export interface TorchSaveOptions extends ZipWriteOptions {
  /** The zip's top folder (torch uses the file's base name; "archive" for buffers). */
  archive?: string;
}

/** The bytes torch.save(value) would write (tensor leaves: HostTensor or TorchTensor). */
export function torchSaveBytes(value: unknown, options: TorchSaveOptions = {}): Uint8Array {
  const archive = options.archive ?? 'archive';
  const { pickle, storages } = pickleForTorch(value);
  const files: [string, Uint8Array][] = [[`${archive}/data.pkl`, pickle], [`${archive}/byteorder`, new TextEncoder().encode('little')]];
  for (const [key, s] of storages) files.push([`${archive}/data/${key}`, encodeStorage(s.data, s.dtype)]);
  files.push([`${archive}/version`, new TextEncoder().encode('3\n')]);
  return writeZip(files, options);
}

/** Write a torch.save-format file atomically (temp file, then rename). */
export function saveTorchCheckpoint(path: string, value: unknown, options: TorchSaveOptions = {}): void {
  writeFileAtomicSync(path, torchSaveBytes(value, options));
}
