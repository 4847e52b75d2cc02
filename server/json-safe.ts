// Output values from nodes can be anything (numbers, strings, tensors, model handles). What is stored in history
// and sent to clients is a bounded, JSON-safe summary: plain data is kept, large or exotic values are described.
const MAX_DEPTH = 4;
const MAX_ITEMS = 64;
const MAX_STRING = 10_000;

export function jsonSafe(value: unknown, depth = 0): unknown {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'string') return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object') return `[${typeof value}]`;
  if (ArrayBuffer.isView(value)) return `[${value.constructor.name} of ${(value as unknown as { length?: number }).length ?? value.byteLength}]`;
  if (depth >= MAX_DEPTH) return '[…]';
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((v) => jsonSafe(v, depth + 1));
    if (value.length > MAX_ITEMS) items.push(`… ${value.length - MAX_ITEMS} more`);
    return items;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    // A class instance (tensor, model): its shape when it has one, else its name.
    const shape = (value as { shape?: unknown }).shape;
    return Array.isArray(shape) ? `[${proto.constructor?.name ?? 'object'} ${JSON.stringify(shape)}]` : `[${proto.constructor?.name ?? 'object'}]`;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value).slice(0, MAX_ITEMS)) out[k] = jsonSafe(v, depth + 1);
  return out;
}
