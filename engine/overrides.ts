// Run-time overrides: `"NODE_ID.INPUT": value` pairs (CLI --set, --batch lines, HTTP requests) written into a
// copy of the workflow's widget values before validation, so a bad override is reported like a bad widget.
import type { WidgetValue, Workflow } from './format.ts';
import type { WorkflowIssue } from './errors.ts';
import { isReservedName } from './reserved-names.ts';

export type Overrides = Record<string, unknown>;

export function applyOverrides(workflow: Workflow, overrides: Overrides | undefined): { workflow: Workflow; issues: WorkflowIssue[] } {
  if (overrides === undefined || Object.keys(overrides).length === 0) return { workflow, issues: [] };
  const issues: WorkflowIssue[] = [];
  const nodes = workflow.nodes.map((n) => ({ ...n, widgets: { ...(n.widgets ?? {}) } }));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const [key, value] of Object.entries(overrides)) {
    const dot = key.indexOf('.');
    if (dot <= 0 || dot === key.length - 1) {
      issues.push({ code: 'OVERRIDE_KEY', path: key, message: `override "${key}" must have the form NODE_ID.INPUT` });
      continue;
    }
    const nodeId = key.slice(0, dot);
    const input = key.slice(dot + 1);
    if (isReservedName(input)) {
      issues.push({ code: 'RESERVED_NAME', node: nodeId, input, message: `override "${key}": "${input}" is a reserved name (a JavaScript object member)` });
      continue;
    }
    const node = byId.get(nodeId);
    if (node === undefined) {
      issues.push({ code: 'OVERRIDE_NODE', node: nodeId, input, message: `override "${key}": the workflow has no node "${nodeId}"` });
      continue;
    }
    // Type, range and name are checked by validation like any widget value.
    node.widgets[input] = value as WidgetValue;
  }
  return { workflow: { ...workflow, nodes }, issues };
}
