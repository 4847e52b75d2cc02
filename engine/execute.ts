// The executor: validates, plans and runs a workflow. It runs only what the requested outputs need, in
// dependency order, serves unchanged nodes from the content-keyed cache, reports events per node, stops at the
// next cancellation point when the job's signal aborts, turns a throwing node into a structured error (the
// process lives on) and releases values once their last consumer has run.
import { randomUUID } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AnyNodeDefinition, Lazy, NodeContext, OutputFile, StepInfo } from './node-def.ts';
import { nodeContext, type JobScope } from './context.ts';
import { CancelledError, KosmosError, errorCode, errorMessage, type WorkflowIssue } from './errors.ts';
import type { Link, Workflow } from './format.ts';
import type { Registry } from './registry.ts';
import { validateWorkflow } from './validate.ts';
import { compileWorkflow, type CompiledGraph, type CompiledNode } from './compile.ts';
import { planRun, type Plan, type RecomputeRegion } from './plan.ts';
import { OutputCache, disposeValue } from './cache.ts';
import { applyOverrides, type Overrides } from './overrides.ts';
import { ownValue } from './reserved-names.ts';
import { DEFAULT_BUDGETS, budgetIssues, budgetsFromEnv, type Budgets } from './budgets.ts';
import type { EngineEvent, JobStatus, RunResult } from './events.ts';

export type { EngineEvent, RunResult, JobStatus } from './events.ts';

export interface ExecutorOptions {
  /** Cache limits: entries (default 1000) and bytes (default half the machine's memory). */
  cacheEntries?: number;
  cacheBytes?: number;
  /** Where job output folders go when a run names no outputDir (default ./data). */
  dataDir?: string;
  /**
   * Relative PATH widget values resolve against this folder (default: the current directory), once, in one place
   * (resolvePathWidget): the path the checks see is the path `execute` receives, so a node never re-resolves it.
   */
  baseDir?: string;
  /**
   * An extra rule for PATH widget values (e.g. "inside the allowed roots"): a message when refused. Applied at
   * validation and again just before the node runs (a linked value is only known then).
   */
  checkPath?: (absolutePath: string, mode: 'read' | 'write') => string | undefined;
  /** Resource limits checked at validation; unset ones come from the environment, then DEFAULT_BUDGETS. */
  budgets?: Partial<Budgets>;
  /** Where node log lines go (default: stderr). */
  log?: (level: 'info' | 'warn' | 'error', message: string, where: { jobId: string; nodeId: string }) => void;
}

export interface RunOptions {
  jobId?: string;
  signal?: AbortSignal;
  onEvent?: (event: EngineEvent) => void;
  /** `"NODE_ID.INPUT": value`, applied to widgets before validation. */
  overrides?: Overrides;
  /** Node ids to compute; default: all active output nodes. */
  outputs?: string[];
  /** Folder for this job's output files; default `<dataDir>/outputs/<jobId>`. */
  outputDir?: string;
}

/** A failure inside a node that ran as part of another node's recompute region: the error names that node. */
class NodeFailure extends Error {
  constructor(
    readonly nodeId: string,
    readonly nodeType: string,
    readonly error: unknown,
  ) {
    super(errorMessage(error));
  }
}

interface Job extends JobScope {
  workflow: Workflow;
  graph: CompiledGraph;
  plan: Plan;
  /** Output values of nodes that ran (or were served from the cache) and are still needed. */
  values: Map<string, Record<string, unknown>>;
  /** How many planned nodes still need each node's values. */
  pending: Map<string, number>;
  /** Objects this job produced and did not hand to the cache: the job disposes them. */
  produced: WeakSet<object>;
  /** Live references to each object among `values` (a node may pass its input through unchanged). */
  refs: Map<object, number>;
  pinned: string[];
  requested: Set<string>;
}

export class Executor {
  private readonly cache: OutputCache;
  readonly budgets: Readonly<Budgets>;

  constructor(
    readonly registry: Registry,
    private readonly options: ExecutorOptions = {},
  ) {
    this.cache = new OutputCache({
      maxEntries: options.cacheEntries ?? 1000,
      maxBytes: options.cacheBytes ?? Math.floor(os.totalmem() / 2),
    });
    this.budgets = { ...DEFAULT_BUDGETS, ...budgetsFromEnv(), ...options.budgets };
  }

