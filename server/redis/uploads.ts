// Uploaded images travel with the job. A ComfyUI client uploads an image to the server and names it in LoadImage;
// a worker on another machine has no such file. So the server puts the bytes of every uploaded file a job's PATH
// widgets name into the job (its widget value becomes `kosmos-g-upload:<name>`), and the worker writes them into
// its own data folder's uploads/ and points the widgets there. Other paths (shipped workflows/assets, model
// folders) are read on the worker's machine, as they are named.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { NormalisedNode } from '../engine-port.ts';
import { insideRoot } from './wire.ts';

export const UPLOAD_SCHEME = 'kosmos-g-upload:';

export interface ShippedFile {
  rel: string;
  data: string;
}

interface WidgetNode {
  type: string;
  widgets?: Record<string, unknown>;
}

/** The job's workflow with uploaded files named by placeholders, and those files. */
export function attachUploads(workflow: unknown, nodeTypes: NormalisedNode[], uploadsDir: string): { workflow: unknown; files: ShippedFile[] } {
  const pathWidgets = new Map(nodeTypes.map((n) => [n.type, new Set(n.widgets.filter((w) => w.kind === 'PATH').map((w) => w.name))]));
  let root: string;
  try {
    root = realpathSync(uploadsDir);
  } catch {
    return { workflow, files: [] };
  }
  const files = new Map<string, ShippedFile>();
  const copy = structuredClone(workflow) as { nodes?: WidgetNode[] };
  for (const node of copy.nodes ?? []) {
    const names = pathWidgets.get(node.type);
    if (!names || !node.widgets) continue;
    for (const name of names) {
      const value = node.widgets[name];
      if (typeof value !== 'string' || value === '' || !existsSync(value)) continue;
      const real = realpathSync(value);
      const rel = path.relative(root, real);
      if (rel.startsWith('..') || path.isAbsolute(rel) || !statSync(real).isFile()) continue;
      const relPosix = rel.split(path.sep).join('/');
      if (!files.has(relPosix)) files.set(relPosix, { rel: relPosix, data: readFileSync(real).toString('base64') });
      node.widgets[name] = `${UPLOAD_SCHEME}${relPosix}`;
    }
  }
  return { workflow: files.size ? copy : workflow, files: [...files.values()] };
}

/** On the worker: writes the shipped files under `uploadsDir` and points the placeholders at them. */
export async function receiveUploads(workflow: unknown, files: ShippedFile[] | undefined, uploadsDir: string): Promise<unknown> {
  if (!files?.length) return workflow;
  const where = new Map<string, string>();
  for (const f of files) {
    const file = insideRoot(uploadsDir, f.rel);
    if (file === undefined) continue;
    await mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.part-${process.pid}`;
    await writeFile(tmp, Buffer.from(f.data, 'base64'));
    await rename(tmp, file);
    where.set(f.rel, file);
  }
  for (const node of (workflow as { nodes?: WidgetNode[] }).nodes ?? []) {
    for (const [name, value] of Object.entries(node.widgets ?? {})) {
      if (typeof value === 'string' && value.startsWith(UPLOAD_SCHEME)) {
        const file = where.get(value.slice(UPLOAD_SCHEME.length));
        if (file !== undefined) node.widgets![name] = file;
      }
    }
  }
  return workflow;
}
