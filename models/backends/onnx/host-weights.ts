// Holding the weights once: after a model is written with external data, its ONNX Runtime session reads the weights
// from the side file, so the host copies (Float32Arrays, 3.4 GB for the SD 1.5 U-Net) are a second full copy that
// inference never reads again. They are released, each parameter reading its values back from the side file on its
// next access (a LoRA merge, a training step, another backend), so the model stays usable as before.
//
// The side file is kept open while any released parameter may read it: a cache prune or a rebuild may remove or
// replace the file's name, never the data those parameters read.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Graph } from './graph.ts';
import { externalLayout } from './serialize.ts';

/** An open side file; closed once no released parameter refers to it any more. */
class OpenDataFile {
  constructor(
    readonly file: string,
    readonly fd: number,
  ) {}

  read(offset: number, length: number): Float32Array {
    const out = new Float32Array(length / 4);
    const bytes = new Uint8Array(out.buffer);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, bytes, done, length - done, offset + done);
      if (n === 0) throw new Error(`${this.file}: ends before byte ${offset + length} (weights released to it cannot be read back)`);
      done += n;
    }
    return out;
  }
}

const closer = new FinalizationRegistry<number>((fd) => {
  try {
    closeSync(fd);
  } catch {
    // Already closed: nothing holds it.
  }
});

/**
 * Release the host copies of the float32 parameters `graph` placed in the side file `dataFile` (as laid out by
 * externalLayout). Returns how many bytes were released; 0 when the file does not have the layout's length (then
 * it was not written for this graph, and nothing is released).
 */
export function releaseToDataFile(graph: Graph, dataFile: string): number {
  const { slots, end } = externalLayout(graph);
  let fd: number;
  try {
    fd = openSync(dataFile, 'r');
  } catch {
    return 0;
  }
  if (fstatSync(fd).size !== end) {
    closeSync(fd);
    return 0;
  }
  const open = new OpenDataFile(dataFile, fd);
  closer.register(open, fd);
  let released = 0;
  for (const { init, offset, length } of slots.values()) {
    const p = init.param;
    if (!p || init.dtype !== 'float32' || !p.materialized) continue;
    p.release(() => open.read(offset, length));
    released += length;
  }
  return released;
}

let gc: (() => void) | undefined;

/**
 * A full garbage collection now. Released weights are garbage at once, but V8 collects them only under its own
 * heap's pressure, and what ORT allocates next (the session's copy, the activations) is no pressure it sees: without
 * this, the host copies were still resident at the forward's peak.
 */
export function collectGarbage(): void {
  if (!gc) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) gc = exposed;
    else {
      v8.setFlagsFromString('--expose-gc');
      gc = vm.runInNewContext('gc') as () => void;
    }
  }
  gc();
}
