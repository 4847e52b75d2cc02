// The editor: palette and node classes from GET /api/nodes, the graph on a litegraph canvas, file operations,
// queueing, and live run state from the WebSocket (highlight, progress, previews, errors, metrics, queue).
import { LiteGraph, LGraph, LGraphCanvas } from '/vendor/litegraph/litegraph.es.js';
import { request, viewUrl, wsUrl } from './api.js';
import { registerCatalogue, resetNodeState, markError, convertWidgetToInput, uploadToWidget, drawErrors, applySeedControls, notifyEdit, refreshInputPreview } from './nodes.js';
import { graphToWorkflow, workflowToGraph } from './convert.js';
import { UndoHistory } from './history.js';
import { copyNodes } from './clipboard.js';
import { graphEdits, installDrop } from './edits.js';
import { renderOutputs } from './outputs.js';
import { helpOverlay, installShortcuts } from './keyboard.js';
import { freeSpot, fitTransform, MIN_READABLE_ZOOM } from './layout.js';
import { isPng, workflowFromPng } from './png.js';
import { MetricsPlot } from './plot.js';

const $ = (id) => document.getElementById(id);
const clientId = `editor-${Math.random().toString(36).slice(2, 10)}`;

const state = {
  defs: new Map(),
  name: '',
  meta: {},
  myJobs: new Set(),
  currentJob: null,
  lastStatus: null,
  outputs: [],
  stopped: new Set(),
};

const graph = new LGraph();
const canvasEl = $('graph-canvas');
const canvas = new LGraphCanvas(canvasEl, graph);
canvas.show_info = false;
// Keep text and widgets drawn when a whole workflow is fitted into view (litegraph simplifies below 0.6 by default).
canvas.low_quality_zoom_threshold = 0.35;
// Errors go above every node (a message below its node would be covered by the node beneath).
canvas.onDrawForeground = (ctx) => drawErrors(graph, ctx);
// One menu entry per action: no subgraphs (our workflow format has none), on the canvas or on a node.
canvas.getMenuOptions = () => [
  { content: 'Add Node', has_submenu: true, callback: LGraphCanvas.onMenuAdd },
  { content: 'Add Group', callback: LGraphCanvas.onGroupAdd },
];
graph.onGetNodeMenuOptions = (options) => {
  for (let i = options.length - 1; i >= 0; i--) if (/subgraph/i.test(options[i]?.content ?? '')) options.splice(i, 1);
};
const plot = new MetricsPlot($('metrics-plot'));

// ---- undo / redo: snapshots of the workflow after every edit ---------------------------------------------
const history = new UndoHistory(
  () => {
    const wf = graphToWorkflow(graph, null, {});
    return JSON.stringify({ nodes: wf.nodes, groups: wf.groups ?? [], extra: wf.extra ?? {} });
  },
  (snapshot) => {
    const { nodes, groups, extra } = JSON.parse(snapshot);
    workflowToGraph({ format: 'kosmos-g/workflow', version: 1, nodes, groups, extra }, graph, null);
    for (const node of graph._nodes) refreshInputPreview(node);
    canvas.setDirty(true, true);
  },
);
window.addEventListener('kosmos-edit', () => history.schedule());
graph.onNodeAdded = () => history.schedule();
graph.onNodeRemoved = () => history.schedule();
graph.onAfterChange = () => history.schedule();
// Moves, resizes and widget drags end with the pointer going up.
canvasEl.addEventListener('pointerup', () => history.schedule());

function resizeCanvas() {
  const area = $('graph-area');
  canvasEl.width = area.clientWidth;
  canvasEl.height = area.clientHeight;
  canvas.setDirty(true, true);
}
window.addEventListener('resize', resizeCanvas);

function message(text, kind = '') {
  const li = document.createElement('li');
  li.textContent = text;
  if (kind) li.className = kind;
  $('messages').prepend(li);
  while ($('messages').children.length > 100) $('messages').lastChild.remove();
}

