// HostTensor ↔ ort.Tensor. Host tensors are float32 or int32; external models may want int64 (token ids) or
// float16 (half-precision exports, passed as Uint16Array bit patterns since Node 20 has no Float16Array), so
// values are converted to the type the model declares and back.

import * as ort from 'onnxruntime-node';
import type { HostTensor } from '../../ops/ops.ts';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function toHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? Number.NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** A host tensor as an ORT tensor of type `type` (default: its own). */
export function toOrt(h: HostTensor, type: ort.Tensor.Type = h.dtype): ort.Tensor {
  const dims = [...h.shape];
  switch (type) {
    case 'float32':
      return new ort.Tensor('float32', h.data instanceof Float32Array ? h.data : Float32Array.from(h.data), dims);
    case 'int32':
      return new ort.Tensor('int32', h.data instanceof Int32Array ? h.data : Int32Array.from(h.data, Math.round), dims);
    case 'int64':
      return new ort.Tensor('int64', BigInt64Array.from(h.data, (v) => BigInt(Math.round(v))), dims);
    case 'float16':
      return new ort.Tensor('float16', Uint16Array.from(h.data, toHalf), dims);
    case 'float64':
      return new ort.Tensor('float64', Float64Array.from(h.data), dims);
    case 'bool':
      return new ort.Tensor('bool', Uint8Array.from(h.data, (v) => (v ? 1 : 0)), dims);
    default:
      throw Object.assign(new Error(`cannot pass a host tensor as ONNX type '${type}'`), { code: 'ONNX_INPUT_MISMATCH' });
  }
}

/** An ORT tensor on the host: floats become float32, integers and booleans int32. */
export function fromOrt(t: ort.Tensor): HostTensor {
  const shape = t.dims.map(Number);
  const d = t.data;
  switch (t.type) {
    case 'float32':
      return { data: d as Float32Array, shape, dtype: 'float32' };
    case 'float16':
      return { data: Float32Array.from(d as Uint16Array, fromHalf), shape, dtype: 'float32' };
    case 'float64':
      return { data: Float32Array.from(d as Float64Array), shape, dtype: 'float32' };
    case 'int32':
      return { data: d as Int32Array, shape, dtype: 'int32' };
    case 'int64':
    case 'uint64':
      return { data: Int32Array.from(d as BigInt64Array, (v) => Number(v)), shape, dtype: 'int32' };
    case 'int8':
    case 'uint8':
    case 'int16':
    case 'uint16':
    case 'uint32':
    case 'bool':
      return { data: Int32Array.from(d as ArrayLike<number>), shape, dtype: 'int32' };
    default:
      throw Object.assign(new Error(`ONNX output of type '${t.type}' has no host representation`), { code: 'ONNX_OUTPUT_TYPE' });
  }
}
