// The graph the tracer records: values with static shapes, nodes, initializers (module parameters, by key, and
// constants), graph inputs and outputs. Plain data, serialised by serialize.ts and hashed by cache.ts.

import type { DType } from '../../ops/ops.ts';
import type { Parameter } from '../../nn/module.ts';

/** A symbolic tensor: a named value in the graph with a static shape. */
export class Sym {
  constructor(
    readonly name: string,
    readonly shape: number[],
    readonly dtype: DType,
  ) {}
}

export type Attr =
  | { name: string; kind: 'int'; value: number }
  | { name: string; kind: 'ints'; value: number[] }
  | { name: string; kind: 'float'; value: number }
  | { name: string; kind: 'floats'; value: number[] }
  | { name: string; kind: 'string'; value: string };

export interface GraphNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs: Attr[];
  /** The operator set the op comes from; absent: the ONNX standard ('' domain). */
  domain?: OpDomain;
}

/** Operator sets other than the standard one that a trace may use, with the version it imports. */
export const OP_DOMAINS = { 'com.microsoft': 1 } as const;
export type OpDomain = keyof typeof OP_DOMAINS;

export type InitDType = 'float32' | 'int32' | 'int64';

export interface Initializer {
  name: string;
  dims: number[];
  dtype: InitDType;
  /** Constants hold their data; parameters are read when serialised (`param.data`). */
  data?: Float32Array | Int32Array | BigInt64Array;
  param?: Parameter;
}

export class Graph {
  readonly nodes: GraphNode[] = [];
  readonly initializers = new Map<string, Initializer>();
  readonly inputs: Sym[] = [];
  readonly outputs: Sym[] = [];
  /** Every value by name, with its static shape. */
  readonly values = new Map<string, Sym>();
  private counter = 0;
  private readonly constants = new Map<string, Sym>();

  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  input(shape: readonly number[], dtype: DType): Sym {
    const s = new Sym(`input_${this.inputs.length}`, [...shape], dtype);
    this.inputs.push(s);
    this.values.set(s.name, s);
    return s;
  }

  /** Add a node; returns one Sym per output spec. */
  node(op: string, inputs: readonly (Sym | undefined)[], outputs: readonly [number[], DType][], attrs: Attr[] = [], domain?: OpDomain): Sym[] {
    const outs = outputs.map(([shape, dtype]) => new Sym(this.fresh(op.toLowerCase()), shape, dtype));
    // Trailing absent optional inputs are dropped; inner ones are written as '' as ONNX requires.
    const names = inputs.map((s) => s?.name ?? '');
    while (names.length && names[names.length - 1] === '') names.pop();
    this.nodes.push({ op, inputs: names, outputs: outs.map((s) => s.name), attrs, ...(domain ? { domain } : {}) });
    for (const s of outs) this.values.set(s.name, s);
    return outs;
  }

  /** Shorthand for a one-output node. */
  op(op: string, inputs: readonly (Sym | undefined)[], shape: number[], dtype: DType, attrs: Attr[] = [], domain?: OpDomain): Sym {
    return this.node(op, inputs, [[shape, dtype]], attrs, domain)[0]!;
  }

  initializer(init: Initializer, shape: number[], dtype: DType): Sym {
    this.initializers.set(init.name, init);
    const s = new Sym(init.name, shape, dtype);
    this.values.set(s.name, s);
    return s;
  }

  /** A constant tensor, shared between uses with the same content. */
  constant(data: Float32Array | Int32Array | BigInt64Array, dims: number[], dtype: InitDType): Sym {
    // Small constants (shapes, axes, scalars: most of them) are shared by content; large ones are never keyed, so
    // no string the size of the data is ever built.
    const key = data.length <= 256 ? `${dtype}|${dims.join(',')}|${data.join(',')}` : undefined;
    const known = key === undefined ? undefined : this.constants.get(key);
    if (known) return known;
    const name = this.fresh('const');
    const sym = this.initializer({ name, dims, dtype, data }, dims, dtype === 'float32' ? 'float32' : 'int32');
    if (key !== undefined) this.constants.set(key, sym);
    return sym;
  }

  int64(values: readonly number[]): Sym {
    return this.constant(BigInt64Array.from(values.map((v) => BigInt(v))), [values.length], 'int64');
  }

  scalar(value: number, dtype: DType): Sym {
    return dtype === 'int32' ? this.constant(Int32Array.of(value), [], 'int32') : this.constant(Float32Array.of(value), [], 'float32');
  }
}
