// IEEE binary16 and bfloat16 ↔ float32, written once for every reader and writer of half-precision weights
// (safetensors, PyTorch .pt storages, ONNX exports). Host tensors are float32; halves travel as Uint16 bit patterns
// because Node 20 has no Float16Array. Encoding rounds to nearest even; overflow gives ±Infinity; NaN stays NaN.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 bits → binary16 bits. */
export function floatBitsToHalf(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const e = exponent - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let rounded = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    if (rest > half || (rest === half && (rounded & 1) === 1)) rounded++;
    return sign | rounded;
  }
  let h = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa moves into the exponent, which is the correct rounding (up to Infinity).
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++;
  return sign | h;
}

/** float32 bits → bfloat16 bits (the top half of a float32, rounded). */
export function floatBitsToBFloat(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** A number (rounded to float32 first) → binary16 bits. */
export function floatToHalf(value: number): number {
  f32[0] = value;
  return floatBitsToHalf(u32[0]!);
}

/** A number (rounded to float32 first) → bfloat16 bits. */
export function floatToBFloat(value: number): number {
  f32[0] = value;
  return floatBitsToBFloat(u32[0]!);
}

let HALF_TABLE: Float32Array | undefined;

/** float32 value of every binary16 bit pattern (exact: every half is a float32), built on first use. */
function halfTable(): Float32Array {
  if (HALF_TABLE !== undefined) return HALF_TABLE;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) table[h] = sign * mantissa * 2 ** -24;
    else if (exponent === 31) table[h] = mantissa === 0 ? sign * Infinity : NaN;
    else table[h] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  HALF_TABLE = table;
  return table;
}

/** binary16 bits → its value. */
export function halfToFloat(h: number): number {
  return halfTable()[h & 0xffff]!;
}

/** binary16 bit patterns → float32 values. */
export function halvesToFloats(halves: Uint16Array): Float32Array {
  const table = halfTable();
  const out = new Float32Array(halves.length);
  for (let i = 0; i < halves.length; i++) out[i] = table[halves[i]!]!;
  return out;
}

/** bfloat16 bit patterns → float32 values (bf16 is the top half of a float32, so this is exact). */
export function bfloatsToFloats(halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < halves.length; i++) bits[i] = halves[i]! << 16;
  return out;
}

/** float32 values → binary16 or bfloat16 bit patterns. */
export function floatsToHalves(values: ArrayLike<number>, format: 'float16' | 'bfloat16'): Uint16Array {
  const out = new Uint16Array(values.length);
  const encode = format === 'float16' ? floatToHalf : floatToBFloat;
  for (let i = 0; i < values.length; i++) out[i] = encode(values[i]!);
  return out;
}
