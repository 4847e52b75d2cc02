// Node output values made printable as JSON: numbers, text and booleans as they are; images and tensors as
// their shapes (never megabytes of numbers); anything else summarised.

export function toJsonValue(value: unknown, depth = 0): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object') return undefined;
  if (ArrayBuffer.isView(value)) return { type: 'array', length: (value as unknown as { length?: number }).length ?? value.byteLength };
  const v = value as Record<string, unknown>;
  if (Array.isArray(v.shape) && ArrayBuffer.isView(v.data)) return { type: 'tensor', shape: v.shape, dtype: v.dtype };
  if (typeof v.batch === 'number' && typeof v.width === 'number' && ArrayBuffer.isView(v.data)) {
    return { type: 'image', batch: v.batch, width: v.width, height: v.height };
  }
  if (depth >= 4) return { type: 'object' };
  if (Array.isArray(value)) return value.slice(0, 100).map((x) => toJsonValue(x, depth + 1) ?? null);
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return { type: proto?.constructor?.name ?? 'object' };
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const j = toJsonValue(x, depth + 1);
    if (j !== undefined) out[k] = j;
  }
  return out;
}
