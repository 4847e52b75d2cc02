// What the server needs from the engine, as a narrow port: serve.ts fills it from engine/index.ts (Registry,
// parseWorkflow, Executor); unit tests of server pieces may pass a stand-in. The value shapes are the engine's own
// (engine/errors.ts, engine/events.ts, engine/registry.ts), re-exported here, never redeclared.
import type { WorkflowIssue } from '../engine/errors.ts';
import type { EngineEvent, RunResult } from '../engine/events.ts';
import type { Catalogue } from '../engine/registry.ts';

export type { EngineEvent, WorkflowIssue };

/** What the server reads from a run's result. */
export type RunResultLike = Pick<RunResult, 'jobId' | 'status' | 'outputs' | 'errors' | 'seconds'>;

export interface EnginePort {
  /** JSON-serialisable node catalogue (GET /api/nodes). */
  catalogue(): unknown;
  /** The catalogue's node list, normalised to arrays of named entries. */
  nodeTypes(): NormalisedNode[];
  /** Schema check; throws an error with a `code` (WORKFLOW_*) and `issues` on bad input. */
  parseWorkflow(raw: unknown): unknown;
  validate(workflow: unknown): WorkflowIssue[];
  run(
    workflow: unknown,
    options: { jobId: string; signal: AbortSignal; onEvent: (e: EngineEvent) => void; outputDir: string },
  ): Promise<RunResultLike>;
  loadErrors(): { pack: string; message: string }[];
  /** A valid workflow in ComfyUI's API format (comfy-export.ts); the caller validates first. */
  toApiPrompt(workflow: unknown): unknown;
  /** Frees cached values (loaded models among them) and what node packs hold open (ONNX sessions): POST /free. */
  free(): Promise<FreeReport>;
}

/** What POST /free released. */
export interface FreeReport {
  cacheEntries: number;
  cacheBytes: number;
  packHooks: number;
  errors: string[];
}

export interface NormalisedNode {
  type: string;
  category: string;
  description: string;
  output: boolean;
  inputs: { name: string; type: string; optional: boolean }[];
  widgets: ({ name: string; kind: string } & Record<string, unknown>)[];
  outputs: { name: string; type: string }[];
}

/** The registry's catalogue (keyed inputs/widgets/outputs) as named lists, the shape the editor and ComfyUI routes use. */
export function normaliseCatalogue(catalogue: Pick<Catalogue, 'nodes'>): NormalisedNode[] {
  return catalogue.nodes.map((n) => ({
    type: n.type,
    category: n.category,
    description: n.description,
    output: n.output === true,
    inputs: Object.entries(n.inputs).map(([name, i]) => ({ name, type: i.type, optional: i.optional === true })),
    widgets: Object.entries(n.widgets).map(([name, w]) => ({ ...w, name })),
    outputs: Object.entries(n.outputs).map(([name, o]) => ({ name, type: o.type })),
  }));
}
