// ComfyUI's API ("prompt") format mapped onto our workflow format, and our validation issues mapped back onto
// ComfyUI's `node_errors`. In the API format an input value `[nodeId, outputIndex]` is a link; anything else is a
// widget value. Our nodes' outputs are named, so the index is looked up in the catalogue.
import type { NormalisedNode, WorkflowIssue } from './engine-port.ts';
import { HttpError } from './errors.ts';

export type ApiPrompt = Record<string, { class_type: string; inputs?: Record<string, unknown>; _meta?: { title?: string } }>;

function isLink(v: unknown): v is [string | number, number] {
  return Array.isArray(v) && v.length === 2 && (typeof v[0] === 'string' || typeof v[0] === 'number') && Number.isInteger(v[1]);
}

/**
 * Converts `{id: {class_type, inputs}}`; unknown types and outputs are left for validation to report.
 * `uploadedFile` maps the value of a reading PATH widget to a file path when the value names an upload the ComfyUI
 * way (`name` or `subfolder/name` inside the upload folder, as ComfyUI's LoadImage takes it); else undefined.
 */
export function fromApiPrompt(prompt: unknown, nodes: NormalisedNode[], uploadedFile?: (value: string) => string | undefined): Record<string, unknown> {
  if (typeof prompt !== 'object' || prompt === null || Array.isArray(prompt)) {
    throw new HttpError(400, 'WORKFLOW_SCHEMA', 'prompt: expected an object {nodeId: {class_type, inputs}}');
  }
  const byType = new Map(nodes.map((n) => [n.type, n]));
  const entries = Object.entries(prompt as Record<string, unknown>);
  const out = entries.map(([id, raw], i) => {
    const node = raw as { class_type?: unknown; inputs?: unknown; _meta?: { title?: unknown } };
    if (typeof node !== 'object' || node === null || typeof node.class_type !== 'string') {
      throw new HttpError(400, 'WORKFLOW_SCHEMA', `prompt.${id}: expected {class_type: string, inputs: object}`);
    }
    if (node.inputs !== undefined && (typeof node.inputs !== 'object' || node.inputs === null || Array.isArray(node.inputs))) {
      throw new HttpError(400, 'WORKFLOW_SCHEMA', `prompt.${id}.inputs: expected an object`);
    }
    const def = byType.get(node.class_type);
    // Collected as entries and built with Object.fromEntries, which defines own keys: a `__proto__` input name
    // stays a key (for the engine to refuse as RESERVED_NAME) instead of setting the record's prototype.
    const widgets: [string, unknown][] = [];
    const inputs: [string, { node: string; output: string }][] = [];
    for (const [name, value] of Object.entries((node.inputs ?? {}) as Record<string, unknown>)) {
      if (isLink(value)) {
        const source = Object.hasOwn(prompt, String(value[0])) ? (prompt as ApiPrompt)[String(value[0])] : undefined;
        const sourceDef = source ? byType.get(source.class_type) : undefined;
        const output = sourceDef?.outputs[value[1]]?.name ?? `_output_${value[1]}`;
        inputs.push([name, { node: String(value[0]), output }]);
      } else {
        const widget = def?.widgets.find((w) => w.name === name);
        const readsPath = widget?.kind === 'PATH' && (widget.mode ?? 'read') === 'read';
        widgets.push([name, readsPath && typeof value === 'string' && uploadedFile ? (uploadedFile(value) ?? value) : value]);
      }
    }
    const entry: Record<string, unknown> = {
      id,
      type: node.class_type,
      widgets: Object.fromEntries(widgets),
      inputs: Object.fromEntries(inputs),
      pos: [40 + (i % 4) * 340, 40 + Math.floor(i / 4) * 260],
      size: [300, Math.max(80, 30 + 24 * ((def?.widgets.length ?? 0) + (def?.inputs.length ?? 0)))],
    };
    if (typeof node._meta?.title === 'string') entry.title = node._meta.title;
    return entry;
  });
  return { format: 'kosmos-g/workflow', version: 1, nodes: out };
}

/** One node to export: its links already resolved (bypassed nodes skipped, muted ones dropped) and widgets filled. */
export interface ExportNode {
  id: string;
  type: string;
  title?: string;
  widgets: Record<string, unknown>;
  links: Record<string, { node: string; output: string }>;
}

