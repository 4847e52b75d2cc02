// The editor's keyboard shortcuts, and the help overlay that lists them (press ? or F1). Keys act when the graph
// canvas has focus (it takes it on click; it is focusable with Tab) or nothing else does; typing in a text field
// or a widget's dialog is never taken over.
export const SHORTCUTS = [
  ['Ctrl+Enter', 'queue the workflow'],
  ['Delete / Backspace', 'delete the selected nodes'],
  ['Ctrl+C', 'copy the selected nodes (with the links between them)'],
  ['Ctrl+X', 'cut the selected nodes'],
  ['Ctrl+V', 'paste at the mouse pointer'],
  ['Ctrl+Z', 'undo'],
  ['Ctrl+Shift+Z / Ctrl+Y', 'redo'],
  ['Ctrl+A', 'select every node'],
  ['F', 'fit the whole graph into view'],
  ['? / F1', 'show or hide this list'],
  ['Escape', 'close this list'],
  ['drag on empty canvas / wheel', 'pan / zoom'],
  ['double-click empty canvas', 'search and add a node'],
];

function editingText(target) {
  const tag = target?.localName;
  return tag === 'input' || tag === 'textarea' || tag === 'select' || target?.isContentEditable === true;
}

/** Builds the help overlay (hidden) and returns its toggle. */
export function helpOverlay(parent) {
  const box = document.createElement('div');
  box.id = 'shortcuts';
  box.hidden = true;
  box.setAttribute('role', 'dialog');
  box.setAttribute('aria-label', 'Keyboard shortcuts');
  const title = document.createElement('h2');
  title.textContent = 'Keyboard shortcuts';
  const table = document.createElement('table');
  for (const [keys, what] of SHORTCUTS) {
    const row = table.insertRow();
    const k = document.createElement('th');
    k.textContent = keys;
    row.append(k);
    row.insertCell().textContent = what;
  }
  const close = document.createElement('button');
  close.textContent = 'Close';
  close.addEventListener('click', () => (box.hidden = true));
  box.append(title, table, close);
  parent.append(box);
  return {
    element: box,
    toggle: (show = box.hidden) => (box.hidden = !show),
    close: () => {
      const open = !box.hidden;
      box.hidden = true;
      return open;
    },
  };
}

/**
 * Installs the shortcuts. `actions`: deleteSelected, copy, cut, paste, undo, redo, queue, fit, help (toggle),
 * closeHelp (returns whether the list was open, so Escape still reaches litegraph otherwise). Runs in the capture phase, before litegraph's own key handling, so one key
 * press does one thing.
 */
export function installShortcuts(canvasEl, actions) {
  canvasEl.tabIndex = 0;
  canvasEl.setAttribute('aria-label', 'workflow graph (press ? for keyboard shortcuts)');
  // litegraph handles the pointer itself; the focus still has to move to the canvas for keys to reach it.
  canvasEl.addEventListener('pointerdown', () => canvasEl.focus({ preventScroll: true }), true);
  window.addEventListener('keydown', (e) => {
    const ctrl = e.ctrlKey || e.metaKey;
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (key === 'Enter' && ctrl) return void (e.preventDefault(), actions.queue());
    if (editingText(e.target)) return;
    const active = document.activeElement;
    if (active !== canvasEl && active !== document.body && active !== null) {
      if (key === 'Escape') actions.closeHelp();
      return;
    }
    let handled = true;
    if (key === 'Delete' || key === 'Backspace') actions.deleteSelected();
    else if (ctrl && key === 'c' && !e.shiftKey) actions.copy();
    else if (ctrl && key === 'x') actions.cut();
    else if (ctrl && key === 'v') actions.paste();
    else if (ctrl && key === 'z' && !e.shiftKey) actions.undo();
    else if (ctrl && ((key === 'z' && e.shiftKey) || key === 'y')) actions.redo();
    else if ((key === '?' || key === 'F1') && !ctrl) actions.help();
    else if (key === 'Escape') handled = actions.closeHelp();
    else if (key === 'f' && !ctrl && !e.altKey) actions.fit();
    else handled = false;
    if (handled) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);
}
