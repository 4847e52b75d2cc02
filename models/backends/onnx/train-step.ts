// A training step on ONNX Runtime: the loss function is traced with GradOps over the step tracer, so the forward
// pass, the loss and the backward pass become one ONNX graph whose inputs are the step's host tensors and the
// differentiated parameters and whose outputs are the loss and one gradient per parameter. The graph is cached
// like inference traces (by content: ops, shapes, frozen weights), so a run compiles it once per input shape and
// every later step only traces (to collect that step's host tensors), hashes and feeds it.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Parameter } from '../../nn/module.ts';
import { GradOps, type LossFn } from '../../autodiff/index.ts';
import { graphKey, pruneCache, touch } from './cache.ts';
import { writeModel } from './serialize.ts';
import { SessionCache, cachedSession, requestedProvider, type ExecutionProvider } from './session.ts';
import { StepTraceOps } from './step-trace.ts';
import { toOrt } from './tensors.ts';
import { onnxCacheDir } from './runner.ts';

export interface StepGradients {
  loss: number;
  grads: Map<Parameter, Float32Array>;
}

export interface TracedStep {
  ops: StepTraceOps;
  /** Parameters whose gradients are outputs 1… in this order. */
  params: Parameter[];
}

/**
 * Trace forward + backward of `loss` w.r.t. `params` (their trainable ones) into one graph; without `gradients`,
 * the forward and the loss alone (evaluation), with the same parameters as inputs, so evaluating between updates
 * reuses one graph instead of compiling one per set of weights.
 */
export function traceStep(params: readonly Parameter[], loss: LossFn, gradients = true): TracedStep {
  const trainable = params.filter((p) => p.trainable);
  const ops = new StepTraceOps(new Set(trainable));
  const wrt = new Set(gradients ? trainable : []);
  const g = new GradOps(ops, wrt);
  const value = loss(g);
  const shape = g.shape(value);
  if (shape.length > 1 || (shape.length === 1 && shape[0] !== 1)) {
    throw new Error(`the loss must be a scalar, got shape [${shape.join(', ')}]`);
  }
  const differentiated = [...wrt];
  const grads = differentiated.length ? g.backward(value) : new Map();
  ops.output([ops.reshape(value.value, []), ...differentiated.map((p) => grads.get(p)!)]);
  return { ops, params: differentiated };
}

export class OnnxTrainer {
  readonly sessions = new SessionCache(Number(process.env.KOSMOS_G_ORT_TRAIN_SESSIONS) || 16);
  /** Steps traced, and graphs compiled (written and opened): a steady run compiles once per input shape. */
  traces = 0;
  compiles = 0;
  private readonly files = new Map<string, string>();

  constructor(
    readonly cacheDir = onnxCacheDir(),
    readonly provider: ExecutionProvider = requestedProvider(),
  ) {}

  /** Loss and gradients of `loss` w.r.t. the trainable ones of `params` (zeros where the loss does not reach). */
  async gradients(params: readonly Parameter[], loss: LossFn): Promise<StepGradients> {
    const step = traceStep(params, loss);
    const outs = await this.run(step);
    const grads = new Map<Parameter, Float32Array>();
    step.params.forEach((p, i) => grads.set(p, outs[i + 1] as Float32Array));
    return { loss: (outs[0] as Float32Array)[0]!, grads };
  }

  /** The loss alone (no gradients): evaluation. `params`: the ones that change between calls (fed, not baked in). */
  async loss(params: readonly Parameter[], loss: LossFn): Promise<number> {
    const outs = await this.run(traceStep(params, loss, false));
    return (outs[0] as Float32Array)[0]!;
  }

  private async run(step: TracedStep): Promise<Float32Array[]> {
    this.traces++;
    const graph = step.ops.graph;
    const key = graphKey('train-step', graph);
    const file = this.fileFor(key, step);
    const session = await cachedSession(this.sessions, key, file, this.provider, () => {
      this.files.delete(key);
      return { key, file: this.fileFor(key, step) };
    });
    const feeds: Record<string, ort.Tensor> = {};
    step.ops.feeds.forEach((f, i) => {
      const name = graph.inputs[i]!.name;
      feeds[name] = 'param' in f ? new ort.Tensor('float32', f.param.data, [...f.param.shape]) : toOrt(f.host);
    });
    const results = await session.run(feeds);
    return session.outputNames.map((name) => results[name]!.data as Float32Array);
  }

  private fileFor(key: string, step: TracedStep): string {
    const known = this.files.get(key);
    if (known && existsSync(known)) return known;
    const file = path.join(this.cacheDir, `${key}.onnx`);
    if (!existsSync(file)) {
      mkdirSync(this.cacheDir, { recursive: true });
      writeModel(step.ops.graph, file);
      pruneCache(this.cacheDir, file);
      this.compiles++;
    } else touch(file);
    this.files.set(key, file);
    return file;
  }
}

let shared: OnnxTrainer | undefined;

/** The process-wide trainer (its sessions are shared by every training node). */
export function onnxTrainer(): OnnxTrainer {
  shared ??= new OnnxTrainer();
  return shared;
}
