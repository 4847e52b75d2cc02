// Node classes built from the server's catalogue: no hand-written UI per node type. Sockets come from inputs and
// outputs; widgets from widget kinds (INT/FLOAT number or slider, STRING text, ENUM combo, BOOLEAN toggle, SEED
// number + "control after queue" + randomize button, PATH text). Each node also draws its run state: running
// outline, progress bar, image previews, warnings; error messages are drawn by the canvas above every node
// (drawErrors), so a neighbour never hides them. Labels are plain text: emoji render as empty boxes on a stock
// Debian chromium.
import { LiteGraph, LGraphNode } from '/vendor/litegraph/litegraph.es.js';

import { previewUrl, uploadImage, viewUrl } from './api.js';

const MAX_SEED = Number.MAX_SAFE_INTEGER;
const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'];

/** Uploads a file to the server and points a PATH widget at it. */
export async function uploadToWidget(node, widget, file) {
  const answer = await uploadImage(file);
  widget.value = answer.path;
  setInputPreview(node, viewUrl({ filename: answer.name, subfolder: answer.subfolder, type: 'input' }));
  notifyEdit();
  node.setDirtyCanvas(true, true);
  return answer;
}

function pickAndUpload(node, widget) {
  const input = document.createElement('input');
  input.type = 'file';
  input.accept = IMAGE_EXTENSIONS.join(',');
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (file) uploadToWidget(node, widget, file).catch((err) => window.alert(err.message));
  });
  input.click();
}
const noop = () => {};

/** Shows the images the node's image PATH widgets name (after a workflow opens, or a path is typed). */
export function refreshInputPreview(node) {
  const w = (node.widgets ?? []).find((x) => x.kosmosImagePath && typeof x.value === 'string' && x.value !== '');
  if (!w) {
    node.kosmosInputImage = undefined;
    return;
  }
  setInputPreview(node, previewUrl(w.value));
}

/** Shows the image an image-loading node reads, below its widgets, until the node has run. */
export function setInputPreview(node, url) {
  const img = new Image();
  // `settled`: loaded (and the node grown to show it) or failed; the layout test and tools wait for it.
  img.settled = false;
  img.onload = () => {
    const room = node.computeSize()[1] + 140;
    if (node.size[1] < room) node.setSize([Math.max(node.size[0], 220), room]);
    img.settled = true;
    node.setDirtyCanvas(true, true);
  };
  img.onerror = () => {
    img.settled = true;
  };
  img.src = url;
  node.kosmosInputImage = img;
}

/** Tells the editor that the graph changed (the undo history records it). */
export function notifyEdit() {
  window.dispatchEvent(new Event('kosmos-edit'));
}

/** What a seed does after each queue, as in ComfyUI's "control after generate". */
export const SEED_CONTROLS = ['fixed', 'increment', 'decrement', 'randomize'];

/**
 * A sampling seed (a sampler's, a latent's noise, the Seed value) is new after each queue, as in ComfyUI; a seed
 * that builds random weights (a loader's, beside its PATH) or drives training stays fixed: changing it would
 * reload a model or make a training run unrepeatable.
 */
function defaultSeedControl(def) {
  const weights = def.widgets.some((x) => x.kind === 'PATH');
  return weights || def.category.startsWith('training') ? 'fixed' : 'randomize';
}

/** Applies every node's seed control once (after a queue); returns whether a seed changed. */
export function applySeedControls(graph) {
  let changed = false;
  for (const node of graph._nodes) {
    for (const w of node.widgets ?? []) {
      if (!w.kosmosSeedControl || (node.inputs ?? []).some((i) => i.name === w.kosmosName && i.link != null)) continue;
      const mode = w.kosmosSeedControl.value;
      const before = w.value;
      if (mode === 'increment') w.value = Math.min(MAX_SEED, before + 1);
      else if (mode === 'decrement') w.value = Math.max(0, before - 1);
      else if (mode === 'randomize') w.value = Math.floor(Math.random() * 2 ** 32);
      changed ||= w.value !== before;
    }
  }
  return changed;
}

