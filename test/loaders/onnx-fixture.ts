// Writes tiny ONNX models whose only job is to carry an input/output signature (names, element types, dims), so
// the loader's signature detection can be tested without a real export. Hand-encoded protobuf: ModelProto
// {ir_version 1, opset_import 8, graph 7}, GraphProto {node 1, name 2, input 11, output 12}.

export type ElemType = 'float32' | 'float16' | 'int32' | 'int64';
const ELEM: Record<ElemType, number> = { float32: 1, int32: 6, int64: 7, float16: 10 };

export interface FixtureValue {
  name: string;
  type: ElemType;
  /** Numbers are fixed dims, strings symbolic ones; [] is a scalar. */
  dims: (number | string)[];
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 127) {
    out.push((v & 127) | 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}
const utf8 = (s: string): number[] => [...new TextEncoder().encode(s)];
const field = (num: number, bytes: number[]): number[] => [...varint((num << 3) | 2), ...varint(bytes.length), ...bytes];
const intField = (num: number, v: number): number[] => [...varint(num << 3), ...varint(v)];

function valueInfo(v: FixtureValue): number[] {
  const dims = v.dims.flatMap((d) => field(1, typeof d === 'number' ? intField(1, d) : field(2, utf8(d))));
  const tensorType = [...intField(1, ELEM[v.type]), ...field(2, dims)];
  return [...field(1, utf8(v.name)), ...field(2, field(1, tensorType))];
}

/** A model where each output is Identity (or Cast to the output's type) of the first input. */
export function signatureModel(inputs: FixtureValue[], outputs: FixtureValue[]): Uint8Array {
  const first = inputs[0]!;
  const nodes = outputs.flatMap((o, i) => {
    const cast = o.type !== first.type;
    const body = [
      ...field(1, utf8(first.name)),
      ...field(2, utf8(o.name)),
      ...field(3, utf8(`n${i}`)),
      ...field(4, utf8(cast ? 'Cast' : 'Identity')),
      // AttributeProto {name 1, i 3, type 20 = INT(2)}
      ...(cast ? field(5, [...field(1, utf8('to')), ...intField(3, ELEM[o.type]), ...intField(20, 2)]) : []),
    ];
    return field(1, body);
  });
  const graph = [...nodes, ...field(2, utf8('signature')), ...inputs.flatMap((v) => field(11, valueInfo(v))), ...outputs.flatMap((v) => field(12, valueInfo(v)))];
  const opset = [...field(1, []), ...intField(2, 17)];
  return new Uint8Array([...intField(1, 8), ...field(8, opset), ...field(7, graph)]);
}
