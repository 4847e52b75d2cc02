// Read a PyTorch checkpoint (torch.save's zip format, PyTorch ≥ 1.6 — KOSMOS-G's are from 1.13) as data:
//   <archive>/data.pkl   the pickled object (a fairseq dict: args, cfg, model, optimizer_history, …; spec §1.11)
//   <archive>/data/<key> the raw little-endian bytes of each storage
//   <archive>/version, <archive>/byteorder (newer torch)
// Tensors are only read when asked for, so picking `model` out of a checkpoint that also holds optimizer state
// reads just the model's storages. fp16/bf16/fp64 storages become float32; integer and bool ones int32.

import { type HostTensor, hostTensor } from '../../ops/ops.ts';
import { bfloatsToFloats, halvesToFloats } from '../float16.ts';
import { invalid } from './errors.ts';
import { PickleObject, type StorageRef, TensorRef, type TorchDType, readPickle } from './pickle.ts';
import { ZipReader } from './zip.ts';

export const ITEM_SIZE: Record<TorchDType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

/** Decode a storage's little-endian bytes to float32 (floating dtypes) or int32 (the rest). */
export function decodeStorage(bytes: Uint8Array, dtype: TorchDType, numel: number, where: string): Float32Array | Int32Array {
  const n = numel;
  if (bytes.length < n * ITEM_SIZE[dtype]) invalid(where, `storage holds ${bytes.length} bytes, ${n} ${dtype} values need ${n * ITEM_SIZE[dtype]}`);
  const aligned = bytes.byteOffset % 8 === 0 ? bytes : new Uint8Array(bytes);
  const buf = aligned.buffer;
  const off = aligned.byteOffset;
  switch (dtype) {
    case 'float32':
      return new Float32Array(buf, off, n);
    case 'float64':
      return Float32Array.from(new Float64Array(buf, off, n));
    case 'float16':
      return halvesToFloats(new Uint16Array(buf, off, n));
    case 'bfloat16':
      return bfloatsToFloats(new Uint16Array(buf, off, n));
    case 'int64': {
      const src = new BigInt64Array(buf, off, n);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = src[i]!;
        if (v > 2147483647n || v < -2147483648n) invalid(where, `int64 value ${v} does not fit int32`);
        out[i] = Number(v);
      }
      return out;
    }
    case 'int32':
      return new Int32Array(buf, off, n);
    case 'int16':
      return Int32Array.from(new Int16Array(buf, off, n));
    case 'int8':
      return Int32Array.from(new Int8Array(buf, off, n));
    case 'uint8':
    case 'bool':
      return Int32Array.from(new Uint8Array(buf, off, n));
  }
}

function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** An opened checkpoint: the unpickled object plus on-demand tensor reads. Close it when done. */
export class TorchCheckpoint {
  readonly root: unknown;
  readonly archive: string;
  private readonly storages = new Map<string, Float32Array | Int32Array>();

  constructor(
    private readonly zip: ZipReader,
    readonly where: string,
  ) {
    const pkl = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (pkl.length !== 1) {
      invalid(where, pkl.length === 0 ? 'no <archive>/data.pkl: not a torch.save zip checkpoint' : 'several data.pkl entries');
    }
    this.archive = pkl[0]!.slice(0, -'/data.pkl'.length);
    const order = zip.entries.get(`${this.archive}/byteorder`);
    if (order && new TextDecoder().decode(zip.read(order.name)).trim() !== 'little') {
      invalid(where, 'big-endian checkpoints are not supported');
    }
    this.root = readPickle(zip.read(pkl[0]!, true), `${where}:${pkl[0]}`);
  }

  static open(path: string): TorchCheckpoint {
    const zip = openZip(path);
    try {
      return new TorchCheckpoint(zip, path);
    } catch (e) {
      zip.close();
      throw e;
    }
  }

  static fromBytes(bytes: Uint8Array, where = 'checkpoint'): TorchCheckpoint {
    return new TorchCheckpoint(ZipReader.fromBytes(bytes, where), where);
  }

  close(): void {
    this.storages.clear();
    this.zip.close();
  }

  private storage(ref: StorageRef): Float32Array | Int32Array {
    let data = this.storages.get(ref.key);
    if (!data) {
      const name = `${this.archive}/data/${ref.key}`;
      data = decodeStorage(this.zip.read(name), ref.dtype, ref.numel, `${this.where}:${name}`);
      this.storages.set(ref.key, data);
    }
    return data;
  }

