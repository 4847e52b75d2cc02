// The output cache: node outputs by content key, least-recently-used first out, bounded by entry count and by
// bytes (values report their size through `byteSize()`; typed arrays and objects holding one are measured).
// An evicted value is disposed unless a running job still holds it; then it is disposed when the job lets go.
import type { OutputFile } from './node-def.ts';

export interface CacheEntry {
  outputs: Record<string, unknown>;
  /** Files the node wrote when it ran (an output node served from the cache still lists them). */
  files: OutputFile[];
  bytes: number;
}

export interface CacheLimits {
  maxEntries: number;
  maxBytes: number;
}

export class OutputCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly pins = new Map<string, number>();
  /** Entries evicted while pinned: disposed at the last unpin. */
  private readonly evictedPinned = new Map<string, CacheEntry>();
  /** How many entries hold each object value (a node may pass its input through unchanged). */
  private readonly owned = new Map<object, number>();
  private totalBytes = 0;

  constructor(readonly limits: CacheLimits) {}

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get(key: string): CacheEntry | undefined {
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, entry); // most recently used goes last
    }
    return entry;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Store outputs; false when they alone exceed the byte limit (the caller keeps ownership then). */
  set(key: string, outputs: Record<string, unknown>, files: OutputFile[] = []): boolean {
    if (this.limits.maxEntries <= 0) return false;
    const bytes = Object.values(outputs).reduce<number>((sum, v) => sum + valueByteSize(v), 0);
    if (bytes > this.limits.maxBytes) return false;
    const previous = this.entries.get(key);
    if (previous !== undefined) this.remove(key, previous);
    const entry: CacheEntry = { outputs, files, bytes };
    this.entries.set(key, entry);
    this.totalBytes += bytes;
    for (const v of Object.values(outputs)) if (isObject(v)) this.owned.set(v, (this.owned.get(v) ?? 0) + 1);
    this.evict(key);
    return true;
  }

  /** Is this object held by a cache entry (so nobody else may dispose it)? */
  holds(value: unknown): boolean {
    return isObject(value) && (this.owned.get(value) ?? 0) > 0;
  }

  /** Keep an entry's values alive while a job uses them, even if it is evicted meanwhile. */
  pin(key: string): void {
    this.pins.set(key, (this.pins.get(key) ?? 0) + 1);
  }

  unpin(key: string): void {
    const left = (this.pins.get(key) ?? 1) - 1;
    if (left > 0) {
      this.pins.set(key, left);
      return;
    }
    this.pins.delete(key);
    const evicted = this.evictedPinned.get(key);
    if (evicted !== undefined) {
      this.evictedPinned.delete(key);
      this.disposeEntry(evicted);
    }
  }

  /** Forget one entry (its values are disposed once no job pins them and no other entry holds them). */
  drop(key: string): void {
    const entry = this.entries.get(key);
    if (entry !== undefined) this.remove(key, entry);
  }

  clear(): void {
    for (const [key, entry] of [...this.entries]) this.remove(key, entry);
  }

  private evict(keep: string): void {
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.limits.maxEntries && this.totalBytes <= this.limits.maxBytes) return;
      if (key === keep) continue;
      this.remove(key, entry);
    }
  }

  private remove(key: string, entry: CacheEntry): void {
    this.entries.delete(key);
    this.totalBytes -= entry.bytes;
    for (const v of Object.values(entry.outputs)) {
      if (!isObject(v)) continue;
      const n = (this.owned.get(v) ?? 1) - 1;
      if (n > 0) this.owned.set(v, n);
      else this.owned.delete(v);
    }
    if ((this.pins.get(key) ?? 0) > 0) this.evictedPinned.set(key, entry);
    else this.disposeEntry(entry);
  }

  private disposeEntry(entry: CacheEntry): void {
    for (const v of Object.values(entry.outputs)) if (!this.holds(v)) disposeValue(v);
  }
}

function isObject(v: unknown): v is object {
  return (typeof v === 'object' && v !== null) || typeof v === 'function';
}

/** Bytes a value occupies: `byteSize()` when it has one, else the typed array it is or holds in `data`. */
export function valueByteSize(value: unknown): number {
  if (!isObject(value)) return typeof value === 'string' ? value.length * 2 : 8;
  const sized = value as { byteSize?: unknown; data?: unknown };
  if (typeof sized.byteSize === 'function') {
    const n = (sized.byteSize as () => unknown).call(value);
    return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : 0;
  }
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (ArrayBuffer.isView(sized.data)) return sized.data.byteLength;
  return 0;
}

/** Free a value's resources when it has a `dispose()`; errors while freeing are not the user's problem. */
export function disposeValue(value: unknown): void {
  if (!isObject(value)) return;
  const d = (value as { dispose?: unknown }).dispose;
  if (typeof d !== 'function') return;
  try {
    (d as () => void).call(value);
  } catch {
    // A value that fails to free itself must not take the job or the process down.
  }
}
