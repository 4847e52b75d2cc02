// Validation before execution: every problem at once, each with a stable code, the node id and the input name.
// If any issue exists, nothing executes.
import type { Workflow } from './format.ts';
import { duplicateIdIssues } from './format.ts';
import type { WorkflowIssue } from './errors.ts';
import type { Registry } from './registry.ts';
import { checkWidgetValue, socketTypesForWidget } from './widgets.ts';
import { compileWorkflow } from './compile.ts';
import { findCycles } from './cycles.ts';
import { ownValue } from './reserved-names.ts';

/** Socket type that matches anything (for generic nodes such as a preview of any value). */
export const ANY_TYPE = '*';

export function validateWorkflow(wf: Workflow, registry: Registry): WorkflowIssue[] {
  const issues: WorkflowIssue[] = duplicateIdIssues(wf);
  const byId = new Map(wf.nodes.map((n) => [n.id, n]));

  for (const node of wf.nodes) {
    const def = registry.get(node.type);
    if (def === undefined) {
      issues.push({ code: 'UNKNOWN_NODE_TYPE', node: node.id, message: `no node type "${node.type}" is installed` });
      continue;
    }
    const links = node.inputs ?? {};
    for (const [name, value] of Object.entries(node.widgets ?? {})) {
      const spec = ownValue(def.widgets, name);
      if (spec === undefined) {
        const hint = Object.hasOwn(def.inputs, name) ? ` ("${name}" is a socket: connect a link to it)` : '';
        issues.push({ code: 'UNKNOWN_INPUT', node: node.id, input: name, message: `${node.type} has no widget "${name}"${hint}` });
        continue;
      }
      if (Object.hasOwn(links, name)) continue; // a link feeds this widget; the stored value is kept only for the editor
      const problem = checkWidgetValue(spec, value);
      if (problem !== undefined) issues.push({ code: problem.code, node: node.id, input: name, message: problem.message });
    }
    for (const [name, link] of Object.entries(links)) {
      const inputSpec = ownValue(def.inputs, name);
      const widgetSpec = ownValue(def.widgets, name);
      if (inputSpec === undefined && widgetSpec === undefined) {
        issues.push({ code: 'UNKNOWN_INPUT', node: node.id, input: name, message: `${node.type} has no input "${name}"` });
        continue;
      }
      const source = byId.get(link.node);
      if (source === undefined) {
        issues.push({ code: 'LINK_MISSING_NODE', node: node.id, input: name, message: `linked to node "${link.node}", which does not exist` });
        continue;
      }
      const sourceDef = registry.get(source.type);
      if (sourceDef === undefined) continue; // already reported as UNKNOWN_NODE_TYPE
      const output = ownValue(sourceDef.outputs, link.output);
      if (output === undefined) {
        issues.push({ code: 'LINK_MISSING_OUTPUT', node: node.id, input: name, message: `node "${link.node}" (${source.type}) has no output "${link.output}"` });
        continue;
      }
      const accepted = inputSpec !== undefined ? [inputSpec.type] : socketTypesForWidget(widgetSpec!);
      if (!accepted.includes(ANY_TYPE) && output.type !== ANY_TYPE && !accepted.includes(output.type)) {
        issues.push({
          code: 'TYPE_MISMATCH',
          node: node.id,
          input: name,
          message: `expects ${accepted.join(' or ')} but "${link.node}".${link.output} is ${output.type}`,
        });
      }
    }
    if ((node.mode ?? 'active') === 'active') {
      for (const [name, spec] of Object.entries(def.inputs)) {
        if (spec.optional !== true && !Object.hasOwn(links, name)) {
          issues.push({ code: 'MISSING_INPUT', node: node.id, input: name, message: `required input "${name}" (${spec.type}) is not connected` });
        }
      }
    }
  }

  for (const cycle of findCycles(wf)) {
    issues.push({ code: 'CYCLE', node: cycle[0], message: `nodes ${cycle.map((id) => `"${id}"`).join(', ')} form a cycle` });
  }

  const hasOutput = wf.nodes.some((n) => (n.mode ?? 'active') === 'active' && registry.get(n.type)?.output === true);
  if (!hasOutput) issues.push({ code: 'NO_OUTPUT_NODE', message: 'the workflow has no active output node (e.g. SaveImage or PreviewImage), so nothing would run' });

  // Bypassed and muted nodes can leave inputs unfed once links are resolved; check that only on a sound graph.
  if (issues.length === 0) issues.push(...compileWorkflow(wf, registry).issues);
  return issues;
}
