// Copy and paste of nodes in our workflow format: the links among the copied nodes come along, links from
// nodes left behind do not. Kept in localStorage so a copy can be pasted into another tab of the editor.
import { addNodesToGraph, graphToWorkflow } from './convert.js';

const KEY = 'kosmos-g-clipboard';

/** The selected nodes as workflow nodes; returns how many were copied. */
export function copyNodes(graph, nodes) {
  const ids = new Set(nodes.map((n) => String(n.id)));
  if (ids.size === 0) return 0;
  const wf = graphToWorkflow(graph, null, {});
  const copied = wf.nodes
    .filter((n) => ids.has(n.id))
    .map((n) => ({ ...n, inputs: Object.fromEntries(Object.entries(n.inputs ?? {}).filter(([, link]) => ids.has(String(link.node)))) }));
  localStorage.setItem(KEY, JSON.stringify({ nodes: copied }));
  return copied.length;
}

/** The next free numeric id of the graph. */
function nextId(graph, taken) {
  let id = Math.max(Number(graph.last_node_id) || 0, 0) + 1;
  while (graph.getNodeById(String(id)) || taken.has(String(id))) id++;
  graph.last_node_id = id;
  return String(id);
}

/**
 * Adds the copied nodes with fresh ids, their top-left at `at` (graph coordinates); returns the new nodes.
 */
export function pasteNodes(graph, at) {
  const raw = localStorage.getItem(KEY);
  if (!raw) return [];
  const { nodes } = JSON.parse(raw);
  if (!Array.isArray(nodes) || nodes.length === 0) return [];
  const renamed = new Map();
  for (const n of nodes) renamed.set(n.id, nextId(graph, new Set(renamed.values())));
  const left = Math.min(...nodes.map((n) => n.pos?.[0] ?? 0));
  const top = Math.min(...nodes.map((n) => n.pos?.[1] ?? 0));
  const fresh = nodes.map((n) => ({
    ...n,
    id: renamed.get(n.id),
    pos: [at[0] + (n.pos?.[0] ?? 0) - left, at[1] + (n.pos?.[1] ?? 0) - top],
    inputs: Object.fromEntries(Object.entries(n.inputs ?? {}).map(([name, link]) => [name, { ...link, node: renamed.get(String(link.node)) }])),
  }));
  addNodesToGraph(fresh, graph);
  return fresh.map((n) => graph.getNodeById(n.id)).filter(Boolean);
}