// ---- palette ---------------------------------------------------------------------------------------------
function buildPalette(filter = '') {
  const list = $('palette-list');
  list.replaceChildren();
  const byCategory = new Map();
  for (const def of state.defs.values()) {
    if (filter && !`${def.type} ${def.category} ${def.description}`.toLowerCase().includes(filter.toLowerCase())) continue;
    if (!byCategory.has(def.category)) byCategory.set(def.category, []);
    byCategory.get(def.category).push(def);
  }
  for (const [category, defs] of [...byCategory].sort(([a], [b]) => a.localeCompare(b))) {
    const head = document.createElement('div');
    head.className = 'category';
    head.textContent = category || 'other';
    list.append(head);
    for (const def of defs.sort((a, b) => a.type.localeCompare(b.type))) {
      const b = document.createElement('button');
      b.className = 'node-type';
      b.textContent = def.type;
      b.title = def.description;
      b.dataset.type = def.type;
      b.addEventListener('click', () => addNode(def.type));
      list.append(b);
    }
  }
}

/** The part of the graph on screen, in graph coordinates: [x, y, width, height]. */
function visibleRect() {
  const [ox, oy] = canvas.ds.offset;
  const s = canvas.ds.scale;
  return [-ox, -oy, canvasEl.width / s, canvasEl.height / s];
}

/** Adds a node where it overlaps none: near the top-left of the view, else beside the graph. */
function addNode(type) {
  const node = LiteGraph.createNode(type);
  if (!node) return null;
  const taken = graph._nodes.map((n) => [n.pos[0], n.pos[1] - LiteGraph.NODE_TITLE_HEIGHT, n.size[0], n.size[1] + LiteGraph.NODE_TITLE_HEIGHT]);
  const [x, y] = freeSpot(taken, [node.size[0], node.size[1] + LiteGraph.NODE_TITLE_HEIGHT], visibleRect());
  node.pos = [x, y + LiteGraph.NODE_TITLE_HEIGHT];
  graph.add(node);
  canvas.setDirty(true, true);
  return node;
}

// ---- open / save -----------------------------------------------------------------------------------------
function clearRunState() {
  for (const node of graph._nodes) {
    resetNodeState(node);
    node.has_errors = false;
  }
  canvas.setDirty(true, true);
}

function loadWorkflow(wf, name = '') {
  const problems = workflowToGraph(wf, graph, canvas);
  if (!(wf.extra?.ds?.scale >= MIN_READABLE_ZOOM)) fitView();
  state.meta = wf.meta ?? {};
  setName(name || wf.meta?.name || '');
  for (const node of graph._nodes) refreshInputPreview(node);
  for (const p of problems) {
    const node = graph.getNodeById(p.node);
    if (node) markError(node, p.message, p.input);
    message(`node ${p.node}${p.input ? `.${p.input}` : ''}: ${p.message}`, 'error');
  }
  history.reset();
  canvas.setDirty(true, true);
  return problems;
}

/**
 * Shows the graph: all of it when it fits at a readable zoom, else its top-left part at the smallest readable
 * zoom (a fitted overview whose text is a few pixels high helps nobody; the rest is a drag or a wheel away).
 */
function fitView() {
  if (!graph._nodes.length) return;
  const boxes = graph._nodes.map((n) => [n.pos[0], n.pos[1] - LiteGraph.NODE_TITLE_HEIGHT, n.size[0], n.size[1] + LiteGraph.NODE_TITLE_HEIGHT]);
  for (const g of graph._groups ?? []) boxes.push([...g._bounding]);
  const { scale, offset } = fitTransform(boxes, [canvasEl.width, canvasEl.height]);
  canvas.ds.scale = scale;
  canvas.ds.offset = offset;
  canvas.setDirty(true, true);
}

function currentWorkflow() {
  return graphToWorkflow(graph, canvas, state.name ? { ...state.meta, name: state.name } : state.meta);
}

function setName(name) {
  state.name = name;
  $('wf-name').value = name;
  document.title = `${name || 'untitled'} — kosmos-g`;
}

