// The one way to define a node. A node is a single declaration: its type name, category, description, typed
// input sockets, widgets, typed outputs and a stateless `execute`. The catalogue (editor palette, `kosmos-g nodes`),
// validation and the docs are all derived from this declaration; nothing about a node is written twice.

import type { BudgetUse } from './budgets.ts';

/** Widgets are the values a user sets on a node. Their names share one namespace with the node's inputs. */
export type WidgetSpec =
  | { kind: 'INT'; default: number; min?: number; max?: number; step?: number; description?: string }
  | { kind: 'FLOAT'; default: number; min?: number; max?: number; step?: number; description?: string }
  | { kind: 'STRING'; default: string; multiline?: boolean; description?: string }
  | { kind: 'BOOLEAN'; default: boolean; description?: string }
  | { kind: 'ENUM'; options: readonly string[]; default: string; description?: string }
  /** A random seed: an integer in [0, 2^53), shown with a "randomize" control in the editor. */
  | { kind: 'SEED'; default: number; description?: string }
  /** A file path. `mode: 'read'` files must exist at validation time (checked by the executor's path policy). */
  | { kind: 'PATH'; default: string; mode: 'read' | 'write'; extensions?: readonly string[]; description?: string };

export type WidgetKind = WidgetSpec['kind'];

/** A typed input socket. `type` is a socket type name such as IMAGE, LATENT, CONDITIONING or MLLM. */
export interface InputSpec {
  type: string;
  optional?: boolean;
  description?: string;
  /**
   * Training loops re-run part of the graph every step. A `recompute` input is not passed as a value: execute
   * receives a `Recompute` function that re-executes the input's upstream region (nodes depending on a
   * `perStep` node are re-run, everything else comes from the cache) and resolves to the fresh value.
   */
  recompute?: boolean;
  /**
   * A node that needs only some of its inputs on a given run (a mix that trains on one data set per step, a
   * switch) declares them `lazy`: execute receives a `Lazy` function and calls it for the inputs it uses. Inside a
   * recompute region an input never called is never computed, nor is anything upstream of it that nothing else
   * needs; in the main order the value is computed beforehand and the function resolves to it.
   */
  lazy?: boolean;
  /**
   * `execute` changes this input's value in place (a training loop updating a model's weights). After the node
   * runs, the engine drops the cache entry that held the value, so a later run builds it afresh instead of
   * reusing the changed one under a key that still describes the original.
   */
  mutates?: boolean;
}

export interface OutputSpec {
  type: string;
  description?: string;
}

/** What a `recompute` input receives: call it once per training step. */
export type Recompute<T = unknown> = (step: StepInfo) => Promise<T>;

/** What a wired `lazy` input receives: call it for the value (an optional input left unwired is undefined). */
export type Lazy<T = unknown> = () => Promise<T>;

export interface StepInfo {
  /** 0-based optimisation step. */
  step: number;
  /** Seed for this step's randomness (derived from the loop's seed and the step, so a resumed run repeats it). */
  seed: number;
}

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Progress within one node: a fraction, or value/max; `preview` is an optional image to show (PNG bytes). */
export interface Progress {
  value: number;
  max: number;
  preview?: { mime: 'image/png'; data: Uint8Array };
  /** Free-form numbers a node streams (training loss, learning rate, ...): the editor plots them. */
  metrics?: Record<string, number>;
}

export interface NodeContext {
  readonly jobId: string;
  readonly nodeId: string;
  /** Aborted when the job is cancelled or interrupted. Long nodes check it between steps. */
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** Report progress; throws a CancelledError when the job has been cancelled (a free cancellation point). */
  progress(p: Progress): void;
  /** Throws a CancelledError when the job has been cancelled. */
  throwIfCancelled(): void;
  /** A per-job scratch folder, created on first use and removed with the job's scratch space. */
  scratchDir(): Promise<string>;
  /** The job's output folder (created on first use): output nodes write their files here. */
  outputDir(): Promise<string>;
  /** Record a file this node produced so the CLI, history and `/view` can list it. */
  addOutputFile(file: OutputFile): void;
  /** When this run is a step of a training loop: the step. Per-step nodes read it. */
  readonly step?: StepInfo;
  /**
   * The workflow being run (as parsed, with the run's overrides applied), so output nodes can embed it in what
   * they write (SaveImage puts it in the PNG so that dropping the image into the editor restores the graph).
   */
  readonly workflow?: unknown;
}

export interface OutputFile {
  /** Absolute path of the file inside the job's output folder. */
  path: string;
  kind: 'image' | 'tensor' | 'checkpoint' | 'json' | 'other';
  mime?: string;
}