/**
 * Our graph in ComfyUI's API format, the inverse of fromApiPrompt: `{id: {class_type, inputs, _meta}}` with each
 * link as `[nodeId, outputIndex]`, the index being the output's position in the node's declaration (as
 * /object_info lists them). Built with own keys throughout.
 */
export function toApiPrompt(nodes: ExportNode[], catalogue: NormalisedNode[]): ApiPrompt {
  const byType = new Map(catalogue.map((n) => [n.type, n]));
  const typeOf = new Map(nodes.map((n) => [n.id, n.type]));
  const outputIndex = (link: { node: string; output: string }): number => {
    const index = byType.get(typeOf.get(link.node) ?? '')?.outputs.findIndex((o) => o.name === link.output) ?? -1;
    if (index < 0) throw new HttpError(400, 'LINK_MISSING_OUTPUT', `node "${link.node}" has no output "${link.output}"`);
    return index;
  };
  return Object.fromEntries(
    nodes.map((n) => {
      const inputs = Object.fromEntries([
        ...Object.entries(n.widgets),
        ...Object.entries(n.links).map(([name, link]) => [name, [link.node, outputIndex(link)]] as const),
      ]);
      return [n.id, { class_type: n.type, inputs, _meta: { title: n.title ?? n.type } }] as const;
    }),
  );
}

/** ComfyUI's node_errors: {nodeId: {errors: [{type, message, details, extra_info}], dependent_outputs, class_type}}. */
export function toNodeErrors(issues: WorkflowIssue[], typeOf: (nodeId: string) => string | undefined): Record<string, unknown> {
  // A Map, then Object.fromEntries (own keys): no node id can reach an inherited member.
  const out = new Map<string, { errors: unknown[]; dependent_outputs: string[]; class_type: string | null }>();
  for (const issue of issues) {
    if (!issue.node) continue;
    let entry = out.get(issue.node);
    if (entry === undefined) out.set(issue.node, (entry = { errors: [], dependent_outputs: [], class_type: typeOf(issue.node) ?? null }));
    entry.errors.push({
      type: issue.code,
      message: issue.message,
      details: issue.input ? `${issue.input}: ${issue.message}` : issue.message,
      extra_info: issue.input ? { input_name: issue.input } : {},
    });
  }
  return Object.fromEntries(out);
}

/** Our widget kinds as ComfyUI's object_info input specs. */
export function toObjectInfo(nodes: NormalisedNode[]): Record<string, unknown> {
  const info: Record<string, unknown> = {};
  for (const n of nodes) {
    const required: Record<string, unknown> = {};
    const optional: Record<string, unknown> = {};
    for (const w of n.widgets) required[w.name] = widgetSpec(w);
    for (const i of n.inputs) (i.optional ? optional : required)[i.name] = [i.type, {}];
    info[n.type] = {
      input: { required, optional },
      input_order: { required: Object.keys(required), optional: Object.keys(optional) },
      output: n.outputs.map((o) => o.type),
      output_is_list: n.outputs.map(() => false),
      output_name: n.outputs.map((o) => o.name),
      name: n.type,
      display_name: n.type,
      description: n.description,
      python_module: 'kosmos-g',
      category: n.category,
      output_node: n.output,
    };
  }
  return info;
}

function widgetSpec(w: { kind: string } & Record<string, unknown>): unknown[] {
  const pick = (...keys: string[]) => Object.fromEntries(keys.filter((k) => w[k] !== undefined).map((k) => [k, w[k]]));
  switch (w.kind) {
    case 'INT':
    case 'FLOAT':
      return [w.kind, pick('default', 'min', 'max', 'step', 'description')];
    case 'STRING':
      return ['STRING', pick('default', 'multiline', 'description')];
    case 'BOOLEAN':
      return ['BOOLEAN', pick('default', 'description')];
    case 'ENUM':
      return [w.options ?? [], pick('default', 'description')];
    case 'SEED':
      return ['INT', { ...pick('default', 'description'), min: 0, max: Number.MAX_SAFE_INTEGER, control_after_generate: true }];
    case 'PATH':
      return ['STRING', { ...pick('default', 'description', 'extensions'), kosmos_path: w.mode ?? 'read' }];
    default:
      return [w.kind, pick('default')];
  }
}