async function openFile(file) {
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const wf = isPng(bytes) ? await workflowFromPng(bytes) : JSON.parse(new TextDecoder().decode(bytes));
    loadWorkflow(wf, file.name.replace(/\.(json|png)$/i, ''));
    message(`opened ${file.name}`, 'ok');
  } catch (err) {
    message(`cannot open ${file.name}: ${err.message}`, 'error');
  }
}

async function refreshSaved() {
  const r = await request('GET', '/api/workflows');
  const select = $('saved-workflows');
  select.replaceChildren(new Option('saved workflows…', ''));
  for (const w of r.body?.workflows ?? []) select.append(new Option(w.name, w.name));
}

async function save(name) {
  if (!name) return saveAs();
  const r = await request('PUT', `/api/workflows/${encodeURIComponent(name)}`, graphToWorkflow(graph, canvas, { ...state.meta, name }));
  if (r.status !== 200) return message(`save failed: ${r.body?.error?.message ?? r.status}`, 'error');
  setName(name);
  message(`saved "${name}"`, 'ok');
  await refreshSaved();
}

async function saveAs() {
  const typed = $('wf-name').value.trim();
  const name = typed && typed !== state.name ? typed : window.prompt('Save workflow as:', typed || state.name || 'untitled');
  if (name) await save(name.trim());
}

