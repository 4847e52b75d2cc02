// The editor: palette and node classes from GET /api/nodes, the graph on a litegraph canvas, file operations,
// queueing, and live run state from the WebSocket (highlight, progress, previews, errors, metrics, queue).
import { LiteGraph, LGraph, LGraphCanvas } from '/vendor/litegraph/litegraph.es.js';
import { request, viewUrl, wsUrl } from './api.js';
import { registerCatalogue, resetNodeState, markError, convertWidgetToInput, uploadToWidget } from './nodes.js';
import { graphToWorkflow, workflowToGraph } from './convert.js';
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
};

const graph = new LGraph();
const canvasEl = $('graph-canvas');
const canvas = new LGraphCanvas(canvasEl, graph);
canvas.show_info = false;
// Keep text and widgets drawn when a whole workflow is fitted into view (litegraph simplifies below 0.6 by default).
canvas.low_quality_zoom_threshold = 0.35;
const plot = new MetricsPlot($('metrics-plot'));

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

function addNode(type) {
  const node = LiteGraph.createNode(type);
  if (!node) return null;
  const [ox, oy] = canvas.ds.offset;
  const s = canvas.ds.scale;
  node.pos = [(-ox + 80) / s + Math.random() * 40, (-oy + 80) / s + Math.random() * 40];
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
  if (!wf.extra?.ds) fitView();
  state.meta = wf.meta ?? {};
  setName(name || wf.meta?.name || '');
  for (const p of problems) {
    const node = graph.getNodeById(p.node);
    if (node) markError(node, p.message, p.input);
    message(`node ${p.node}${p.input ? `.${p.input}` : ''}: ${p.message}`, 'error');
  }
  canvas.setDirty(true, true);
  return problems;
}

/** Shows every node: the view's top-left goes just above and left of the graph's bounding box. */
function fitView() {
  if (!graph._nodes.length) return;
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const n of graph._nodes) {
    minX = Math.min(minX, n.pos[0]);
    minY = Math.min(minY, n.pos[1] - LiteGraph.NODE_TITLE_HEIGHT);
    maxX = Math.max(maxX, n.pos[0] + n.size[0]);
    maxY = Math.max(maxY, n.pos[1] + n.size[1]);
  }
  const scale = Math.max(0.3, Math.min(1, (canvasEl.width - 80) / (maxX - minX), (canvasEl.height - 80) / (maxY - minY)));
  canvas.ds.scale = scale;
  canvas.ds.offset = [40 / scale - minX, 40 / scale - minY];
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

async function queue() {
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

function renderOutputs(files) {
  const box = $('outputs');
  for (const f of files) {
    const img = document.createElement('img');
    img.src = viewUrl(f);
    img.alt = f.filename;
    img.title = `${f.subfolder}/${f.filename}`;
    img.className = 'output';
    box.prepend(img);
  }
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
      show.addEventListener('click', () => renderOutputs(Object.values(job.outputs ?? {}).flatMap((o) => o.files)));
      li.append(show);
    }
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
      if (data.node === null) $('progress-text').textContent = 'finished';
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
      renderOutputs(images);
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
      canvas.setDirty(true, true);
      refreshJobs();
      return;
    }
    case 'execution_interrupted':
      message(`job ${data.prompt_id.slice(0, 8)} stopped`);
      if (mine) setRunning(null);
      refreshJobs();
      return;
    case 'execution_success':
      if (mine) message(`job ${data.prompt_id.slice(0, 8)} done`, 'ok');
      refreshJobs();
      return;
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
$('btn-queue').addEventListener('click', queue);
$('palette-search').addEventListener('input', (e) => buildPalette(e.target.value));
window.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) queue();
});
const area = $('graph-area');
area.addEventListener('dragover', (e) => {
  e.preventDefault();
  $('drop-hint').hidden = false;
});
area.addEventListener('dragleave', () => ($('drop-hint').hidden = true));
area.addEventListener('drop', (e) => {
  e.preventDefault();
  $('drop-hint').hidden = true;
  const file = e.dataTransfer?.files?.[0];
  if (file) openFile(file);
});

// For scripts and the browser tests: the live objects and the operations the buttons use.
window.kosmos = { graph, canvas, state, plot, loadWorkflow, currentWorkflow, queue, exportApi, addNode, openFile, fitView, convertWidgetToInput, uploadToWidget, ready: false };
start();
