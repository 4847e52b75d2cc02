// Graph edits the keyboard and drag-and-drop ask for: the selection, deleting it, pasting at the pointer, and a
// dropped file — a workflow (JSON, or a PNG with one inside) opens, a plain image becomes a LoadImage node.
import { LiteGraph } from '/vendor/litegraph/litegraph.es.js';
import { pasteNodes } from './clipboard.js';
import { isPng, workflowFromPng } from './png.js';

/**
 * What it needs of the editor: the graph and canvas, `visibleRect()` (graph coordinates of the view), `message(text, kind)`,
 * `openFile(file)`, `uploadToWidget(node, widget, file)`, and `onEdit()` (an undoable edit happened).
 */
export function graphEdits({ graph, canvas, visibleRect, message, openFile, uploadToWidget, onEdit }) {
  function selectedNodes() {
    return Object.values(canvas.selected_nodes ?? {});
  }

  function deleteSelected() {
    const nodes = selectedNodes();
    for (const node of nodes) graph.remove(node);
    canvas.deselectAll?.();
    if (nodes.length) onEdit();
    canvas.setDirty(true, true);
  }

  function paste() {
    // At the pointer when it is over the canvas, else a step below-right of the view's top-left.
    const [mx, my] = canvas.graph_mouse;
    const [vx, vy, vw, vh] = visibleRect();
    const inside = mx >= vx && mx <= vx + vw && my >= vy && my <= vy + vh;
    const nodes = pasteNodes(graph, inside ? [mx, my] : [vx + 60, vy + 60]);
    if (!nodes.length) return;
    canvas.deselectAll?.();
    canvas.selectNodes(nodes);
    onEdit();
    canvas.setDirty(true, true);
  }

  /** A plain image (no workflow inside): upload it and add a LoadImage node reading it, where it was dropped. */
  async function dropImage(file, at) {
    const node = LiteGraph.createNode('LoadImage');
    if (!node) return message(`cannot use ${file.name}: no LoadImage node is installed`, 'error');
    const widget = (node.widgets ?? []).find((w) => w.kosmosName === 'image');
    try {
      node.pos = at;
      graph.add(node);
      await uploadToWidget(node, widget, file);
      message(`uploaded ${file.name} into a new LoadImage node`, 'ok');
    } catch (err) {
      graph.remove(node);
      message(`cannot upload ${file.name}: ${err.message}`, 'error');
    }
    canvas.setDirty(true, true);
  }

  async function dropFile(file, event) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const image = /^image\/(png|jpeg|webp)$/.test(file.type) || isPng(bytes);
    if (image) {
      const wf = isPng(bytes) ? await workflowFromPng(bytes).catch(() => null) : null;
      if (!wf) {
        canvas.adjustMouseEvent?.(event);
        const at = Number.isFinite(event.canvasX) ? [event.canvasX, event.canvasY] : [visibleRect()[0] + 60, visibleRect()[1] + 60];
        return dropImage(file, at);
      }
    }
    return openFile(file);
  }

  return { selectedNodes, deleteSelected, paste, dropFile };
}

/** Drag-and-drop onto the graph area, with its hint. */
export function installDrop(area, dropFile) {
  const hint = document.getElementById('drop-hint');
  area.addEventListener('dragover', (e) => {
    e.preventDefault();
    hint.hidden = false;
  });
  area.addEventListener('dragleave', () => (hint.hidden = true));
  area.addEventListener('drop', (e) => {
    e.preventDefault();
    hint.hidden = true;
    const file = e.dataTransfer?.files?.[0];
    if (file) void dropFile(file, e);
  });
}
