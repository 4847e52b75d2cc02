// Planning: keep only what the requested outputs need, order it, and give each node a content key
// (sha256 of type + widget values + upstream keys, computed once per node in topological order). A file a PATH
// widget reads is part of the content: its stamp (size and modification time) goes into the key, so a file
// replaced at the same path (retrained weights, a re-uploaded image) is read again instead of served stale.
//
// `recompute` inputs (training loops) split their upstream in two: nodes that depend on a `perStep` node form a
// region the loop re-runs every step; the rest is static, runs once in the main order and is served from there.
import { createHash, randomUUID } from 'node:crypto';
import type { CompiledGraph } from './compile.ts';
import type { Link } from './format.ts';
import { ownValue } from './reserved-names.ts';

export interface RecomputeRegion {
  /** The link feeding the recompute input: its value is what one recompute call resolves to. */
  source: Link;
  /** Nodes re-executed on every call, in dependency order (empty when nothing upstream is per-step). */
  nodes: string[];
}

export interface Plan {
  /** Nodes executed by the run, in dependency order. */
  order: string[];
  /** Content key of every planned node (main order and recompute regions). */
  keys: Map<string, string>;
  /** For each main node: the nodes whose values it holds until it finishes (each counted once). */
  holds: Map<string, string[]>;
  /** Recompute regions by node id, then input name. */
  regions: Map<string, Map<string, RecomputeRegion>>;
}

export interface PlanOptions {
  /** The identity of the file a 'read' PATH widget names (e.g. size + mtime); undefined when it has none. */
  fileStamp?: (path: string) => string | undefined;
}

export function planRun(graph: CompiledGraph, outputs: readonly string[], options: PlanOptions = {}): Plan {
  const topo = topologicalOrder(graph);
  const perStepAffected = new Set<string>();
  for (const id of topo) {
    const node = graph.nodes.get(id)!;
    if (node.def.perStep === true || Object.values(node.links).some((l) => perStepAffected.has(l.node))) perStepAffected.add(id);
  }

  const main = new Set<string>();
  const regionMembers = new Set<string>();
  const regions = new Map<string, Map<string, RecomputeRegion>>();
  const holds = new Map<string, Set<string>>();
  const work: string[] = [...outputs];

  // Visit a node that runs in the main order: its plain links pull their sources into the main order; its
  // recompute links pull in the static part of their upstream and record the per-step part as a region.
  const visit = (id: string): void => {
    const node = graph.nodes.get(id)!;
    const held = holds.get(id) ?? new Set<string>();
    holds.set(id, held);
    for (const [name, link] of Object.entries(node.links)) {
      if (ownValue(node.def.inputs, name)?.recompute !== true) {
        held.add(link.node);
        work.push(link.node);
        continue;
      }
      const region = regionOf(link);
      const byInput = regions.get(id) ?? new Map<string, RecomputeRegion>();
      byInput.set(name, region);
      regions.set(id, byInput);
      const regionSet = new Set(region.nodes);
      for (const member of region.nodes) regionMembers.add(member);
      // Static nodes the region reads (or the source itself when static) run in the main order and stay held.
      const staticNeeds = region.nodes.length === 0 ? [link.node] : region.nodes.flatMap((m) => Object.values(graph.nodes.get(m)!.links).map((l) => l.node)).filter((n) => !regionSet.has(n));
      for (const s of staticNeeds) {
        held.add(s);
        work.push(s);
      }
    }
  };
  const regionOf = (link: Link): RecomputeRegion => {
    if (!perStepAffected.has(link.node)) return { source: link, nodes: [] };
    const members = new Set<string>();
    const stack = [link.node];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (members.has(id) || !perStepAffected.has(id)) continue;
      members.add(id);
      for (const l of Object.values(graph.nodes.get(id)!.links)) stack.push(l.node);
    }
    return { source: link, nodes: topo.filter((id) => members.has(id)) };
  };

  while (work.length > 0) {
    const id = work.pop()!;
    if (main.has(id)) continue;
    main.add(id);
    visit(id);
  }

  const keys = new Map<string, string>();
  for (const id of topo) {
    if (!main.has(id) && !regionMembers.has(id)) continue;
    const node = graph.nodes.get(id)!;
    const upstream = Object.keys(node.links)
      .sort()
      .map((name) => [name, keys.get(node.links[name]!.node) ?? keyOfUnplanned(node.links[name]!.node), node.links[name]!.output]);
    const widgets = Object.keys(node.widgets)
      .sort()
      .map((name) => {
        const value = node.widgets[name];
        const spec = node.def.widgets[name];
        const read = spec?.kind === 'PATH' && spec.mode === 'read' && typeof value === 'string' && value !== '';
        const stamp = read ? options.fileStamp?.(value) : undefined;
        return stamp === undefined ? [name, value] : [name, value, stamp];
      });
    // A node that must not be cached gets a fresh key every run, and so do its descendants.
    const nonce = node.def.cacheable === false ? randomUUID() : null;
    keys.set(id, createHash('sha256').update(JSON.stringify([node.type, widgets, upstream, nonce])).digest('hex'));
  }

  return {
    order: topo.filter((id) => main.has(id)),
    keys,
    holds: new Map([...holds].filter(([id]) => main.has(id)).map(([id, set]) => [id, [...set]])),
    regions,
  };
}

function keyOfUnplanned(id: string): string {
  return `unplanned:${id}`;
}

/** Kahn's algorithm; ties keep file order. Assumes the graph is acyclic (validation guarantees it). */
export function topologicalOrder(graph: CompiledGraph): string[] {
  const pending = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const node of graph.nodes.values()) {
    const deps = new Set(Object.values(node.links).map((l) => l.node));
    pending.set(node.id, deps.size);
    for (const dep of deps) {
      const list = dependents.get(dep) ?? [];
      list.push(node.id);
      dependents.set(dep, list);
    }
  }
  const ready = [...graph.nodes.values()].filter((n) => pending.get(n.id) === 0).map((n) => n.id);
  const order: string[] = [];
  for (let i = 0; i < ready.length; i++) {
    const id = ready[i]!;
    order.push(id);
    for (const next of dependents.get(id) ?? []) {
      const left = pending.get(next)! - 1;
      pending.set(next, left);
      if (left === 0) ready.push(next);
    }
  }
  return order;
}
