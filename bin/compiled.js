// Whether the CLI's compiled bundle (dist/, scripts/build-cli.ts) can stand in for the TypeScript sources: it
// exists, none of its sources changed after it was compiled, and no plugin pack is asked for (a plugin is
// TypeScript loaded through tsx; it must share the engine's modules, so with plugins the sources run as they are).
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** The URL of dist/cli.js when it may run this command, else undefined. */
export function compiledEntry(root, argv, env = process.env, cwd = process.cwd()) {
  if (env.KOSMOS_G_FROM_SOURCES === '1') return undefined;
  if (argv.includes('--plugin') || (env.KOSMOS_G_PLUGINS ?? '').trim() !== '' || existsSync(path.join(cwd, 'kosmos-g.config.json'))) return undefined;
  const dist = path.join(root, 'dist');
  try {
    const { compiledAt, inputs } = JSON.parse(readFileSync(path.join(dist, 'inputs.json'), 'utf8'));
    if (!Array.isArray(inputs) || inputs.length === 0) return undefined;
    for (const file of inputs) if (statSync(path.join(root, file)).mtimeMs > compiledAt) return undefined;
    const entry = path.join(dist, 'cli.js');
    return existsSync(entry) ? new URL(`file://${entry}`) : undefined;
  } catch {
    return undefined; // not built, or a source is gone: the sources run
  }
}
