// Modules in the PyTorch/diffusers shape: a module's fields are its parameters and sub-modules, and the field
// path is the checkpoint key (`layers.3.self_attn.q_proj.weight`), so loading real weights is a lookup and any
// mismatch names the key. Parameters live on the host as Float32Array; backends upload them on demand.

import type { HostTensor } from '../ops/ops.ts';

export class Parameter {
  /** Bumped whenever `data` is replaced, so backends know to re-upload. */
  version = 0;
  /** Full key, filled in when the owning module tree is named (see `Module.namedParameters`). */
  key = '';
  private _data: Float32Array | undefined;
  private _init: (() => Float32Array) | undefined;
  private _released = false;

  /**
   * `data` may be an initialiser: it runs on first access, so a real-size model (1.3 B parameters) can be built
   * to count its parameters and list its keys without allocating, and weights loaded from a file never pay for
   * a random initialisation.
   */
  constructor(
    readonly shape: number[],
    data: Float32Array | (() => Float32Array),
    public trainable = true,
  ) {
    if (typeof data === 'function') this._init = data;
    else {
      const n = shape.reduce((a, b) => a * b, 1);
      if (n !== data.length) throw new Error(`Parameter: shape [${shape}] needs ${n} values, got ${data.length}`);
      this._data = data;
    }
  }

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  get materialized(): boolean {
    return this._data !== undefined;
  }

  get data(): Float32Array {
    if (!this._data) {
      const d = this._init!();
      if (d.length !== this.size) throw new Error(`Parameter ${this.key}: initialiser gave ${d.length} values, needs ${this.size}`);
      this._data = d;
      this._init = undefined;
      this._released = false;
    }
    return this._data;
  }

  /** Whether the host copy was dropped by `release` (the values are unchanged, read back on the next access). */
  get released(): boolean {
    return this._released;
  }

  /**
   * Drop the host copy: `reload` gives the same values back on the next access (e.g. read from the file a backend
   * wrote them to, which then holds the only copy besides its own). The version is unchanged, as are the values.
   */
  release(reload: () => Float32Array): void {
    this._data = undefined;
    this._init = reload;
    this._released = true;
  }

  /**
   * The values, without keeping them on the host when they were released (a released parameter stays released):
   * for writers that stream every weight once, so that a released model is never whole on the host again.
   */
  peek(): Float32Array {
    if (!this._released) return this.data;
    const d = this._init!();
    if (d.length !== this.size) throw new Error(`Parameter ${this.key}: reloading gave ${d.length} values, needs ${this.size}`);
    return d;
  }

  set(data: Float32Array): void {
    if (data.length !== this.size) {
      throw new Error(`Parameter ${this.key}: expected ${this.size} values, got ${data.length}`);
    }
    this._data = data;
    this._init = undefined;
    this._released = false;
    this.version++;
  }
}

/** An ordered list of sub-modules whose indices are key segments (`layers.0`, `layers.1`, …). */
export class ModuleList<M extends Module = Module> extends Array<M> {}

export interface LoadReport {
  loaded: string[];
  missing: string[];
  unexpected: string[];
  mismatched: { key: string; expected: number[]; got: number[] }[];
}

export class LoadError extends Error {
  readonly code = 'WEIGHTS_MISMATCH';
  constructor(
    readonly report: LoadReport,
    where: string,
  ) {
    const parts: string[] = [];
    if (report.missing.length) parts.push(`missing ${report.missing.length}: ${report.missing.slice(0, 20).join(', ')}`);
    if (report.unexpected.length) {
      parts.push(`unexpected ${report.unexpected.length}: ${report.unexpected.slice(0, 20).join(', ')}`);
    }
    if (report.mismatched.length) {
      parts.push(
        `mis-shaped ${report.mismatched.length}: ` +
          report.mismatched
            .slice(0, 20)
            .map((m) => `${m.key} expected [${m.expected}] got [${m.got}]`)
            .join(', '),
      );
    }
    super(`weights do not match ${where}: ${parts.join('; ')}`);
  }
}

export abstract class Module {
  /** Every parameter with its full key, in definition order. Fields starting with `_` are not walked. */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [name, value] of Object.entries(this)) {
      if (name.startsWith('_')) continue;
      const key = prefix ? `${prefix}.${name}` : name;
      collect(value, key, out);
    }
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  parameterCount(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Freeze or unfreeze every parameter (or those whose key starts with `prefix`). */
  setTrainable(trainable: boolean, prefix = ''): void {
    for (const [key, p] of this.namedParameters()) if (key.startsWith(prefix)) p.trainable = trainable;
  }

  stateDict(): Map<string, HostTensor> {
    const out = new Map<string, HostTensor>();
    for (const [key, p] of this.namedParameters()) out.set(key, { data: p.data, shape: [...p.shape], dtype: 'float32' });
    return out;
  }

  /**
   * Load weights by key. `prefix` is stripped from the source keys (e.g. `gpt_model.decoder.`); keys outside the
   * prefix are ignored. With `strict` (default) any missing, unexpected or mis-shaped key throws a LoadError
   * that names every one; otherwise the report says what happened.
   */
  loadStateDict(
    source: Map<string, HostTensor>,
    options: { prefix?: string; strict?: boolean; where?: string; ignore?: (key: string) => boolean } = {},
  ): LoadReport {
    const prefix = options.prefix ?? '';
    const params = new Map(this.namedParameters());
    const report: LoadReport = { loaded: [], missing: [], unexpected: [], mismatched: [] };
    const seen = new Set<string>();
    for (const [fullKey, tensor] of source) {
      if (!fullKey.startsWith(prefix)) continue;
      const key = fullKey.slice(prefix.length);
      if (options.ignore?.(key)) continue;
      const p = params.get(key);
      if (!p) {
        report.unexpected.push(fullKey);
        continue;
      }
      seen.add(key);
      const same = p.shape.length === tensor.shape.length && p.shape.every((d, i) => d === tensor.shape[i]);
      if (!same) {
        report.mismatched.push({ key: fullKey, expected: [...p.shape], got: [...tensor.shape] });
        continue;
      }
      p.set(tensor.data instanceof Float32Array ? tensor.data : Float32Array.from(tensor.data));
      report.loaded.push(fullKey);
    }
    for (const key of params.keys()) if (!seen.has(key)) report.missing.push(prefix + key);
    if ((options.strict ?? true) && (report.missing.length || report.unexpected.length || report.mismatched.length)) {
      throw new LoadError(report, options.where ?? this.constructor.name);
    }
    return report;
  }
}

function collect(value: unknown, key: string, out: [string, Parameter][]): void {
  if (value instanceof Parameter) {
    value.key = key;
    out.push([key, value]);
  } else if (value instanceof Module) {
    out.push(...value.namedParameters(key));
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => collect(v, `${key}.${i}`, out));
  }
}
