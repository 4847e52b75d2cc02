// Tests that need the reference files in ../shared skip, with a printed reason, where that folder is absent.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED_DIR = process.env.KOSMOS_G_SHARED ?? path.resolve(repoRoot, '..', 'shared');
export const REFERENCE_DIR = path.join(SHARED_DIR, 'reference');

/** `undefined` when the file exists, else a skip reason (pass it as `{ skip }` to `test`). */
export function needsShared(relative: string): string | undefined {
  const p = path.join(SHARED_DIR, relative);
  if (existsSync(p)) return undefined;
  const reason = `needs ${p} (the ../shared reference folder is absent)`;
  console.log(`# skip: ${reason}`);
  return reason;
}

export function sharedPath(relative: string): string {
  return path.join(SHARED_DIR, relative);
}