  /** Read one tensor (a view → its own contiguous copy; a contiguous tensor shares the storage's memory). */
  tensor(ref: TensorRef, name = 'tensor'): HostTensor {
    const { shape, stride, offset } = ref;
    const numel = shape.reduce((a, b) => a * b, 1);
    if (shape.some((d) => !Number.isInteger(d) || d < 0) || offset < 0) invalid(this.where, `${name}: bad shape [${shape}] or offset ${offset}`);
    let last = offset;
    for (let i = 0; i < shape.length; i++) if (shape[i]! > 0) last += (shape[i]! - 1) * stride[i]!;
    if (numel > 0 && last >= ref.storage.numel) {
      invalid(this.where, `${name}: view [${shape}] stride [${stride}] + ${offset} reaches past its storage of ${ref.storage.numel}`);
    }
    const data = this.storage(ref.storage);
    const want = contiguousStrides(shape);
    const contiguous = shape.every((d, i) => d === 1 || stride[i] === want[i]);
    if (contiguous) return hostTensor(data.subarray(offset, offset + numel), shape);
    const out = data instanceof Float32Array ? new Float32Array(numel) : new Int32Array(numel);
    const index = new Array<number>(shape.length).fill(0);
    for (let k = 0; k < numel; k++) {
      let src = offset;
      for (let i = 0; i < shape.length; i++) src += index[i]! * stride[i]!;
      out[k] = data[src]!;
      for (let i = shape.length - 1; i >= 0; i--) {
        if (++index[i]! < shape[i]!) break;
        index[i] = 0;
      }
    }
    return hostTensor(out, shape);
  }

  /** The object at a dotted path of dict keys ('model', 'model.gpt_model'), or the root for ''. */
  get(path: string): unknown {
    if (path === '') return this.root;
    let v: unknown = this.root;
    for (const part of path.split('.')) {
      v = lookup(v, part);
      if (v === undefined) invalid(this.where, `no entry "${path}" (at "${part}"); top-level keys: ${keysOf(this.root).join(', ')}`);
    }
    return v;
  }
}

function openZip(path: string): ZipReader {
  try {
    return ZipReader.open(path);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') invalid(path, 'no such file');
    throw e;
  }
}

function lookup(v: unknown, key: string): unknown {
  if (v instanceof Map) return v.get(key);
  if (v instanceof PickleObject) return lookup(v.state, key);
  if (v && typeof v === 'object' && !Array.isArray(v)) return (v as Record<string, unknown>)[key];
  return undefined;
}

function keysOf(v: unknown): string[] {
  if (v instanceof Map) return [...v.keys()].map(String);
  if (v && typeof v === 'object' && !Array.isArray(v)) return Object.keys(v);
  return [];
}

/** Every tensor under a value, by dotted key (nested dicts are joined with '.'). */
export function tensorRefs(value: unknown, prefix = ''): [string, TensorRef][] {
  const out: [string, TensorRef][] = [];
  const walk = (v: unknown, p: string) => {
    if (v instanceof TensorRef) out.push([p, v]);
    else if (v instanceof Map) for (const [k, x] of v) walk(x, p ? `${p}.${String(k)}` : String(k));
    else if (v && typeof v === 'object' && !Array.isArray(v) && !(v instanceof PickleObject) && !(v instanceof Uint8Array)) {
      for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
    }
  };
  walk(value, prefix);
  return out;
}

export interface LoadTorchOptions {
  /**
   * Dotted path of the state dict inside the checkpoint: 'model' for fairseq/KOSMOS-G checkpoints. Default: the
   * root when it holds tensors, else the first of 'model', 'state_dict', 'module' that exists.
   */
  key?: string;
  /** Keep only keys with this prefix, and strip it (e.g. 'gpt_model.decoder.'). */
  prefix?: string;
  /** Keep only keys (as in the checkpoint, before stripping `prefix`) for which this is true; others are never read. */
  filter?: (key: string) => boolean;
}

function defaultKey(ckpt: TorchCheckpoint): string {
  const root = ckpt.root;
  if (root instanceof Map && [...root.values()].some((v) => v instanceof TensorRef)) return '';
  for (const k of ['model', 'state_dict', 'module']) if (lookup(root, k) !== undefined) return k;
  return '';
}

/** Read the state dict of a checkpoint: key → HostTensor, in the checkpoint's order. */
export function readStateDict(ckpt: TorchCheckpoint, options: LoadTorchOptions = {}): Map<string, HostTensor> {
  const key = options.key ?? defaultKey(ckpt);
  const refs = tensorRefs(ckpt.get(key));
  const out = new Map<string, HostTensor>();
  for (const [name, ref] of refs) {
    if (options.filter && !options.filter(name)) continue;
    if (options.prefix !== undefined) {
      if (!name.startsWith(options.prefix)) continue;
      out.set(name.slice(options.prefix.length), ckpt.tensor(ref, name));
    } else out.set(name, ckpt.tensor(ref, name));
  }
  return out;
}

/** `loadTorchCheckpoint('checkpoint_final.pt', { key: 'model' })` → Map<string, HostTensor>. */
export function loadTorchCheckpoint(path: string, options: LoadTorchOptions = {}): Map<string, HostTensor> {
  const ckpt = TorchCheckpoint.open(path);
  try {
    return readStateDict(ckpt, options);
  } finally {
    ckpt.close();
  }
}
