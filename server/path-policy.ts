// Which files a workflow submitted over HTTP may name in its PATH widgets: reads inside the working directory
// (shipped workflows/assets, data/checkpoints), the data folder and any KOSMOS_G_READ_ROOTS folders; writes inside
// the data folder or ./data. Checked with realpath on the longest existing prefix, so symlinks cannot lead out.
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';

export const READ_ROOTS_ENV = 'KOSMOS_G_READ_ROOTS';

function realish(p: string): string {
  // The deepest existing ancestor, resolved, plus the segments that do not exist yet.
  let head = path.resolve(p);
  const rest: string[] = [];
  while (!existsSync(head)) {
    const parent = path.dirname(head);
    if (parent === head) break;
    rest.unshift(path.basename(head));
    head = parent;
  }
  let real = head;
  try {
    real = realpathSync(head);
  } catch {
    /* unreadable: keep the lexical path */
  }
  return path.join(real, ...rest);
}

function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export interface PathPolicy {
  readRoots: string[];
  writeRoots: string[];
  check(absolutePath: string, mode: 'read' | 'write'): string | undefined;
}

export function pathPolicy(options: { dataDir: string; cwd?: string; extraReadRoots?: string[] }): PathPolicy {
  const cwd = options.cwd ?? process.cwd();
  const extra = options.extraReadRoots ?? (process.env[READ_ROOTS_ENV] ?? '').split(path.delimiter).filter((p) => p.trim() !== '');
  const readRoots = [cwd, options.dataDir, ...extra].map(realish);
  const writeRoots = [options.dataDir, path.join(cwd, 'data')].map(realish);
  return {
    readRoots,
    writeRoots,
    check(absolutePath, mode) {
      const real = realish(absolutePath);
      const roots = mode === 'read' ? readRoots : writeRoots;
      if (roots.some((r) => inside(r, real))) return undefined;
      return `${absolutePath} is outside the folders this server may ${mode} (${roots.join(', ')}${mode === 'read' ? `; add folders with ${READ_ROOTS_ENV}` : ''})`;
    },
  };
}
