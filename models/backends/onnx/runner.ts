// The 'onnx' runner: trace the forward function once per (entry, input signature, weights), write the .onnx to
// the disk cache `${KOSMOS_G_CACHE ?? '.cache'}/onnx/<sha256>.onnx`, and run it with ONNX Runtime. A hot path
// skips tracing: per module and signature it remembers the parameters the trace used and their versions, and
// re-traces only when one of them changed. A model written with external data has its host weights released once
// written (host-weights.ts): the session reads them from the side file, and the parameters read them back from it
// only if something else asks for them. KOSMOS_G_ORT_KEEP_HOST_WEIGHTS=1 keeps them.

import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { HostTensor } from '../../ops/ops.ts';
import type { Module, Parameter } from '../../nn/module.ts';
import type { ForwardFn, Runner } from '../../runtime/runner.ts';
import { inRunContext } from '../../runtime/run-error.ts';
import { TraceOps } from './trace.ts';
import { graphKey, pruneCache, touch } from './cache.ts';
import { writeModel } from './serialize.ts';
import { collectGarbage, releaseToDataFile } from './host-weights.ts';
import { SessionCache, cachedSession, requestedProvider, type ExecutionProvider } from './session.ts';
import { fromOrt, toOrt } from './tensors.ts';

export function onnxCacheDir(): string {
  return path.join(process.env.KOSMOS_G_CACHE ?? '.cache', 'onnx');
}

/** Trace `forward` on inputs of these shapes; the graph's outputs are the forward function's results. */
export function traceForward(model: Module, forward: ForwardFn, inputs: readonly Pick<HostTensor, 'shape' | 'dtype'>[]): TraceOps {
  model.namedParameters(); // fills in Parameter.key, the initializer names
  const ops = new TraceOps();
  const syms = inputs.map((h) => ops.input(h.shape, h.dtype));
  const outs = forward(ops, syms);
  ops.output(outs);
  return ops;
}

interface Compiled {
  key: string;
  file: string;
  used: [Parameter, number][];
}

const signature = (entry: string, inputs: readonly HostTensor[]) =>
  `${entry}|${inputs.map((h) => `${h.dtype}[${h.shape.join(',')}]`).join(';')}`;

export class OnnxRunner implements Runner {
  readonly backend = 'onnx' as const;
  readonly sessions = new SessionCache();
  private readonly compiled = new WeakMap<Module, Map<string, Compiled>>();
  /** How many traces were made (for tests and diagnostics). */
  traces = 0;

  constructor(
    readonly cacheDir = onnxCacheDir(),
    readonly provider: ExecutionProvider = requestedProvider(),
    readonly externalThreshold?: number,
    readonly releaseHostWeights = process.env.KOSMOS_G_ORT_KEEP_HOST_WEIGHTS !== '1',
  ) {}

  async run(model: Module, entry: string, forward: ForwardFn, inputs: HostTensor[]): Promise<HostTensor[]> {
    return inRunContext(model, entry, async () => {
      const c = this.compile(model, entry, forward, inputs);
      const session = await cachedSession(this.sessions, c.key, c.file, this.provider, () => {
        this.forget(model, entry, inputs);
        return this.compile(model, entry, forward, inputs);
      });
      const feeds: Record<string, ReturnType<typeof toOrt>> = {};
      inputs.forEach((h, i) => (feeds[`input_${i}`] = toOrt(h)));
      const results = await this.sessions.using(session, () => session.run(feeds));
      return session.outputNames.map((name) => fromOrt(results[name]!));
    });
  }

  private forget(model: Module, entry: string, inputs: readonly HostTensor[]): void {
    this.compiled.get(model)?.delete(signature(entry, inputs));
  }

  /** Trace and write the model when needed; returns where it is. */
  compile(model: Module, entry: string, forward: ForwardFn, inputs: readonly HostTensor[]): Compiled {
    const sig = signature(entry, inputs);
    let perModel = this.compiled.get(model);
    const known = perModel?.get(sig);
    if (known && known.used.every(([p, v]) => p.version === v) && existsSync(known.file)) return known;
    const ops = traceForward(model, forward, inputs);
    this.traces++;
    const key = graphKey(entry, ops.graph);
    const file = path.join(this.cacheDir, `${key}.onnx`);
    if (!existsSync(file)) {
      mkdirSync(this.cacheDir, { recursive: true });
      writeModel(ops.graph, file, this.externalThreshold);
      pruneCache(this.cacheDir, file);
    } else touch(file);
    if (this.releaseHostWeights && releaseToDataFile(ops.graph, `${file}.data`) > 0) collectGarbage();
    const c: Compiled = { key, file, used: [...ops.params.keys()].map((p) => [p, p.version]) };
    if (!perModel) this.compiled.set(model, (perModel = new Map()));
    // The session traced for this module's previous weights is never asked for again (its key names those weights):
    // release it now rather than when it falls out of the LRU, where a real U-Net's session holds 3.4 GB.
    if (known && known.key !== key) void this.sessions.evict(known.key);
    perModel.set(sig, c);
    return c;
  }
}

let shared: OnnxRunner | undefined;

/** The process-wide ONNX runner (its session cache is shared by every caller). */
export async function onnxRunner(): Promise<OnnxRunner> {
  shared ??= new OnnxRunner();
  return shared;
}