  /** Every problem with this workflow (and these overrides); empty when it can run. */
  validate(workflow: Workflow, overrides?: Overrides): WorkflowIssue[] {
    const applied = applyOverrides(workflow, overrides);
    if (applied.issues.length > 0) return applied.issues;
    return [
      ...validateWorkflow(applied.workflow, this.registry),
      ...this.pathIssues(applied.workflow),
      ...budgetIssues(applied.workflow, this.registry, this.budgets),
    ];
  }

  clearCache(): void {
    this.cache.clear();
  }

  /**
   * Frees memory: empties the output cache (loaded models are cached values; values a running job holds are
   * disposed when it lets go) and runs the packs' release hooks (ONNX sessions, ...). The next run loads afresh.
   */
  async freeMemory(): Promise<{ cacheEntries: number; cacheBytes: number; packHooks: number; errors: string[] }> {
    const before = this.cacheStats();
    this.cache.clear();
    const packs = await this.registry.releasePacks();
    return { cacheEntries: before.entries, cacheBytes: before.bytes, packHooks: packs.released, errors: packs.errors };
  }

  /** Number of cached node outputs and their bytes. */
  cacheStats(): { entries: number; bytes: number } {
    return { entries: this.cache.size, bytes: this.cache.bytes };
  }

  /** Run a workflow. Never throws for user errors: the result's status is 'error' with the issues. */
  async run(workflow: Workflow, options: RunOptions = {}): Promise<RunResult> {
    const jobId = options.jobId ?? randomUUID();
    const started = performance.now();
    const result: RunResult = { jobId, status: 'ok', nodes: {}, outputs: {}, errors: [], warnings: [], seconds: 0 };
    const emit = (event: EngineEvent): void => {
      if (event.type === 'node_warning') result.warnings.push({ node: event.nodeId, message: event.message });
      if (options.onEvent === undefined) return;
      try {
        options.onEvent(event);
      } catch (error) {
        this.logLine('warn', `event listener failed: ${errorMessage(error)}`, { jobId, nodeId: '' });
      }
    };
    const finish = (status: JobStatus, errors: WorkflowIssue[]): RunResult => {
      result.status = status;
      result.errors = errors;
      result.seconds = (performance.now() - started) / 1000;
      emit({ type: 'job_done', jobId, status, seconds: result.seconds, ...(errors[0] !== undefined ? { error: errors[0] } : {}) });
      return result;
    };

    const applied = applyOverrides(workflow, options.overrides);
    const issues = applied.issues.length > 0 ? applied.issues : this.validate(applied.workflow);
    if (issues.length > 0) return finish('error', issues);

    const { graph } = compileWorkflow(applied.workflow, this.registry);
    const requested = options.outputs ?? graph.outputNodes;
    const unknown = requested.filter((id) => !graph.nodes.has(id));
    if (unknown.length > 0) {
      return finish('error', unknown.map((id) => ({ code: 'UNKNOWN_OUTPUT', node: id, message: `requested output "${id}" is not an active node of the workflow` })));
    }
    if (requested.length === 0) return finish('error', [{ code: 'NO_OUTPUT_NODE', message: 'no outputs were requested' }]);
    let plan: Plan;
    try {
      plan = planRun(graph, requested, { fileStamp: (value) => this.fileStamp(value) });
    } catch (error) {
      return finish('error', [{ code: errorCode(error, 'PLAN_FAILED'), message: errorMessage(error) }]);
    }

    const job: Job = {
      id: jobId,
      signal: options.signal ?? new AbortController().signal,
      emit,
      workflow: applied.workflow,
      graph,
      plan,
      outputDir: path.resolve(options.outputDir ?? path.join(this.options.dataDir ?? 'data', 'outputs', jobId)),
      values: new Map(),
      pending: new Map(),
      produced: new WeakSet(),
      refs: new Map(),
      pinned: [],
      requested: new Set(requested),
    };
    for (const held of plan.holds.values()) for (const id of held) job.pending.set(id, (job.pending.get(id) ?? 0) + 1);

    emit({ type: 'job_started', jobId, nodes: plan.order });
    let current: CompiledNode | undefined;
    try {
      for (const id of plan.order) {
        if (job.signal.aborted) throw new CancelledError();
        current = graph.nodes.get(id)!;
        await this.runNode(job, current, result);
        current = undefined; // a cancellation between nodes belongs to no node
        for (const held of plan.holds.get(id) ?? []) {
          const left = job.pending.get(held)! - 1;
          job.pending.set(held, left);
          if (left === 0 && !job.requested.has(held)) this.release(job, held);
        }
      }
      // Values handed back in the result now belong to the caller.
      for (const id of job.requested) job.values.delete(id);
      return finish('ok', []);
    } catch (error) {
      for (const id of job.requested) delete result.outputs[id];
      const failure = error instanceof NodeFailure ? error : new NodeFailure(current?.id ?? '', current?.type ?? '', error);
      // Whatever a node throws once the job is cancelled (CancelledError, an AbortError, ...) is the cancellation.
      if (job.signal.aborted || failure.error instanceof CancelledError) {
        const message = failure.error instanceof CancelledError ? failure.error.message : new CancelledError().message;
        return finish('cancelled', [{ code: 'CANCELLED', ...(failure.nodeId !== '' ? { node: failure.nodeId } : {}), message }]);
      }
      const code = errorCode(failure.error, 'NODE_FAILED');
      const message = errorMessage(failure.error);
      if (process.env.KOSMOS_G_DEBUG && failure.error instanceof Error && !(failure.error instanceof KosmosError)) {
        this.logLine('error', failure.error.stack ?? message, { jobId, nodeId: failure.nodeId });
      }
      emit({ type: 'node_error', jobId, nodeId: failure.nodeId, nodeType: failure.nodeType, code, message });
      return finish('error', [{ code, node: failure.nodeId, message }]);
    } finally {
      for (const id of [...job.values.keys()]) this.release(job, id);
      for (const key of job.pinned) this.cache.unpin(key);
      if (job.scratch !== undefined) {
        const dir = await job.scratch.catch(() => undefined);
        if (dir !== undefined) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      }
    }
  }