/** Maps socket and widget type names to TypeScript types. Packs extend it with declaration merging. */
export interface SocketTypes {
  INT: number;
  FLOAT: number;
  STRING: string;
  BOOLEAN: boolean;
  SEED: number;
  PATH: string;
  ENUM: string;
}

type ValueOfSocket<S extends string> = S extends keyof SocketTypes ? SocketTypes[S] : unknown;

type WidgetValue<W extends WidgetSpec> = W['kind'] extends 'BOOLEAN'
  ? boolean
  : W['kind'] extends 'STRING' | 'ENUM' | 'PATH'
    ? string
    : number;

type InputValue<I extends InputSpec> = I['recompute'] extends true
  ? Recompute<ValueOfSocket<I['type']>>
  : I['lazy'] extends true
    ? I['optional'] extends true
      ? Lazy<ValueOfSocket<I['type']>> | undefined
      : Lazy<ValueOfSocket<I['type']>>
  : I['optional'] extends true
    ? ValueOfSocket<I['type']> | undefined
    : ValueOfSocket<I['type']>;

export type ExecuteArgs<I extends Record<string, InputSpec>, W extends Record<string, WidgetSpec>> = {
  [K in keyof I]: InputValue<I[K]>;
} & { [K in keyof W]: WidgetValue<W[K]> };

export type ExecuteResult<O extends Record<string, OutputSpec>> = { [K in keyof O]: ValueOfSocket<O[K]['type']> };

export interface NodeDefinition<
  I extends Record<string, InputSpec> = Record<string, InputSpec>,
  W extends Record<string, WidgetSpec> = Record<string, WidgetSpec>,
  O extends Record<string, OutputSpec> = Record<string, OutputSpec>,
> {
  /** Public, stable type name, e.g. `KosmosGEncode`. */
  type: string;
  /** Palette path, e.g. `kosmos-g/encode`. */
  category: string;
  description: string;
  inputs: I;
  widgets: W;
  outputs: O;
  /** An output node: a run executes what the output nodes need (SaveImage, PreviewImage, training loops). */
  output?: boolean;
  /**
   * A per-step node (e.g. the next training batch): its value changes every training step, so it and everything
   * downstream of it are re-executed by `Recompute` rather than served from the cache.
   */
  perStep?: boolean;
  /** Nodes with effects outside their outputs (writing files) are still cached unless this is false. */
  cacheable?: boolean;
  /**
   * What the node will allocate, from its widget values (a widget fed by a link is absent) and which inputs are
   * connected: validation refuses amounts above the executor's budgets with BUDGET_EXCEEDED (engine/budgets.ts).
   */
  budget?: (widgets: Partial<{ [K in keyof W]: WidgetValue<W[K]> }>, connected: (input: string) => boolean) => BudgetUse[];
  execute(args: ExecuteArgs<I, W>, ctx: NodeContext): Promise<ExecuteResult<O>> | ExecuteResult<O>;
}

/** The erased form the registry stores. */
export type AnyNodeDefinition = NodeDefinition<Record<string, InputSpec>, Record<string, WidgetSpec>, Record<string, OutputSpec>>;

/**
 * Declare a node. The generic parameters keep `execute`'s argument and result types tied to the declaration.
 */
export function defineNode<
  const I extends Record<string, InputSpec>,
  const W extends Record<string, WidgetSpec>,
  const O extends Record<string, OutputSpec>,
>(def: NodeDefinition<I, W, O>): AnyNodeDefinition {
  return def as unknown as AnyNodeDefinition;
}

/** A node pack: a module whose default export (or `nodes` export) is a list of definitions. */
export interface NodePack {
  name: string;
  nodes: AnyNodeDefinition[];
  /**
   * Frees what the pack holds outside the values flowing through graphs (open ONNX sessions, ...). Called by
   * Executor.freeMemory() (the server's POST /free); must be safe to call at any time, also twice.
   */
  release?: () => void | Promise<void>;
}

export function definePack(name: string, nodes: AnyNodeDefinition[], options: { release?: () => void | Promise<void> } = {}): NodePack {
  return { name, nodes, ...(options.release !== undefined ? { release: options.release } : {}) };
}

/**
 * Values flowing between nodes may hold resources (tensors on a backend, ONNX sessions). The executor calls
 * `dispose` when a value leaves the cache and no running job holds it, and uses `byteSize` for cache limits.
 */
export interface Disposable {
  dispose(): void;
}
export interface Sized {
  byteSize(): number;
}