/** Widgets are named by their catalogue name; litegraph keeps extra fields we set on them. */
function addWidgets(node, def) {
  for (const spec of def.widgets) {
    const name = spec.name;
    let w;
    switch (spec.kind) {
      case 'INT': {
        const opts = { min: spec.min ?? -MAX_SEED, max: spec.max ?? MAX_SEED, step2: spec.step ?? 1, precision: 0 };
        w = node.addWidget('number', name, spec.default, (v) => (w.value = Math.round(v)), opts);
        break;
      }
      case 'FLOAT': {
        const bounded = Number.isFinite(spec.min) && Number.isFinite(spec.max);
        const step = spec.step ?? 0.01;
        const precision = Math.max(0, Math.min(6, Math.ceil(-Math.log10(step))));
        w = node.addWidget(bounded ? 'slider' : 'number', name, spec.default, noop, { min: spec.min ?? -Infinity, max: spec.max ?? Infinity, step2: step, precision });
        break;
      }
      case 'STRING':
        w = node.addWidget('text', name, spec.default ?? '', noop, { multiline: Boolean(spec.multiline) });
        break;
      case 'PATH': {
        w = node.addWidget('text', name, spec.default ?? '', noop, {});
        const images = (spec.extensions ?? []).some((e) => IMAGE_EXTENSIONS.includes(String(e).toLowerCase()));
        if (spec.mode === 'read' && images) {
          w.kosmosImagePath = true;
          const pathWidget = w;
          const b = node.addWidget('button', `upload ${name}...`, null, () => pickAndUpload(node, pathWidget));
          b.kosmosButton = true;
        }
        break;
      }
      case 'ENUM':
        w = node.addWidget('combo', name, spec.default, noop, { values: [...(spec.options ?? [])] });
        break;
      case 'BOOLEAN':
        w = node.addWidget('toggle', name, Boolean(spec.default), noop, {});
        break;
      case 'SEED': {
        w = node.addWidget('number', name, spec.default ?? 0, (v) => (w.value = Math.max(0, Math.min(MAX_SEED, Math.round(v)))), { min: 0, max: MAX_SEED, step2: 1, precision: 0 });
        const seedWidget = w;
        const control = node.addWidget('combo', `${name}: after queue`, defaultSeedControl(def), noop, { values: SEED_CONTROLS });
        control.kosmosControlOf = name;
        seedWidget.kosmosSeedControl = control;
        const b = node.addWidget('button', `randomize ${name}`, null, () => {
          seedWidget.value = Math.floor(Math.random() * 2 ** 32);
          notifyEdit();
          node.setDirtyCanvas(true, true);
        });
        b.kosmosButton = true;
        break;
      }
      default:
        w = node.addWidget('text', name, String(spec.default ?? ''), noop, {});
    }
    w.kosmosName = name;
    w.kosmosKind = spec.kind;
  }
}

/** The socket type a link into a widget must have (the engine's widget→input rule). */
export function widgetSocketType(kind) {
  if (kind === 'SEED') return 'INT';
  if (kind === 'ENUM' || kind === 'PATH') return 'STRING';
  return kind;
}

/** Gives a widget an input socket so a link can feed it (ComfyUI's "convert widget to input"). */
export function convertWidgetToInput(node, name) {
  const w = (node.widgets ?? []).find((x) => x.kosmosName === name);
  if (!w || (node.inputs ?? []).some((i) => i.name === name)) return null;
  const slot = node.addInput(name, widgetSocketType(w.kosmosKind));
  slot.kosmosWidget = name;
  node.setDirtyCanvas(true, true);
  return node.inputs.length - 1;
}

/**
 * Context-menu entries: one "convert to input" per widget without a socket. Only the new entries are returned:
 * litegraph prepends what this returns to its own list (returning the list itself listed everything twice).
 */
function widgetMenu(node) {
  const extra = [];
  for (const w of node.widgets ?? []) {
    if (!w.kosmosName || (node.inputs ?? []).some((i) => i.name === w.kosmosName)) continue;
    extra.push({ content: `Convert ${w.kosmosName} to input`, callback: () => {
      convertWidgetToInput(node, w.kosmosName);
      notifyEdit();
    } });
  }
  return extra;
}

/** The editor-side run state of a node, drawn on the canvas. */
function freshState() {
  return { running: false, progress: null, error: null, errorInputs: new Set(), images: [], preview: null, text: null, warning: null };
}

function drawState(node, ctx) {
  const s = node.kosmos;
  const [w, h] = node.size;
  const titleH = LiteGraph.NODE_TITLE_HEIGHT;
  if (s.running) {
    ctx.save();
    ctx.strokeStyle = '#4ade80';
    ctx.lineWidth = 3;
    ctx.strokeRect(-4, -titleH - 4, w + 8, h + titleH + 8);
    ctx.restore();
  }
  if (s.progress !== null) {
    ctx.fillStyle = '#222';
    ctx.fillRect(0, h - 6, w, 6);
    ctx.fillStyle = '#4ade80';
    ctx.fillRect(0, h - 6, w * Math.max(0, Math.min(1, s.progress)), 6);
  }
  const img = s.preview ?? s.images.at(-1) ?? node.kosmosInputImage;
  if (img && img.complete && img.naturalWidth > 0) {
    const area = 128;
    const scale = Math.min((w - 10) / img.naturalWidth, area / img.naturalHeight);
    const dw = img.naturalWidth * scale;
    const dh = img.naturalHeight * scale;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(img, (w - dw) / 2, h - dh - 10, dw, dh);
  }
  if (s.text) {
    ctx.save();
    ctx.fillStyle = '#8fd';
    ctx.font = '12px monospace';
    s.text.split('\n').slice(0, 8).forEach((line, i) => ctx.fillText(line.slice(0, 60), 8, h - 8 - (Math.min(8, s.text.split('\n').length) - 1 - i) * 14));
    ctx.restore();
  }
  if (s.warning) {
    ctx.save();
    ctx.fillStyle = '#fbbf24';
    ctx.font = '12px sans-serif';
    wrap(ctx, s.warning, w - 12).slice(0, 3).forEach((line, i, all) => ctx.fillText(line, 6, h - 8 - (all.length - 1 - i) * 14));
    ctx.restore();
  }
  if (s.error) {
    ctx.save();
    ctx.strokeStyle = '#ef4444';
    ctx.lineWidth = 3;
    ctx.strokeRect(-4, -titleH - 4, w + 8, h + titleH + 8);
    ctx.restore();
  }
}

