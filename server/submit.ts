// Turning a request body into a checked workflow: schema first (parseWorkflow), then validation against the
// registry. Used by POST /prompt and POST /api/validate.
import type { ServerContext } from './context.ts';
import type { WorkflowIssue } from './engine-port.ts';
import { HttpError } from './errors.ts';
import { fromApiPrompt, toNodeErrors } from './comfy-format.ts';
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface Checked {
  workflow: unknown;
  issues: WorkflowIssue[];
  nodeErrors: Record<string, unknown>;
}

/** Accepts `{workflow}` (our format) or `{prompt}` (ComfyUI API format). Schema errors throw HttpError 400. */
export function checkSubmission(ctx: ServerContext, body: unknown): Checked {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'BAD_REQUEST', 'body: expected a JSON object with "workflow" or "prompt"');
  }
  const b = body as { workflow?: unknown; prompt?: unknown };
  const nodes = nodeCount(b);
  if (nodes > ctx.limits.maxNodes) {
    throw new HttpError(413, 'WORKFLOW_TOO_LARGE', `the workflow has ${nodes} nodes; this server takes at most ${ctx.limits.maxNodes}`);
  }
  let raw: unknown;
  if (b.workflow !== undefined) raw = b.workflow;
  else if (b.prompt !== undefined) raw = fromApiPrompt(b.prompt, ctx.engine.nodeTypes(), uploadedFile(ctx.uploadsDir));
  else throw new HttpError(400, 'BAD_REQUEST', 'body: expected "workflow" (kosmos-g format) or "prompt" (ComfyUI API format)');
  let workflow: unknown;
  try {
    workflow = ctx.engine.parseWorkflow(raw);
  } catch (err) {
    const e = err as { code?: string; message?: string; issues?: WorkflowIssue[] };
    if (typeof e.code !== 'string') throw err;
    throw new HttpError(400, e.code, e.message ?? 'workflow does not match the schema', { issues: e.issues ?? [] });
  }
  const issues = ctx.engine.validate(workflow);
  const types = new Map(
    ((workflow as { nodes?: { id: string; type: string }[] }).nodes ?? []).map((n) => [String(n.id), n.type] as const),
  );
  return { workflow, issues, nodeErrors: toNodeErrors(issues, (id) => types.get(id)) };
}

/** Nodes in either format, counted before anything else looks at them. */
function nodeCount(b: { workflow?: unknown; prompt?: unknown }): number {
  if (b.workflow !== undefined) {
    const nodes = typeof b.workflow === 'object' && b.workflow !== null ? (b.workflow as { nodes?: unknown }).nodes : undefined;
    return Array.isArray(nodes) ? nodes.length : 0;
  }
  return typeof b.prompt === 'object' && b.prompt !== null ? Object.keys(b.prompt).length : 0;
}

/**
 * ComfyUI clients upload an image and then pass the name it got (`name`, or `subfolder/name`) to LoadImage; our
 * PATH widgets take a path. A value that is no existing path relative to the working directory but names a file in
 * the upload folder becomes that file's path (relative to the working directory when inside it, like the upload
 * route's `path`). Only plain relative names qualify; the path policy still checks the result.
 */
function uploadedFile(uploadsDir: string): (value: string) => string | undefined {
  return (value) => {
    const parts = value.split('/');
    if (parts.some((p) => p === '' || p.startsWith('.') || p.includes('\\') || p.includes('\0'))) return undefined;
    if (existsSync(value)) return undefined;
    const file = path.join(uploadsDir, ...parts);
    if (!existsSync(file)) return undefined;
    const rel = path.relative(process.cwd(), file);
    return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel.split(path.sep).join('/');
  };
}
