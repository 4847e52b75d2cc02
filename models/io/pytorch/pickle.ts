// A restricted pickle VM that reads what torch.save writes AS DATA. Nothing is ever imported or called: a GLOBAL
// resolves to a known stand-in (tensor rebuild, storage types, OrderedDict, argparse.Namespace) or to an opaque
// `PickleObject` that records its name, arguments and state. Values:
//   None → null, bool, int → number (bigint beyond 2^53), float → number, str → string, bytes → Uint8Array,
//   list/tuple → array, dict/OrderedDict → Map, set → Set, Namespace → plain object, tensors → TensorRef.

import { invalid } from './errors.ts';

export type TorchDType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

/** `torch.FloatStorage` and friends, by the dtype each holds. */
export const STORAGE_DTYPES: Record<string, TorchDType> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

/** A storage named by a persistent id: its bytes are `<archive>/data/<key>`. */
export interface StorageRef {
  kind: 'storage';
  key: string;
  dtype: TorchDType;
  /** Element count from the persistent id. */
  numel: number;
}

/** A tensor as `_rebuild_tensor_v2` describes it; data is read only when asked for. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
  get dtype(): TorchDType {
    return this.storage.dtype;
  }
}

/** Any global the VM does not know, and what was done with it. Never called. */
export class PickleObject {
  args: unknown[] | undefined;
  state: unknown;
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}

class Global {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
}

class StorageType {
  constructor(readonly dtype: TorchDType) {}
}

const MARK = Symbol('mark');

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

function isNumberArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isInteger(x));
}

function call(fn: unknown, args: unknown[], where: string, at: number): unknown {
  if (fn instanceof Global) {
    const full = `${fn.module}.${fn.name}`;
    switch (full) {
      case 'torch._utils._rebuild_tensor':
      case 'torch._utils._rebuild_tensor_v2': {
        const [storage, offset, size, stride] = args;
        if (!(storage && (storage as StorageRef).kind === 'storage') || typeof offset !== 'number' || !isNumberArray(size) || !isNumberArray(stride) || size.length !== stride.length) {
          invalid(where, `pickle offset ${at}: malformed ${fn.name} arguments`);
        }
        return new TensorRef(storage as StorageRef, offset, size, stride);
      }
      case 'torch._tensor._rebuild_from_type_v2': {
        // Tensor subclasses (torch ≥ 1.13): (func, type, args, state) — rebuild with func, drop the subclass.
        const [inner, , innerArgs] = args;
        if (!Array.isArray(innerArgs)) invalid(where, `pickle offset ${at}: malformed _rebuild_from_type_v2 arguments`);
        return call(inner, innerArgs, where, at);
      }
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state':
        return args[0]; // nn.Parameter(data): the data is the tensor
      case 'collections.OrderedDict':
        return new Map();
      case 'argparse.Namespace':
        return {};
      case 'builtins.set':
        return new Set(Array.isArray(args[0]) ? args[0] : []);
      case 'builtins.frozenset':
        return new Set(Array.isArray(args[0]) ? args[0] : []);
    }
  }
  if (fn instanceof StorageType) invalid(where, `pickle offset ${at}: a storage type is not callable here`);
  const opaque = fn instanceof Global ? new PickleObject(fn.module, fn.name) : new PickleObject('?', 'unknown');
  opaque.args = args;
  return opaque;
}

function resolveGlobal(module: string, name: string): unknown {
  if (module === 'torch' && STORAGE_DTYPES[name]) return new StorageType(STORAGE_DTYPES[name]!);
  return new Global(module, name);
}

