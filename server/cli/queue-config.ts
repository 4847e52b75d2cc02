// The queue a `serve` or `worker` uses when --queue is not given: `queue` in ./kosmos-g.config.json, else none.
import { existsSync, readFileSync } from 'node:fs';
import { CONFIG_FILE } from '../../engine/registry.ts';
import { usage } from './args.ts';

export function configuredQueue(command: string): string | undefined {
  if (!existsSync(CONFIG_FILE)) return undefined;
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(CONFIG_FILE, 'utf8'));
  } catch (err) {
    throw usage(`${command}: ${CONFIG_FILE} is not valid JSON (${(err as Error).message})`);
  }
  const queue = (config as { queue?: unknown } | null)?.queue;
  if (queue === undefined) return undefined;
  if (typeof queue !== 'string') throw usage(`${command}: ${CONFIG_FILE}: "queue" must be a string ("sqlite" or "redis://HOST:PORT/DB")`);
  return queue;
}
