// Every file path that comes from a request is resolved inside its allowed root, twice: lexically (no `..`, no
// absolute parts), then with realpath, so a symlink inside the root cannot lead outside it.
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { HttpError } from './errors.ts';

const SEGMENT = /^[^\0/\\]+$/;

/** Checks one user-given name (file or folder segment): no separators, no `.`/`..`, no NUL, not hidden. */
export function checkName(name: string, what: string): string {
  if (!SEGMENT.test(name) || name === '.' || name === '..' || name.startsWith('.') || name.length > 200) {
    throw new HttpError(400, 'BAD_PATH', `${what} "${name}" is not a plain file name`);
  }
  return name;
}

/** Splits a subfolder ("a/b") into checked segments; empty means the root itself. */
export function checkSubfolder(subfolder: string): string[] {
  if (subfolder === '') return [];
  if (path.isAbsolute(subfolder) || /^[A-Za-z]:/.test(subfolder)) throw new HttpError(400, 'BAD_PATH', `subfolder "${subfolder}" is absolute`);
  return subfolder.split(/[\\/]/).filter((s) => s !== '').map((s) => checkName(s, 'subfolder segment'));
}

function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Resolves `subfolder/filename` under `root` for reading: the file must exist and its real path must lie inside
 * the root's real path. Throws HttpError 400 (bad name) / 403 (escapes) / 404 (absent).
 */
export async function resolveExisting(root: string, subfolder: string, filename: string): Promise<string> {
  const p = path.join(root, ...checkSubfolder(subfolder), checkName(filename, 'filename'));
  const realRoot = await realpath(root).catch(() => {
    throw new HttpError(404, 'NOT_FOUND', `${filename}: no such file`);
  });
  let real: string;
  try {
    real = await realpath(p);
  } catch {
    throw new HttpError(404, 'NOT_FOUND', `${path.posix.join(subfolder, filename)}: no such file`);
  }
  if (!inside(realRoot, real)) throw new HttpError(403, 'PATH_OUTSIDE_ROOT', `${path.posix.join(subfolder, filename)} resolves outside its folder`);
  return real;
}

/**
 * Resolves a folder under `root` for writing (creating it), checking with realpath that it lies inside the root.
 */
export async function resolveWritableDir(root: string, subfolder: string, mkdir: (p: string) => Promise<unknown>): Promise<string> {
  const segments = checkSubfolder(subfolder);
  await mkdir(root);
  const realRoot = await realpath(root);
  let dir = realRoot;
  for (const s of segments) {
    dir = path.join(dir, s);
    await mkdir(dir);
    const real = await realpath(dir);
    if (!inside(realRoot, real)) throw new HttpError(403, 'PATH_OUTSIDE_ROOT', `subfolder "${subfolder}" resolves outside its folder`);
    dir = real;
  }
  return dir;
}
