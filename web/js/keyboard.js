// The editor's keyboard shortcuts, and the help overlay that lists them (press ? or F1). Keys act anywhere but in
// a text field, a menu or a widget's dialog (typing there is never taken over); the graph canvas takes the focus
// on click and is focusable with Tab.
export const SHORTCUTS = [
  ['Ctrl+Enter', 'queue the workflow'],
  ['Enter / Shift+Enter', 'in a text dialog: OK / a new line'],
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
  // litegraph's value dialog for a multi-line text: Enter is OK (as in every other dialog), Shift+Enter a new line.
  document.addEventListener('keydown', (e) => {
    const box = e.target?.closest?.('.graphdialog');
    if (!box || e.key !== 'Enter' || e.shiftKey || e.target.localName !== 'textarea') return;
    e.preventDefault();
    e.stopImmediatePropagation();
    box.querySelector('button')?.click();
  }, true);
  canvasEl.tabIndex = 0;
  canvasEl.setAttribute('aria-label', 'workflow graph (press ? for keyboard shortcuts)');
  // litegraph handles the pointer itself; the focus still has to move to the canvas for keys to reach it.
  canvasEl.addEventListener('pointerdown', () => canvasEl.focus({ preventScroll: true }), true);
  window.addEventListener('keydown', (e) => {
    const ctrl = e.ctrlKey || e.metaKey;
    const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (key === 'Enter' && ctrl) return void (e.preventDefault(), actions.queue());
    if (editingText(e.target)) return;
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
