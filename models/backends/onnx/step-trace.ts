// The tracer of a training step. It differs from the inference tracer in what becomes a graph input: host tensors
// (batch, noise, timesteps, masks — everything a step computes on the host) and the differentiated parameters are
// inputs fed at every step, so one traced graph serves every step of the same shapes; frozen parameters stay
// initializers (constants, as in inference). Structural constants (`fill`, numbers) stay in the graph.
import type { DType, HostTensor } from '../../ops/ops.ts';
import type { Parameter } from '../../nn/module.ts';
import { fmt, ShapeError } from '../shapes.ts';
import type { Sym } from './graph.ts';
import { TraceOps } from './trace.ts';

export class StepTraceOps extends TraceOps {
  /** Host data fed as inputs, in input order (graph input i ↔ feeds[i]; parameters hold `param`). */
  readonly feeds: ({ param: Parameter } | { host: HostTensor })[] = [];
  private readonly paramInputs = new Map<Parameter, Sym>();

  constructor(
    /** Parameters that are graph inputs (those differentiated), the rest are initializers. */
    readonly inputParams: ReadonlySet<Parameter>,
  ) {
    super();
  }

  override param(p: Parameter): Sym {
    if (!this.inputParams.has(p)) return super.param(p);
    let s = this.paramInputs.get(p);
    if (!s) {
      s = this.input(p.shape, 'float32');
      this.paramInputs.set(p, s);
      this.feeds.push({ param: p });
    }
    return s;
  }

  override tensor(data: Float32Array | Int32Array, shape: readonly number[], dtype?: DType): Sym {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new ShapeError('tensor', `shape ${fmt(shape)} holds ${n} values, data has ${data.length}`);
    const dt = dtype ?? (data instanceof Int32Array ? 'int32' : 'float32');
    const values = dt === 'int32' ? (data instanceof Int32Array ? data : Int32Array.from(data)) : data instanceof Float32Array ? data : Float32Array.from(data);
    this.feeds.push({ host: { data: values, shape: [...shape], dtype: dt } });
    return this.input(shape, dt);
  }
}
