// The workflow file format: one versioned JSON document holding what the editor needs (positions, sizes,
// groups) and what execution needs (node types, named widget values, links by name). The zod schema below is
// the single source of truth: TypeScript types are inferred from it and workflows/workflow.schema.json is
// generated from it (scripts/gen-schema.ts).
import { z } from 'zod';
import { KosmosError, type WorkflowIssue } from './errors.ts';
import { CURRENT_VERSION, migrateWorkflow } from './migrate.ts';
import { reservedNameIssues } from './reserved-names.ts';

export const WORKFLOW_FORMAT = 'kosmos-g/workflow';
export { CURRENT_VERSION };

/** Bounds that keep a hostile or broken file from exhausting memory or the stack. */
export const LIMITS = {
  maxBytes: 64 * 1024 * 1024,
  maxDepth: 64,
  maxNodes: 100_000,
  maxStringLength: 1_000_000,
} as const;

/** Node ids are short and never contain '.', so `NODE_ID.INPUT` override keys split unambiguously. */
const NodeId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a node id is 1–64 letters, digits, "_" or "-"');
const Name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'a name is a letter or "_" then letters, digits or "_"');
const Finite = z.number();
const Text = z.string().max(LIMITS.maxStringLength);

export const LinkSchema = z.strictObject({
  node: NodeId.describe('id of the node producing the value'),
  output: Name.describe('name of that node\'s output'),
});

export const WidgetValueSchema = z.union([Finite, Text, z.boolean()]);

export const NodeModeSchema = z.enum(['active', 'bypass', 'muted']);

export const WorkflowNodeSchema = z.strictObject({
  id: NodeId,
  type: z.string().min(1).max(128),
  widgets: z.record(Name, WidgetValueSchema).optional().describe('widget values by widget name; absent ones take their defaults'),
  inputs: z.record(Name, LinkSchema).optional().describe('links by input name (a link may also feed a widget)'),
  pos: z.tuple([Finite, Finite]).optional(),
  size: z.tuple([Finite, Finite]).optional(),
  title: Text.optional(),
  mode: NodeModeSchema.optional().describe('active (default), bypass (outputs pass the first input of the same type through) or muted (never runs)'),
  color: z.string().max(64).optional(),
  bgcolor: z.string().max(64).optional(),
  collapsed: z.boolean().optional(),
});

export const GroupSchema = z.strictObject({
  title: Text,
  bounding: z.tuple([Finite, Finite, Finite, Finite]),
  color: z.string().max(64).optional(),
});

export const WorkflowSchema = z.strictObject({
  format: z.literal(WORKFLOW_FORMAT),
  version: z.literal(CURRENT_VERSION),
  nodes: z.array(WorkflowNodeSchema).max(LIMITS.maxNodes),
  groups: z.array(GroupSchema).optional(),
  extra: z.record(z.string(), z.unknown()).optional().describe('editor-only state (view offset, zoom, ...)'),
  meta: z.strictObject({ name: Text.optional(), description: Text.optional() }).optional(),
});

export type Workflow = z.infer<typeof WorkflowSchema>;
export type WorkflowNode = z.infer<typeof WorkflowNodeSchema>;
export type Link = z.infer<typeof LinkSchema>;
export type WidgetValue = z.infer<typeof WidgetValueSchema>;
export type NodeMode = z.infer<typeof NodeModeSchema>;

/** The JSON Schema of the current format (checked in as workflows/workflow.schema.json). */
export function workflowJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(WorkflowSchema) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: 'https://kosmos-g.dev/workflow.schema.json',
    title: 'kosmos-g workflow',
    ...schema,
  };
}

/**
 * Parse, migrate and check a workflow (JSON text or an already-parsed value). `where` names the source (a file
 * path) in messages. Throws a KosmosError (exit code 2) carrying every issue found; codes:
 * WORKFLOW_TOO_LARGE, WORKFLOW_JSON, WORKFLOW_TOO_DEEP, WORKFLOW_FORMAT, WORKFLOW_VERSION, RESERVED_NAME,
 * WORKFLOW_SCHEMA, WORKFLOW_DUPLICATE_ID.
 */