function saveJson(value, filename) {
  const blob = new Blob([JSON.stringify(value, null, 2)], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function download() {
  saveJson(currentWorkflow(), `${state.name || 'workflow'}.json`);
}

/** The workflow in ComfyUI's API format, as the server converts it (POST /api/export); only a valid one. */
async function exportApi() {
  clearRunState();
  const r = await request('POST', '/api/export', { workflow: currentWorkflow() });
  if (r.status === 200) {
    saveJson(r.body.prompt, `${state.name || 'workflow'}.api.json`);
    return r.body.prompt;
  }
  const err = r.body?.error ?? {};
  if (err.details?.issues) showIssues(err.details.issues);
  else message(`export failed: ${err.message ?? r.status}`, 'error');
  return null;
}

// ---- queue -----------------------------------------------------------------------------------------------
function showIssues(issues, nodeErrors) {
  for (const issue of issues ?? []) {
    const node = issue.node !== undefined ? graph.getNodeById(issue.node) : null;
    if (node) markError(node, `${issue.code}: ${issue.message}`, issue.input);
    const where = issue.node !== undefined ? `node ${issue.node}${issue.input ? `.${issue.input}` : ''}` : issue.path || 'workflow';
    message(`${where}: ${issue.message} (${issue.code})`, 'error');
  }
  if (!issues?.length && nodeErrors) {
    for (const [id, e] of Object.entries(nodeErrors)) {
      const node = graph.getNodeById(id);
      for (const err of e.errors) {
        if (node) markError(node, err.message, err.extra_info?.input_name);
        message(`node ${id}: ${err.message}`, 'error');
      }
    }
  }
  canvas.setDirty(true, true);
}

/** Queues the workflow `batch-count` times; after each queue the seeds move as their "after queue" control says. */
async function queue() {
  const count = Math.max(1, Math.min(100, Math.round(Number($('batch-count').value) || 1)));
  const ids = [];
  for (let i = 0; i < count; i++) {
    const id = await queueOnce();
    if (id === null) break;
    ids.push(id);
    if (applySeedControls(graph)) {
      notifyEdit();
      canvas.setDirty(true, false);
    }
  }
  return count === 1 ? (ids[0] ?? null) : ids;
}

async function queueOnce() {
  clearRunState();
  // The job id is chosen here and remembered before submitting: its first events can arrive before the reply.
  const promptId = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
  state.myJobs.add(promptId);
  const r = await request('POST', '/prompt', { workflow: currentWorkflow(), client_id: clientId, prompt_id: promptId });
  if (r.status !== 200) state.myJobs.delete(promptId);
  if (r.status === 200) {
    message(`queued job #${r.body.number}`, 'ok');
    refreshJobs();
    return r.body.prompt_id;
  }
  const err = r.body?.error ?? {};
  if (err.code === 'VALIDATION_FAILED') showIssues(err.issues, r.body.node_errors);
  else if (err.details?.issues) showIssues(err.details.issues);
  else message(`queue failed: ${err.message ?? r.status}`, 'error');
  return null;
}

/** Opens the workflow a past job ran (as it was submitted). */
async function loadJobWorkflow(job) {
  const r = await request('GET', `/api/jobs/${job.id}`);
  if (r.status !== 200 || !r.body?.workflow) return message(`cannot load job #${job.number}: ${r.body?.error?.message ?? r.status}`, 'error');
  loadWorkflow(r.body.workflow, r.body.workflow.meta?.name ?? `job ${job.number}`);
  message(`opened the workflow of job #${job.number}`, 'ok');
}

async function refreshJobs() {
  const r = await request('GET', '/api/jobs?limit=20');
  const list = $('jobs');
  list.replaceChildren();
  for (const job of r.body?.jobs ?? []) {
    const li = document.createElement('li');
    li.dataset.id = job.id;
    const status = document.createElement('span');
    status.className = `status ${job.status}`;
    status.textContent = job.status;
    const label = document.createElement('span');
    label.textContent = `#${job.number}`;
    li.append(label, status);
    if (job.status === 'queued' || job.status === 'running') {
      const cancel = document.createElement('button');
      cancel.textContent = 'cancel';
      cancel.className = 'cancel';
      cancel.addEventListener('click', async () => {
        const c = await request('POST', `/api/jobs/${job.id}/cancel`);
        message(c.status === 200 ? `job #${job.number}: ${c.body.status}` : `cancel failed: ${c.body?.error?.message}`, c.status === 200 ? '' : 'error');
        refreshJobs();
      });
      li.append(cancel);
    } else {
      const show = document.createElement('button');
      show.textContent = 'outputs';
      show.className = 'outputs';
      show.addEventListener('click', () => renderOutputs(Object.values(job.outputs ?? {}).flatMap((o) => o.files)));
      li.append(show);
    }
    const load = document.createElement('button');
    load.textContent = 'load';
    load.className = 'load';
    load.title = 'Open the workflow this job ran';
    load.addEventListener('click', () => loadJobWorkflow(job));
    li.append(load);
    list.append(li);
  }
}

// ---- live events -----------------------------------------------------------------------------------------
function nodeOf(id) {
  return id === null || id === undefined ? null : graph.getNodeById(String(id));
}

function setRunning(id) {
  for (const node of graph._nodes) {
    if (!node.kosmos) continue;
    node.kosmos.running = false;
    node.kosmos.progress = null;
  }
  const node = nodeOf(id);
  if (node?.kosmos) node.kosmos.running = true;
  canvas.setDirty(true, true);
}

function onMessage({ type, data }) {
  const mine = data?.prompt_id !== undefined && state.myJobs.has(data.prompt_id);
  switch (type) {
    case 'status':
      state.lastStatus = data.status;
      refreshJobs();
      return;
    case 'execution_start':
      if (mine) {
        state.currentJob = data.prompt_id;
        plot.reset(data.prompt_id);
        $('progress-text').textContent = 'started';
      }
      return;
    case 'executing':
      if (!mine) return;
      setRunning(data.node);
      // A cancelled job also ends with node null: its progress stays "cancelled", not "finished".
      if (data.node === null && !state.stopped.has(data.prompt_id)) $('progress-text').textContent = 'finished';
      return;
    case 'progress': {
      if (!mine) return;
      const node = nodeOf(data.node);
      if (node?.kosmos) node.kosmos.progress = data.value / data.max;
      $('progress').max = data.max;
      $('progress').value = data.value;
      $('progress-text').textContent = `node ${data.node}: ${data.value} / ${data.max}`;
      canvas.setDirty(true, false);
      return;
    }
    case 'executed': {
      if (!mine) return;
      const node = nodeOf(data.node);
      const images = data.output?.images ?? [];
      if (node?.kosmos) {
        node.kosmos.progress = null;
        // Make room below the widgets for the preview.
        const room = node.computeSize()[1] + 140;
        if (images.length && node.size[1] < room) node.setSize([Math.max(node.size[0], 200), room]);
        for (const f of images) {
          const img = new Image();
          img.onload = () => canvas.setDirty(true, false);
          img.src = viewUrl(f);
          node.kosmos.images.push(img);
        }
      }
      if (node?.kosmos && data.output?.text) node.kosmos.text = data.output.text.join('\n');
      // Images, and the other files a node wrote (checkpoints: download links).
      renderOutputs([...images, ...(data.output?.files ?? [])]);
      canvas.setDirty(true, false);
      return;
    }
    case 'execution_cached':
      return;
    case 'kosmos.worker':
    case 'kosmos.retry':
      // With a Redis queue, jobs run on kosmos-g workers: say which one runs ours (again, after a retry).
      if (!mine) return;
      $('worker-label').hidden = false;
      $('worker-label').textContent = `${type === 'kosmos.retry' ? 'retried on' : 'on'} worker ${data.worker}`;
      return;
    case 'execution_error': {
      message(`job ${data.prompt_id.slice(0, 8)}: ${data.node_id ? `node ${data.node_id}: ` : ''}${data.exception_message}`, 'error');
      const node = mine ? nodeOf(data.node_id) : null;
      if (node) markError(node, `${data.exception_type}: ${data.exception_message}`, data.input ?? undefined);
      if (mine) {
        state.stopped.add(data.prompt_id);
        $('progress-text').textContent = 'failed';
      }
      canvas.setDirty(true, true);
      refreshJobs();
      return;
    }
    case 'execution_interrupted':
      message(`job ${data.prompt_id.slice(0, 8)} stopped`);
      if (mine) {
        state.stopped.add(data.prompt_id);
        setRunning(null);
        $('progress-text').textContent = 'cancelled';
      }
      refreshJobs();
      return;
    case 'execution_success':
      if (mine) message(`job ${data.prompt_id.slice(0, 8)} done`, 'ok');
      refreshJobs();
      return;
    case 'kosmos.warning': {
      if (!mine) return;
      const node = nodeOf(data.node);
      if (node?.kosmos) {
        node.kosmos.warning = node.kosmos.warning ? `${node.kosmos.warning}; ${data.message}` : data.message;
        const room = node.computeSize()[1] + 50;
        if (node.size[1] < room) node.setSize([node.size[0], room]);
      }
      message(`node ${data.node}: ${data.message}`, 'warning');
      canvas.setDirty(true, false);
      return;
    }
    case 'kosmos.metrics':
      plot.add(data.prompt_id, data.step, data.metrics);
      return;
    default:
  }
}

function onPreview(buffer) {
  const view = new DataView(buffer);
  if (view.getUint32(0) !== 4) return;
  const len = view.getUint32(4);
  const meta = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, len)));
  if (!state.myJobs.has(meta.prompt_id)) return;
  const node = nodeOf(meta.node_id);
  if (!node?.kosmos) return;
  const room = node.computeSize()[1] + 140;
  if (node.size[1] < room) node.setSize([Math.max(node.size[0], 200), room]);
  const img = new Image();
  img.onload = () => canvas.setDirty(true, false);
  img.src = URL.createObjectURL(new Blob([new Uint8Array(buffer, 8 + len)], { type: meta.image_type }));
  node.kosmos.preview = img;
}

