// Undo and redo of every graph edit. The history holds snapshots of the workflow (nodes, links, widget values,
// groups, seed controls; not the view), recorded after each edit settles: whatever made the edit (a drag, a
// widget, a link, a paste, a delete, a context-menu entry), the snapshot catches it, so no edit is missed.
export class UndoHistory {
  /**
   * @param {() => string} snapshot the graph now, as a string (equal strings: nothing changed)
   * @param {(snapshot: string) => void} restore rebuilds the graph from a snapshot
   */
  constructor(snapshot, restore, limit = 200) {
    this.snapshot = snapshot;
    this.restore = restore;
    this.limit = limit;
    this.past = [];
    this.future = [];
    this.restoring = false;
    this.timer = null;
  }

  /** Starts over from the graph as it is (a workflow was opened). */
  reset() {
    this.past = [this.snapshot()];
    this.future = [];
  }

  /** Records the graph if it changed since the last snapshot; returns whether it did. */
  record() {
    if (this.restoring) return false;
    const now = this.snapshot();
    if (now === this.past.at(-1)) return false;
    this.past.push(now);
    if (this.past.length > this.limit) this.past.shift();
    this.future = [];
    return true;
  }

  /** Records once the current event has finished (many hooks fire for one edit). */
  schedule() {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.record();
    }, 0);
  }

  undo() {
    this.record();
    if (this.past.length < 2) return false;
    this.future.push(this.past.pop());
    this.apply(this.past.at(-1));
    return true;
  }

  redo() {
    this.record();
    const next = this.future.pop();
    if (next === undefined) return false;
    this.past.push(next);
    this.apply(next);
    return true;
  }

  apply(snapshot) {
    this.restoring = true;
    try {
      this.restore(snapshot);
    } finally {
      this.restoring = false;
    }
  }
}