  private async runNode(job: Job, node: CompiledNode, result: RunResult): Promise<void> {
    const key = job.plan.keys.get(node.id)!;
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      this.cache.pin(key);
      job.pinned.push(key);
      this.keep(job, node.id, cached.outputs);
      result.nodes[node.id] = { status: 'cached', seconds: 0 };
      job.emit({ type: 'node_cached', jobId: job.id, nodeId: node.id });
      if (job.requested.has(node.id)) result.outputs[node.id] = outputRecord(cached.files, cached.outputs);
      return;
    }
    job.emit({ type: 'node_started', jobId: job.id, nodeId: node.id, nodeType: node.type });
    const files: OutputFile[] = [];
    const args = this.buildArgs(job, node, (id) => job.values.get(id));
    const ctx = this.context(job, node.id, files);
    const t0 = performance.now();
    const outputs = checkOutputs(node.def, await node.def.execute(args as never, ctx));
    const seconds = (performance.now() - t0) / 1000;
    this.dropMutated(job, node);
    if (node.def.cacheable !== false && this.cache.set(key, outputs, files)) {
      this.cache.pin(key);
      job.pinned.push(key);
    } else {
      for (const v of Object.values(outputs)) if (typeof v === 'object' && v !== null) job.produced.add(v);
    }
    this.keep(job, node.id, outputs);
    result.nodes[node.id] = { status: 'executed', seconds };
    job.emit({ type: 'node_done', jobId: job.id, nodeId: node.id, seconds, ...(files.length > 0 ? { outputs: files } : {}) });
    if (job.requested.has(node.id)) result.outputs[node.id] = outputRecord(files, outputs);
  }

  /** Inputs declared `mutates` were changed in place: their cached source entries no longer match their keys. */
  private dropMutated(job: Job, node: CompiledNode): void {
    for (const [name, link] of Object.entries(node.links)) {
      if (ownValue(node.def.inputs, name)?.mutates !== true) continue;
      const key = job.plan.keys.get(link.node);
      if (key !== undefined) this.cache.drop(key);
    }
  }

  /**
   * The arguments of `execute`: widget values, linked values and recompute functions, by name. A lazy input gets a
   * function: `lazyOf` builds it inside a recompute region (computing the source on the first call); in the main
   * order the source has run already and the function resolves to its value.
   */
  private buildArgs(
    job: Job,
    node: CompiledNode,
    valuesOf: (id: string) => Record<string, unknown> | undefined,
    lazyOf?: (link: Link) => Lazy,
  ): Record<string, unknown> {
    const args: Record<string, unknown> = { ...node.widgets };
    for (const [name, link] of Object.entries(node.links)) {
      if (ownValue(node.def.inputs, name)?.lazy === true && lazyOf !== undefined) {
        args[name] = lazyOf(link);
        continue;
      }
      if (ownValue(node.def.inputs, name)?.recompute === true) {
        const region = job.plan.regions.get(node.id)?.get(name);
        if (region === undefined) {
          throw new KosmosError('RECOMPUTE_NESTED', `node "${node.id}": recompute input "${name}" inside another recompute region is not supported`);
        }
        args[name] = this.recompute(job, region, node.id);
        continue;
      }
      const values = valuesOf(link.node);
      if (values === undefined) throw new Error(`engine: value of "${link.node}" was released before "${node.id}" ran`);
      const value = ownValue(values, link.output);
      args[name] = ownValue(node.def.inputs, name)?.lazy === true ? async () => value : value;
    }
    this.resolvePathArgs(node, args);
    return args;
  }

  /**
   * PATH arguments become absolute (resolvePathWidget) and pass checkPath again here, with the value the node will
   * use: a path that arrives through a link, or a folder that became a symlink since validation, is refused too.
   */
  private resolvePathArgs(node: CompiledNode, args: Record<string, unknown>): void {
    for (const [name, spec] of Object.entries(node.def.widgets)) {
      if (spec.kind !== 'PATH') continue;
      const value = args[name];
      if (typeof value !== 'string' || value === '') continue;
      const absolute = this.resolvePathWidget(value);
      const refused = this.options.checkPath?.(absolute, spec.mode);
      if (refused !== undefined) throw new KosmosError('PATH_FORBIDDEN', `node "${node.id}" ${name}: ${refused}`, { exitCode: 1 });
      args[name] = absolute;
    }
  }

  /** The one resolution of a PATH widget value, for checking and for use alike. */
  private resolvePathWidget(value: string): string {
    return path.resolve(this.options.baseDir ?? process.cwd(), value);
  }

  /**
   * The function a `recompute` input receives: re-run the per-step region with ctx.step set. Nodes run on demand
   * from the source, one at a time in dependency order; a node reached only through lazy inputs runs when one of
   * them is called, so a mix that trains on one data set per step loads and builds only that one.
   */
  private recompute(job: Job, region: RecomputeRegion, owner: string): (step: StepInfo) => Promise<unknown> {
    const members = new Set(region.nodes);
    return async (step: StepInfo) => {
      if (job.signal.aborted) throw new CancelledError();
      if (region.nodes.length === 0) return job.values.get(region.source.node)?.[region.source.output];
      // Values computed inside a region belong to the caller (a training step disposes them under its own scope).
      const local = new Map<string, Promise<Record<string, unknown>>>();
      const run = (id: string): Promise<Record<string, unknown>> => {
        let pending = local.get(id);
        if (pending === undefined) {
          pending = this.runInRegion(job, id, members, run, step, owner);
          local.set(id, pending);
        }
        return pending;
      };
      return (await run(region.source.node))[region.source.output];
    };
  }

  /** One node of a recompute region: its eager in-region inputs first (in link order), then the node itself. */
  private async runInRegion(
    job: Job,
    id: string,
    members: ReadonlySet<string>,
    run: (id: string) => Promise<Record<string, unknown>>,
    step: StepInfo,
    owner: string,
  ): Promise<Record<string, unknown>> {
    const node = job.graph.nodes.get(id)!;
    const ready = new Map<string, Record<string, unknown>>();
    for (const [name, link] of Object.entries(node.links)) {
      if (members.has(link.node) && ownValue(node.def.inputs, name)?.lazy !== true) ready.set(link.node, await run(link.node));
    }
    if (job.signal.aborted) throw new CancelledError();
    try {
      const lazyOf = (link: Link): Lazy => async () => {
        const values = members.has(link.node) ? await run(link.node) : job.values.get(link.node);
        if (values === undefined) throw new Error(`engine: value of "${link.node}" was released before "${id}" ran`);
        return ownValue(values, link.output);
      };
      const args = this.buildArgs(job, node, (dep) => ready.get(dep) ?? job.values.get(dep), lazyOf);
      const files: OutputFile[] = [];
      const outputs = checkOutputs(node.def, await node.def.execute(args as never, this.context(job, id, files, step)));
      if (files.length > 0) job.emit({ type: 'node_done', jobId: job.id, nodeId: owner, seconds: 0, outputs: files });
      return outputs;
    } catch (error) {
      if (error instanceof NodeFailure) throw error;
      throw new NodeFailure(id, node.type, error);
    }
  }

  private context(job: Job, nodeId: string, files: OutputFile[], step?: StepInfo): NodeContext {
    return nodeContext(job, nodeId, files, (level, message, where) => this.logLine(level, message, where), step);
  }

  private keep(job: Job, id: string, outputs: Record<string, unknown>): void {
    job.values.set(id, outputs);
    for (const v of Object.values(outputs)) if (typeof v === 'object' && v !== null) job.refs.set(v, (job.refs.get(v) ?? 0) + 1);
  }

  /** Drop the job's hold on a node's values; dispose those the job produced that nobody else holds. */
  private release(job: Job, id: string): void {
    const outputs = job.values.get(id);
    if (outputs === undefined) return;
    job.values.delete(id);
    for (const v of Object.values(outputs)) {
      if (typeof v !== 'object' || v === null) continue;
      const left = (job.refs.get(v) ?? 1) - 1;
      if (left > 0) {
        job.refs.set(v, left);
        continue;
      }
      job.refs.delete(v);
      if (job.produced.has(v) && !this.cache.holds(v)) disposeValue(v);
    }
  }

  /** Size and modification time of the file (or folder) a PATH widget names, for its node's cache key. */
  private fileStamp(value: string): string | undefined {
    try {
      const info = statSync(this.resolvePathWidget(value));
      return `${info.size}:${info.mtimeMs}`;
    } catch {
      return undefined;
    }
  }

  /** PATH widgets in 'read' mode must name an existing file; the checkPath hook may refuse any path. */
  private pathIssues(wf: Workflow): WorkflowIssue[] {
    const issues: WorkflowIssue[] = [];
    const base = this.options.baseDir ?? process.cwd();
    for (const node of wf.nodes) {
      if ((node.mode ?? 'active') !== 'active') continue;
      const def = this.registry.get(node.type);
      if (def === undefined) continue;
      for (const [name, spec] of Object.entries(def.widgets)) {
        if (spec.kind !== 'PATH' || ownValue(node.inputs, name) !== undefined) continue;
        const value = ownValue(node.widgets, name) ?? spec.default;
        if (typeof value !== 'string' || value === '') continue;
        const absolute = this.resolvePathWidget(value);
        const refused = this.options.checkPath?.(absolute, spec.mode);
        if (refused !== undefined) issues.push({ code: 'PATH_FORBIDDEN', node: node.id, input: name, message: refused });
        else if (spec.mode === 'read' && !existsSync(absolute)) {
          issues.push({ code: 'PATH_NOT_FOUND', node: node.id, input: name, message: `file "${value}" does not exist (looked in ${base})` });
        }
      }
    }
    return issues;
  }

  private logLine(level: 'info' | 'warn' | 'error', message: string, where: { jobId: string; nodeId: string }): void {
    if (this.options.log !== undefined) {
      this.options.log(level, message, where);
      return;
    }
    process.stderr.write(`[${where.nodeId || where.jobId.slice(0, 8)}] ${level}: ${message}\n`);
  }
}

function outputRecord(files: OutputFile[], values: Record<string, unknown>): { files: OutputFile[]; values?: Record<string, unknown> } {
  return Object.keys(values).length > 0 ? { files, values } : { files };
}

/** A node must return an object with every declared output. */
function checkOutputs(def: AnyNodeDefinition, outputs: unknown): Record<string, unknown> {
  if ((outputs === undefined || outputs === null) && Object.keys(def.outputs).length === 0) return {};
  if (typeof outputs !== 'object' || outputs === null) {
    throw new KosmosError('NODE_OUTPUT_MISSING', `${def.type} returned ${outputs === null ? 'null' : typeof outputs} instead of its outputs`, { exitCode: 1 });
  }
  const missing = Object.keys(def.outputs).filter((name) => !Object.hasOwn(outputs, name));
  if (missing.length > 0) {
    throw new KosmosError('NODE_OUTPUT_MISSING', `${def.type} did not return output(s) ${missing.join(', ')}`, { exitCode: 1 });
  }
  return outputs as Record<string, unknown>;
}
