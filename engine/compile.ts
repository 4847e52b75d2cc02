// Compile a (validated) workflow into the executable graph: definitions looked up, widget defaults filled in,
// links through bypassed nodes resolved to their real sources and links from muted nodes dropped.
import type { AnyNodeDefinition } from './node-def.ts';
import type { Link, Workflow } from './format.ts';
import type { WorkflowIssue } from './errors.ts';
import type { Registry } from './registry.ts';
import { ownValue } from './reserved-names.ts';

export interface CompiledNode {
  id: string;
  type: string;
  def: AnyNodeDefinition;
  /** Widget values with defaults filled in; widgets fed by a link are absent here and present in `links`. */
  widgets: Record<string, unknown>;
  /** Effective links by input (or widget) name, after bypass resolution. */
  links: Record<string, Link>;
  /** Position in the workflow file: ties in the execution order follow it. */
  index: number;
}

export interface CompiledGraph {
  nodes: Map<string, CompiledNode>;
  /** Active output nodes, in file order. */
  outputNodes: string[];
}

export function compileWorkflow(wf: Workflow, registry: Registry): { graph: CompiledGraph; issues: WorkflowIssue[] } {
  const issues: WorkflowIssue[] = [];
  const raw = new Map(wf.nodes.map((n) => [n.id, n]));
  const nodes = new Map<string, CompiledNode>();
  const outputNodes: string[] = [];

  // Where does output `link` of a bypassed node really come from? Its first input of the same type with a link.
  const resolve = (link: Link, seen: Set<string>): Link | undefined => {
    const source = raw.get(link.node);
    if (source === undefined) return undefined;
    const mode = source.mode ?? 'active';
    if (mode === 'active') return link;
    if (mode === 'muted' || seen.has(source.id)) return undefined;
    seen.add(source.id);
    const def = registry.get(source.type);
    const type = def === undefined ? undefined : ownValue(def.outputs, link.output)?.type;
    if (def === undefined || type === undefined) return undefined;
    for (const [name, spec] of Object.entries(def.inputs)) {
      const upstream = ownValue(source.inputs, name);
      if (spec.type === type && upstream !== undefined) return resolve(upstream, seen);
    }
    return undefined;
  };

  wf.nodes.forEach((node, index) => {
    if ((node.mode ?? 'active') !== 'active') return;
    const def = registry.get(node.type);
    if (def === undefined) return;
    const links: Record<string, Link> = {};
    for (const [name, link] of Object.entries(node.inputs ?? {})) {
      const effective = resolve(link, new Set());
      if (effective !== undefined) {
        links[name] = effective;
        continue;
      }
      const upstreamMode = raw.get(link.node)?.mode ?? 'active';
      // A widget whose link passes nothing falls back to its stored value.
      const spec = ownValue(def.inputs, name);
      const required = spec !== undefined && spec.optional !== true;
      if (required) {
        issues.push({
          code: 'MISSING_INPUT',
          node: node.id,
          input: name,
          message: `input "${name}" comes from ${upstreamMode} node "${link.node}", which passes nothing through`,
        });
      }
    }
    const widgets: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(def.widgets)) {
      if (Object.hasOwn(links, name)) continue;
      widgets[name] = ownValue(node.widgets, name) ?? spec.default;
    }
    nodes.set(node.id, { id: node.id, type: node.type, def, widgets, links, index });
    if (def.output === true) outputNodes.push(node.id);
  });
  return { graph: { nodes, outputNodes }, issues };
}