function connect() {
  const ws = new WebSocket(wsUrl(clientId));
  ws.binaryType = 'arraybuffer';
  ws.onopen = () => {
    // Ask for previews that name their job and node (ComfyUI's frame 4); other clients get the older frame 1.
    ws.send(JSON.stringify({ type: 'feature_flags', data: { supports_preview_metadata: true } }));
    $('conn').textContent = 'online';
    $('conn').classList.add('online');
  };
  ws.onmessage = (e) => {
    if (typeof e.data === 'string') onMessage(JSON.parse(e.data));
    else onPreview(e.data);
  };
  ws.onclose = () => {
    $('conn').textContent = 'offline';
    $('conn').classList.remove('online');
    setTimeout(connect, 1000);
  };
}

// ---- start -----------------------------------------------------------------------------------------------
function smallDefault() {
  // Without workflows/generate.json: Int → PreviewValue from the core pack when present, else one output node.
  if (state.defs.has('Int') && state.defs.has('PreviewValue')) {
    return {
      format: 'kosmos-g/workflow',
      version: 1,
      nodes: [
        { id: '1', type: 'Int', widgets: { value: 42 }, pos: [80, 120] },
        { id: '2', type: 'PreviewValue', inputs: { value: { node: '1', output: 'value' } }, pos: [420, 120] },
      ],
    };
  }
  const output = [...state.defs.values()].find((d) => d.output && d.inputs.every((i) => i.optional));
  return { format: 'kosmos-g/workflow', version: 1, nodes: output ? [{ id: '1', type: output.type, pos: [100, 100] }] : [] };
}

