// What the server needs from the engine, as a narrow port: serve.ts fills it from engine/index.ts (Registry,
// parseWorkflow, Executor); unit tests of server pieces may pass a stand-in. The shapes mirror the engine's API.
import type { OutputFile } from '../engine/node-def.ts';

export interface WorkflowIssue {
  code: string;
  message: string;
  node?: string;
  input?: string;
  path?: string;
}

export type EngineEvent =
  | { type: 'job_started'; jobId: string; nodes: string[] }
  | { type: 'node_started'; jobId: string; nodeId: string; nodeType: string }
  | {
      type: 'node_progress';
      jobId: string;
      nodeId: string;
      value: number;
      max: number;
      metrics?: Record<string, number>;
      preview?: { mime: string; data: Uint8Array };
    }
  | { type: 'node_cached'; jobId: string; nodeId: string }
  | { type: 'node_done'; jobId: string; nodeId: string; seconds: number; outputs?: OutputFile[] }
  | { type: 'node_error'; jobId: string; nodeId: string; nodeType: string; code: string; message: string }
  | { type: 'job_done'; jobId: string; status: 'ok' | 'error' | 'cancelled'; seconds: number; error?: WorkflowIssue };

export interface RunResultLike {
  jobId: string;
  status: 'ok' | 'error' | 'cancelled';
  outputs: Record<string, { files: OutputFile[]; values?: Record<string, unknown> }>;
  errors: WorkflowIssue[];
  seconds: number;
}

/** The catalogue as the engine serialises it; the server only relies on these fields. */
export interface CatalogueNode {
  type: string;
  category: string;
  description: string;
  inputs: Record<string, { type: string; optional?: boolean; description?: string }> | { name: string; type: string; optional?: boolean }[];
  widgets: Record<string, { kind: string; default?: unknown; options?: readonly string[]; [k: string]: unknown }> | ({ name: string; kind: string } & Record<string, unknown>)[];
  outputs: Record<string, { type: string }> | { name: string; type: string }[];
  output?: boolean;
}

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

function entries<T extends object>(v: Record<string, T> | (T & { name: string })[] | undefined): (T & { name: string })[] {
  if (!v) return [];
  if (Array.isArray(v)) return v;
  return Object.entries(v).map(([name, spec]) => ({ ...spec, name }));
}

/** Accepts a catalogue whose inputs/widgets/outputs are keyed objects or named arrays. */
export function normaliseCatalogue(catalogue: unknown): NormalisedNode[] {
  const c = catalogue as { nodes?: unknown } | unknown[];
  const list: CatalogueNode[] = Array.isArray(c)
    ? (c as CatalogueNode[])
    : Array.isArray((c as { nodes?: unknown }).nodes)
      ? ((c as { nodes: CatalogueNode[] }).nodes)
      : Object.entries((c as { nodes?: Record<string, CatalogueNode> }).nodes ?? (c as Record<string, CatalogueNode>)).map(
          ([type, n]) => ({ ...n, type: n.type ?? type }),
        );
  return list.map((n) => ({
    type: n.type,
    category: n.category ?? '',
    description: n.description ?? '',
    output: Boolean(n.output),
    inputs: entries(n.inputs as Record<string, { type: string; optional?: boolean }>).map((i) => ({
      name: i.name,
      type: i.type,
      optional: Boolean(i.optional),
    })),
    widgets: entries(n.widgets as Record<string, { kind: string }>) as ({ name: string; kind: string } & Record<string, unknown>)[],
    outputs: entries(n.outputs as Record<string, { type: string }>).map((o) => ({ name: o.name, type: o.type })),
  }));
}