/** Parse pickle bytes (protocol 2–5 opcodes torch.save uses, plus the simple text ones). */
export function readPickle(bytes: Uint8Array, where = 'data.pkl'): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let p = 0;
  let at = 0;

  const need = (n: number) => {
    if (p + n > bytes.length) invalid(where, `pickle truncated at offset ${at} (needs ${n} more bytes)`);
  };
  const u8 = () => (need(1), bytes[p++]!);
  const u16 = () => (need(2), (p += 2), view.getUint16(p - 2, true));
  const u32 = () => (need(4), (p += 4), view.getUint32(p - 4, true));
  const i32 = () => (need(4), (p += 4), view.getInt32(p - 4, true));
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(p, true);
    p += 8;
    if (v > BigInt(bytes.length)) invalid(where, `pickle offset ${at}: length ${v} exceeds the data`);
    return Number(v);
  };
  const take = (n: number) => (need(n), (p += n), bytes.subarray(p - n, p));
  const line = () => {
    const end = bytes.indexOf(0x0a, p);
    if (end < 0) invalid(where, `pickle truncated at offset ${at} (unterminated line)`);
    const s = latin1.decode(bytes.subarray(p, end));
    p = end + 1;
    return s;
  };
  const pop = () => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1]!)) {
      invalid(where, `pickle offset ${at}: stack underflow`);
    }
    return stack.pop();
  };
  const top = () => {
    if (stack.length === 0) invalid(where, `pickle offset ${at}: stack underflow`);
    return stack[stack.length - 1];
  };
  const popMark = () => {
    const m = marks.pop();
    if (m === undefined) invalid(where, `pickle offset ${at}: no MARK`);
    return stack.splice(m);
  };
  const str = (b: Uint8Array) => {
    try {
      return utf8.decode(b);
    } catch {
      invalid(where, `pickle offset ${at}: invalid UTF-8 string`);
    }
  };
  const long = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const setItems = (dict: unknown, items: unknown[]) => {
    for (let i = 0; i + 1 < items.length; i += 2) {
      if (dict instanceof Map) dict.set(items[i], items[i + 1]);
      else if (dict instanceof PickleObject) {
        const s = (dict.state ??= new Map()) as Map<unknown, unknown>;
        s.set(items[i], items[i + 1]);
      } else invalid(where, `pickle offset ${at}: SETITEM on a non-dict`);
    }
  };
  const appendItems = (list: unknown, items: unknown[]) => {
    if (Array.isArray(list)) list.push(...items);
    else if (list instanceof PickleObject) ((list.state ??= []) as unknown[]).push(...items);
    else invalid(where, `pickle offset ${at}: APPEND on a non-list`);
  };

  for (;;) {
    at = p;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        u8();
        break;
      case 0x95: // FRAME
        take(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) invalid(where, `pickle offset ${at}: STOP with ${stack.length} values on the stack`);
        return stack[0];
      case 0x28: // MARK
        marks.push(stack.length);
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x90: { // ADDITEMS
        const items = popMark();
        const s = top();
        if (!(s instanceof Set)) invalid(where, `pickle offset ${at}: ADDITEMS on a non-set`);
        for (const x of items) s.add(x);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(new Set(popMark()));
        break;
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(long(take(u8())));
        break;
      case 0x8b: { // LONG4
        const n = i32();
        if (n < 0) invalid(where, `pickle offset ${at}: negative LONG4 length`);
        stack.push(long(take(n)));
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(view.getFloat64(p, false));
        p += 8;
        break;
      case 0x49: { // INT (text)
        const s = line();
        stack.push(s === '01' ? true : s === '00' ? false : Number.parseInt(s, 10));
        break;
      }
      case 0x4c: // LONG (text)
        stack.push(Number.parseInt(line().replace(/L$/, ''), 10));
        break;
      case 0x46: // FLOAT (text)
        stack.push(Number.parseFloat(line()));
        break;
      case 0x58: // BINUNICODE
        stack.push(str(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(str(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(str(take(u64())));
        break;
      case 0x54: // BINSTRING
        stack.push(latin1.decode(take(u32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1.decode(take(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(new Uint8Array(take(u32())));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(new Uint8Array(take(u8())));
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(new Uint8Array(take(u64())));
        break;
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        stack.push(resolveGlobal(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') invalid(where, `pickle offset ${at}: STACK_GLOBAL needs two strings`);
        stack.push(resolveGlobal(module, name));
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) {
          invalid(where, `pickle offset ${at}: unknown persistent id ${JSON.stringify(Array.isArray(pid) ? pid[0] : typeof pid)}`);
        }
        const [, type, key, , numel] = pid as [string, unknown, unknown, unknown, unknown];
        if (!(type instanceof StorageType)) {
          const name = type instanceof Global ? `${type.module}.${type.name}` : typeof type;
          invalid(where, `pickle offset ${at}: unsupported storage type ${name}`);
        }
        if (typeof key !== 'string' && typeof key !== 'number') invalid(where, `pickle offset ${at}: storage key must be a string`);
        if (typeof numel !== 'number') invalid(where, `pickle offset ${at}: storage size must be an integer`);
        const ref: StorageRef = { kind: 'storage', key: String(key), dtype: type.dtype, numel };
        stack.push(ref);
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        if (!Array.isArray(args)) invalid(where, `pickle offset ${at}: REDUCE arguments must be a tuple`);
        stack.push(call(fn, args, where, at));
        break;
      }
      case 0x81: { // NEWOBJ
        const args = pop();
        const cls = pop();
        if (!Array.isArray(args)) invalid(where, `pickle offset ${at}: NEWOBJ arguments must be a tuple`);
        stack.push(call(cls, args, where, at));
        break;
      }
      case 0x92: { // NEWOBJ_EX
        pop(); // kwargs
        const args = pop();
        const cls = pop();
        stack.push(call(cls, Array.isArray(args) ? args : [], where, at));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (obj instanceof PickleObject) obj.state = state;
        else if (isPlainObject(obj)) {
          // argparse.Namespace: its __dict__ becomes the object's fields ((dict, slots) form too).
          const dict = Array.isArray(state) ? state[0] : state;
          if (dict instanceof Map) for (const [k, v] of dict) (obj as Record<string, unknown>)[String(k)] = v;
        }
        // BUILD sets instance attributes, not items: a state_dict's `_metadata` on an OrderedDict (a Map here) and
        // tensor-subclass state are dropped.
        break;
      }
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x70: // PUT (text)
        memo.set(Number.parseInt(line(), 10), top());
        break;
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: { // GET (text)
        const idx = op === 0x68 ? u8() : op === 0x6a ? u32() : Number.parseInt(line(), 10);
        if (!memo.has(idx)) invalid(where, `pickle offset ${at}: memo ${idx} was never stored`);
        stack.push(memo.get(idx));
        break;
      }
      case 0x30: // POP
        if (marks.length > 0 && stack.length === marks[marks.length - 1]) marks.pop();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      default:
        invalid(where, `pickle offset ${at}: unsupported opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}
