// Converting between the live litegraph graph and our workflow format (named widgets, links by name,
// pos/size/groups, editor state under `extra`). The server never sees litegraph's own serialisation.
import { LiteGraph, LGraphGroup } from '/vendor/litegraph/litegraph.es.js';
import { convertWidgetToInput } from './nodes.js';

const MODE_TO_LG = { active: 0, muted: 2, bypass: 4 };
const LG_TO_MODE = { 0: 'active', 2: 'muted', 4: 'bypass' };

function linkById(graph, id) {
  return typeof graph.links.get === 'function' ? graph.links.get(id) : graph.links[id];
}

function round(v) {
  return Math.round(v * 10) / 10;
}

/** The graph as a workflow document. `meta` is carried through from the opened file. */
export function graphToWorkflow(graph, canvas, meta) {
  const nodes = [];
  for (const node of graph._nodes) {
    if (node.type === 'kosmos-g/missing' && node.properties?.kosmosOriginal) {
      // An unknown type keeps what the file said, with its new position.
      nodes.push({ ...node.properties.kosmosOriginal, pos: [round(node.pos[0]), round(node.pos[1])] });
      continue;
    }
    const inputs = {};
    for (const slot of node.inputs ?? []) {
      if (slot.link === null || slot.link === undefined) continue;
      const link = linkById(graph, slot.link);
      const source = link && graph.getNodeById(link.origin_id);
      if (!source) continue;
      inputs[slot.name] = { node: String(source.id), output: source.outputs[link.origin_slot].name };
    }
    const widgets = {};
    for (const w of node.widgets ?? []) {
      if (!w.kosmosName || inputs[w.kosmosName]) continue; // a linked widget takes its value from the link
      widgets[w.kosmosName] = w.value;
    }
    const entry = {
      id: String(node.id),
      type: node.type,
      widgets,
      inputs,
      pos: [round(node.pos[0]), round(node.pos[1])],
      size: [round(node.size[0]), round(node.size[1])],
    };
    if (node.title && node.title !== node.type) entry.title = node.title;
    if (node.mode && LG_TO_MODE[node.mode]) entry.mode = LG_TO_MODE[node.mode];
    if (node.flags?.collapsed) entry.collapsed = true;
    if (node.kosmosColor) entry.color = node.kosmosColor;
    nodes.push(entry);
  }
  const groups = (graph._groups ?? []).map((g) => {
    const b = g._bounding;
    const group = { title: g.title, bounding: [round(b[0]), round(b[1]), round(b[2]), round(b[3])] };
    if (g.color) group.color = g.color;
    return group;
  });
  const wf = { format: 'kosmos-g/workflow', version: 1, nodes };
  if (groups.length) wf.groups = groups;
  const extra = {};
  if (canvas) extra.ds = { offset: [round(canvas.ds.offset[0]), round(canvas.ds.offset[1])], scale: canvas.ds.scale };
  const seedControl = seedControls(graph);
  if (Object.keys(seedControl).length) extra.seedControl = seedControl;
  if (Object.keys(extra).length) wf.extra = extra;
  if (meta && Object.keys(meta).length) wf.meta = meta;
  return wf;
}

/** Each seed widget's "after queue" mode, by "node.widget" (editor state: the server ignores `extra`). */
function seedControls(graph) {
  const out = {};
  for (const node of graph._nodes) {
    for (const w of node.widgets ?? []) if (w.kosmosSeedControl) out[`${node.id}.${w.kosmosName}`] = w.kosmosSeedControl.value;
  }
  return out;
}

/**
 * Replaces the graph's contents with a workflow. Returns problems found while building (unknown types,
 * links to missing sockets) for the editor to show; the server's validation remains the authority.
 */
