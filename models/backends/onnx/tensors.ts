// HostTensor ↔ ort.Tensor. Host tensors are float32 or int32; external models may want int64 (token ids) or
// float16 (half-precision exports, passed as Uint16Array bit patterns since Node 20 has no Float16Array), so
// values are converted to the type the model declares and back.

import * as ort from 'onnxruntime-node';
import type { HostTensor } from '../../ops/ops.ts';

// Half-precision bit patterns: the project's one conversion (round to nearest even), under the names this
// module has always exported.
export { floatToHalf as toHalf, halfToFloat as fromHalf } from '../../io/float16.ts';
import { floatToHalf as toHalf, halfToFloat as fromHalf } from '../../io/float16.ts';

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