/**
 * The error messages of every node, drawn after all nodes (litegraph's canvas onDrawForeground, in graph
 * coordinates) on an opaque box: a message below its node is never covered by the node beneath.
 */
export function drawErrors(graph, ctx) {
  for (const node of graph._nodes) {
    const message = node.kosmos?.error;
    if (!message) continue;
    const [x, y] = node.pos;
    const [w, h] = node.size;
    ctx.save();
    ctx.font = '12px sans-serif';
    const lines = wrap(ctx, message, Math.max(w, 200));
    const width = Math.max(...lines.map((l) => ctx.measureText(l).width)) + 12;
    ctx.fillStyle = 'rgba(40, 10, 10, 0.95)';
    ctx.fillRect(x - 4, y + h + 6, width, lines.length * 14 + 8);
    ctx.fillStyle = '#fca5a5';
    lines.forEach((line, i) => ctx.fillText(line, x + 2, y + h + 20 + i * 14));
    ctx.restore();
  }
}

function wrap(ctx, text, width) {
  const words = String(text).split(/\s+/);
  const lines = [];
  let line = '';
  for (const word of words) {
    const next = line ? `${line} ${word}` : word;
    if (ctx.measureText(next).width > width && line) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines.slice(0, 6);
}

/** Registers one litegraph node class per catalogue entry; returns the definitions by type. */
export function registerCatalogue(nodes) {
  const defs = new Map();
  for (const def of nodes) {
    defs.set(def.type, def);
    class KosmosNode extends LGraphNode {
      static title = def.type;
      static category = def.category;
      static desc = def.description;
      constructor(title) {
        super(title ?? def.type);
        this.kosmosDef = def;
        this.kosmos = freshState();
        for (const input of def.inputs) this.addInput(input.name, input.type, input.optional ? { label: `${input.name} (optional)` } : undefined);
        for (const output of def.outputs) this.addOutput(output.name, output.type);
        addWidgets(this, def);
        this.serialize_widgets = true;
        if (def.output) this.color = '#2d4a3e';
        const min = this.computeSize();
        this.size = [Math.max(min[0], 220), min[1] + (def.output ? 140 : 0)];
      }
      onDrawForeground(ctx) {
        drawState(this, ctx);
      }
      getExtraMenuOptions() {
        return widgetMenu(this);
      }
      onWidgetChanged(_name, _value, _old, widget) {
        if (widget?.kosmosImagePath) refreshInputPreview(this);
        notifyEdit();
      }
      onConnectionsChange() {
        notifyEdit();
      }
    }
    LiteGraph.registerNodeType(def.type, KosmosNode);
  }
  // A stand-in for node types the server does not know, so a workflow using them still opens (and round-trips).
  class MissingNode extends LGraphNode {
    static title = 'missing node';
    constructor(title) {
      super(title ?? 'missing node');
      this.kosmos = freshState();
    }
    onDrawForeground(ctx) {
      drawState(this, ctx);
    }
  }
  LiteGraph.registerNodeType('kosmos-g/missing', MissingNode);
  return defs;
}

export function resetNodeState(node) {
  if (!node.kosmos) node.kosmos = freshState();
  const images = node.kosmos.images;
  node.kosmos = freshState();
  node.kosmos.images = images;
  for (const input of node.inputs ?? []) if (input.kosmosLabel !== undefined) {
    input.label = input.kosmosLabel;
    delete input.kosmosLabel;
  }
  for (const w of node.widgets ?? []) if (w.kosmosLabel !== undefined) {
    w.label = w.kosmosLabel;
    delete w.kosmosLabel;
  }
}

/** Marks an error on a node, and on the input or widget it names. */
export function markError(node, message, inputName) {
  if (!node.kosmos) node.kosmos = freshState();
  node.kosmos.error = node.kosmos.error ? `${node.kosmos.error}; ${message}` : message;
  node.has_errors = true;
  if (!inputName) return;
  node.kosmos.errorInputs.add(inputName);
  const input = (node.inputs ?? []).find((i) => i.name === inputName);
  if (input && input.kosmosLabel === undefined) {
    input.kosmosLabel = input.label;
    input.label = `⚠ ${input.name}`;
  }
  const widget = (node.widgets ?? []).find((w) => w.kosmosName === inputName);
  if (widget && widget.kosmosLabel === undefined) {
    widget.kosmosLabel = widget.label;
    widget.label = `⚠ ${inputName}`;
  }
}