export function workflowToGraph(wf, graph, canvas) {
  if (!wf || wf.format !== 'kosmos-g/workflow' || !Array.isArray(wf.nodes)) {
    throw new Error('not a kosmos-g workflow (expected "format": "kosmos-g/workflow" and a "nodes" list)');
  }
  graph.clear();
  const problems = addNodesToGraph(wf.nodes, graph);
  for (const [key, mode] of Object.entries(wf.extra?.seedControl ?? {})) {
    const dot = key.lastIndexOf('.');
    const w = (graph.getNodeById(key.slice(0, dot))?.widgets ?? []).find((x) => x.kosmosName === key.slice(dot + 1));
    if (w?.kosmosSeedControl && w.kosmosSeedControl.options.values.includes(mode)) w.kosmosSeedControl.value = mode;
  }
  for (const g of wf.groups ?? []) {
    const group = new LGraphGroup(g.title);
    group._bounding.set(g.bounding);
    if (g.color) group.color = g.color;
    graph.add(group);
  }
  const ds = wf.extra?.ds;
  if (canvas && ds && Array.isArray(ds.offset) && Number.isFinite(ds.scale)) {
    canvas.ds.offset = [ds.offset[0], ds.offset[1]];
    canvas.ds.scale = ds.scale;
  }
  graph.setDirtyCanvas(true, true);
  return problems;
}

/**
 * Adds workflow nodes (and the links among them) to the graph as it is: opening a file after clearing it,
 * pasting into it. Ids must be free in the graph. A node is never smaller than its widgets need, so a stored size
 * from an older layout cannot make widgets spill into the node below.
 */
export function addNodesToGraph(nodes, graph) {
  const problems = [];
  let maxId = 0;
  for (const n of nodes) {
    let node = LiteGraph.createNode(n.type);
    if (!node) {
      node = LiteGraph.createNode('kosmos-g/missing');
      node.title = `${n.type} (unknown type)`;
      node.properties = { ...(node.properties ?? {}), kosmosOriginal: n };
      problems.push({ node: String(n.id), message: `unknown node type "${n.type}"` });
    }
    node.id = String(n.id);
    if (/^\d+$/.test(node.id)) maxId = Math.max(maxId, Number(node.id));
    if (Array.isArray(n.pos)) node.pos = [n.pos[0], n.pos[1]];
    if (Array.isArray(n.size)) {
      const min = node.size;
      node.size = [Math.max(n.size[0], min[0]), Math.max(n.size[1], min[1])];
    }
    if (n.title) node.title = n.title;
    if (n.mode && MODE_TO_LG[n.mode] !== undefined) node.mode = MODE_TO_LG[n.mode];
    if (n.collapsed) node.flags.collapsed = true;
    if (n.color) {
      node.color = n.color;
      node.kosmosColor = n.color;
    }
    for (const [name, value] of Object.entries(n.widgets ?? {})) {
      const w = (node.widgets ?? []).find((x) => x.kosmosName === name);
      if (w) w.value = value;
      else if (node.type !== 'kosmos-g/missing') problems.push({ node: node.id, input: name, message: `no widget "${name}"` });
    }
    graph.add(node);
  }
  graph.last_node_id = Math.max(graph.last_node_id ?? 0, maxId);
  for (const n of nodes) {
    const target = graph.getNodeById(String(n.id));
    if (!target || target.type === 'kosmos-g/missing') continue;
    for (const [name, link] of Object.entries(n.inputs ?? {})) {
      const source = graph.getNodeById(String(link.node));
      if (!source || source.type === 'kosmos-g/missing') {
        problems.push({ node: target.id, input: name, message: `link from missing node "${link.node}"` });
        continue;
      }
      const out = source.outputs.findIndex((o) => o.name === link.output);
      let slot = target.inputs.findIndex((i) => i.name === name);
      if (slot < 0 && (target.widgets ?? []).some((w) => w.kosmosName === name)) {
        // A link feeding a widget: give the widget a socket so the link can be drawn.
        slot = convertWidgetToInput(target, name) ?? -1;
      }
      if (out < 0 || slot < 0) {
        problems.push({ node: target.id, input: name, message: `cannot link ${link.node}.${link.output} → ${target.id}.${name}` });
        continue;
      }
      source.connect(out, target, slot);
    }
  }
  return problems;
}