async function start() {
  resizeCanvas();
  const nodes = await request('GET', '/api/nodes');
  if (nodes.status !== 200) {
    message(`cannot load the node catalogue: ${nodes.body?.error?.message ?? nodes.status}`, 'error');
    return;
  }
  for (const e of nodes.body.loadErrors ?? []) message(`node pack ${e.pack} failed to load: ${e.message}`, 'error');
  state.defs = registerCatalogue(nodes.body.nodes);
  buildPalette();
  const def = await request('GET', '/api/default-workflow');
  if (def.body?.workflow) loadWorkflow(def.body.workflow, def.body.name);
  else loadWorkflow(smallDefault(), '');
  connect();
  refreshSaved();
  refreshJobs();
  canvas.setDirty(true, true);
  window.kosmos.ready = true;
}

$('btn-new').addEventListener('click', () => {
  graph.clear();
  state.meta = {};
  setName('');
  canvas.setDirty(true, true);
});
$('file-open').addEventListener('change', (e) => {
  const file = e.target.files?.[0];
  if (file) openFile(file);
  e.target.value = '';
});
$('saved-workflows').addEventListener('change', async (e) => {
  const name = e.target.value;
  if (!name) return;
  const r = await request('GET', `/api/workflows/${encodeURIComponent(name)}`);
  if (r.status === 200) loadWorkflow(r.body, name);
  else message(`cannot load "${name}": ${r.body?.error?.message}`, 'error');
  e.target.value = '';
});
$('btn-save').addEventListener('click', () => save($('wf-name').value.trim() || state.name));
$('btn-save-as').addEventListener('click', saveAs);
$('btn-download').addEventListener('click', download);
$('btn-export-api').addEventListener('click', () => void exportApi());
$('btn-queue').addEventListener('click', () => void queue());
$('palette-search').addEventListener('input', (e) => buildPalette(e.target.value));
$('lightbox').addEventListener('click', (e) => {
  if (e.target.localName !== 'a') $('lightbox').hidden = true;
});

// ---- keyboard --------------------------------------------------------------------------------------------
const help = helpOverlay($('graph-area'));
$('btn-help').addEventListener('click', () => help.toggle());

const edits = graphEdits({ graph, canvas, visibleRect, message, openFile, uploadToWidget, onEdit: notifyEdit });
const { selectedNodes, deleteSelected, paste } = edits;

installShortcuts(canvasEl, {
  queue: () => void queue(),
  deleteSelected,
  copy: () => copyNodes(graph, selectedNodes()),
  cut: () => {
    if (copyNodes(graph, selectedNodes())) deleteSelected();
  },
  paste,
  undo: () => history.undo(),
  redo: () => history.redo(),
  fit: fitView,
  help: () => help.toggle(),
  closeHelp: () => {
    const lightbox = !$('lightbox').hidden;
    $('lightbox').hidden = true;
    return help.close() || lightbox;
  },
});

// ---- dropping files --------------------------------------------------------------------------------------
installDrop($('graph-area'), edits.dropFile);

// For scripts and the browser tests: the live objects and the operations the buttons use.
window.kosmos = { LiteGraph, graph, canvas, state, plot, history, loadWorkflow, currentWorkflow, queue, exportApi, addNode, openFile, fitView, convertWidgetToInput, uploadToWidget, ready: false };
start();
