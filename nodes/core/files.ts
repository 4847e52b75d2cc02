// Writing output files: names from a user prefix (no folders, no traversal), numbered so that nothing is ever
// overwritten, written atomically (temp file then rename).
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { KosmosError } from '../../engine/errors.ts';

export { writeFileAtomic } from '../../models/io/atomic.ts';

const PREFIX = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,99}$/;

export function checkPrefix(prefix: string, nodeId: string): string {
  if (!PREFIX.test(prefix) || prefix.includes('..')) {
    throw new KosmosError('FILENAME_PREFIX', `node "${nodeId}": filename prefix ${JSON.stringify(prefix)} must be letters, digits, space, "_", "-" or "." (no folders)`, { exitCode: 1 });
  }
  return prefix;
}

/** `count` fresh file names `<prefix>_00001<ext>`, ... numbered after the highest already in `dir`. */
export async function nextFileNames(dir: string, prefix: string, ext: string, count: number): Promise<string[]> {
  const pattern = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_(\\d+)${ext.replace('.', '\\.')}$`);
  let highest = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const m = pattern.exec(name);
    if (m !== null) highest = Math.max(highest, Number(m[1]));
  }
  return Array.from({ length: count }, (_, i) => path.join(dir, `${prefix}_${String(highest + 1 + i).padStart(5, '0')}${ext}`));
}
