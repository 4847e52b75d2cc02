// The CLI's registry: built-in packs, --plugin folders, KOSMOS_G_PLUGINS and kosmos-g.config.json. A pack that
// failed to load is a warning on stderr: the others still work.
import { Registry } from '../../engine/registry.ts';
import type { CliIO } from './io.ts';

export async function loadRegistry(plugins: string[], io: CliIO): Promise<Registry> {
  const registry = await Registry.load({ plugins });
  for (const e of registry.loadErrors) io.stderr(`warning: node pack ${e.pack} was not loaded: ${e.message}\n`);
  return registry;
}