export function parseWorkflow(text: string | unknown, where = 'workflow'): Workflow {
  let raw: unknown = text;
  if (typeof text === 'string') {
    if (text.length > LIMITS.maxBytes) {
      throw fail('WORKFLOW_TOO_LARGE', `${where}: ${text.length} characters exceeds the limit of ${LIMITS.maxBytes}`);
    }
    const depth = jsonTextDepth(text);
    if (depth > LIMITS.maxDepth) {
      throw fail('WORKFLOW_TOO_DEEP', `${where}: nesting deeper than ${LIMITS.maxDepth} levels`);
    }
    try {
      raw = JSON.parse(text);
    } catch (error) {
      throw fail('WORKFLOW_JSON', `${where}: not valid JSON (${(error as Error).message})`);
    }
  } else if (valueDepth(text, LIMITS.maxDepth + 1) > LIMITS.maxDepth) {
    throw fail('WORKFLOW_TOO_DEEP', `${where}: nesting deeper than ${LIMITS.maxDepth} levels`);
  }

  const migrated = migrateWorkflow(raw, where);
  // Before the schema: parsing into plain objects would drop a `__proto__` key silently.
  const reserved = reservedNameIssues(migrated);
  if (reserved.length > 0) {
    throw new KosmosError('RESERVED_NAME', `${where}: ${reserved.length} reserved name(s); first at ${reserved[0]!.path}: ${reserved[0]!.message}`, { issues: reserved });
  }
  const result = WorkflowSchema.safeParse(migrated);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => schemaIssue(issue, migrated));
    const first = issues[0]!;
    throw new KosmosError('WORKFLOW_SCHEMA', `${where}: ${issues.length} schema error(s); first at ${first.path || '(root)'}: ${first.message}`, { issues });
  }
  const duplicates = duplicateIdIssues(result.data);
  if (duplicates.length > 0) {
    throw new KosmosError('WORKFLOW_DUPLICATE_ID', `${where}: ${duplicates[0]!.message}`, { issues: duplicates });
  }
  return result.data;
}

export function duplicateIdIssues(wf: Workflow): WorkflowIssue[] {
  const seen = new Set<string>();
  const issues: WorkflowIssue[] = [];
  wf.nodes.forEach((node, index) => {
    if (seen.has(node.id)) {
      issues.push({ code: 'WORKFLOW_DUPLICATE_ID', node: node.id, path: `nodes[${index}].id`, message: `node id "${node.id}" is used more than once` });
    }
    seen.add(node.id);
  });
  return issues;
}

function fail(code: string, message: string): KosmosError {
  return new KosmosError(code, message, { issues: [{ code, message, path: '' }] });
}

function schemaIssue(issue: z.core.$ZodIssue, raw: unknown): WorkflowIssue {
  const path = formatPath(issue.path);
  const out: WorkflowIssue = { code: 'WORKFLOW_SCHEMA', path, message: issue.message };
  // Name the node (and its input/widget) when the problem sits inside one.
  if (issue.path[0] === 'nodes' && typeof issue.path[1] === 'number') {
    const node = (raw as { nodes?: unknown[] }).nodes?.[issue.path[1]];
    const id = typeof node === 'object' && node !== null ? (node as { id?: unknown }).id : undefined;
    if (typeof id === 'string' || typeof id === 'number') out.node = String(id);
    if ((issue.path[2] === 'widgets' || issue.path[2] === 'inputs') && typeof issue.path[3] === 'string') out.input = issue.path[3];
  }
  if (issue.code === 'unrecognized_keys') out.message = `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return out;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** Maximum bracket nesting of JSON text, ignoring brackets inside strings; stops counting far past the limit. */
function jsonTextDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 125 || c === 93) depth--;
  }
  return max;
}

function valueDepth(value: unknown, limit: number): number {
  if (typeof value !== 'object' || value === null) return 0;
  if (limit <= 0) return 1;
  let max = 0;
  for (const child of Object.values(value)) {
    const d = valueDepth(child, limit - 1);
    if (d > max) max = d;
    if (max >= limit) break;
  }
  return max + 1;
}
