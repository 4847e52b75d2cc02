// Which files a workflow submitted over HTTP may name in its PATH widgets. Reads: inside the working directory
// (shipped workflows/assets, data/checkpoints), the data folder and any KOSMOS_G_READ_ROOTS folders. Writes: only
// inside explicit write roots (outputs/, checkpoints/ and models/ of the data folder and of ./data, plus any
// KOSMOS_G_WRITE_ROOTS folders), and never onto the server's own state (its SQLite database with the -wal/-shm/
// -journal files beside it, whatever roots were configured). Checked with realpath on the longest existing
// prefix, so symlinks cannot lead out, and by file identity (device + inode), so a hard link to the database is
// refused too. The engine resolves a relative value once (engine/execute.ts) and checks and writes that same path.
import { existsSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';

export const READ_ROOTS_ENV = 'KOSMOS_G_READ_ROOTS';
export const WRITE_ROOTS_ENV = 'KOSMOS_G_WRITE_ROOTS';
/** The folders of a data folder (and of ./data) that workflows may write into. */
export const WRITE_SUBFOLDERS = ['outputs', 'checkpoints', 'models'] as const;
/** A percent-encoded dot, slash, backslash or NUL: nothing decodes PATH values, so such a name is a mistake or an attack. */
const ENCODED_SEPARATOR = /%(2e|2f|5c|00)/i;
/** Files SQLite keeps beside a database. */
const SQLITE_COMPANIONS = ['', '-wal', '-shm', '-journal'];

export function realish(p: string): string {
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

function identity(p: string): string | undefined {
  try {
    const s = statSync(p);
    return `${s.dev}:${s.ino}`;
  } catch {
    return undefined;
  }
}

function envList(name: string): string[] {
  return (process.env[name] ?? '').split(path.delimiter).filter((p) => p.trim() !== '');
}

export interface PathPolicy {
  readRoots: string[];
  writeRoots: string[];
  check(absolutePath: string, mode: 'read' | 'write'): string | undefined;
}

export interface PathPolicyOptions {
  dataDir: string;
  cwd?: string;
  extraReadRoots?: string[];
  extraWriteRoots?: string[];
  /** The server's own state (the SQLite database, the settings): never writable, nor -wal/-shm/-journal beside them. */
  protectedFiles?: string[];
}

export function pathPolicy(options: PathPolicyOptions): PathPolicy {
  const cwd = options.cwd ?? process.cwd();
  const extraRead = options.extraReadRoots ?? envList(READ_ROOTS_ENV);
  const extraWrite = options.extraWriteRoots ?? envList(WRITE_ROOTS_ENV);
  const readRoots = [...new Set([cwd, options.dataDir, ...extraRead].map(realish))];
  const bases = [options.dataDir, path.join(cwd, 'data')];
  const writeRoots = [...new Set([...bases.flatMap((b) => WRITE_SUBFOLDERS.map((s) => path.join(b, s))), ...extraWrite].map(realish))];
  const guarded = (options.protectedFiles ?? []).flatMap((f) => SQLITE_COMPANIONS.map((suffix) => `${f}${suffix}`));

  /** The protected file this path is (by real path, or by identity when it exists), if any. */
  const protectedTarget = (real: string): string | undefined => {
    const id = identity(real);
    return guarded.find((g) => realish(g) === real || (id !== undefined && identity(g) === id));
  };

  return {
    readRoots,
    writeRoots,
    check(absolutePath, mode) {
      if (absolutePath.includes('\0') || ENCODED_SEPARATOR.test(absolutePath)) {
        return `${JSON.stringify(absolutePath)} contains a NUL or a percent-encoded dot or separator; give the path itself`;
      }
      const real = realish(absolutePath);
      if (mode === 'write') {
        const hit = protectedTarget(real);
        if (hit !== undefined) return `${absolutePath} is the server's own state (${path.basename(hit)}); workflows may not write it`;
      }
      const roots = mode === 'read' ? readRoots : writeRoots;
      if (roots.some((r) => inside(r, real))) return undefined;
      const hint = mode === 'read' ? `; add folders with ${READ_ROOTS_ENV}` : `; add folders with ${WRITE_ROOTS_ENV}`;
      return `${absolutePath} is outside the folders this server may ${mode} (${roots.join(', ')}${hint})`;
    },
  };
}
