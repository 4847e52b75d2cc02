// kosmos-g serve [--port N] [--host H] [--data DIR] [--token T] [--open-default] [--queue URL] [--worker-token T]: the server lives in
// server/serve.ts (another module of the project); the CLI parses flags, starts it and waits for Ctrl-C.
import { flagBoolean, flagString, parseArgs, usage } from './args.ts';
import type { CliIO } from './io.ts';
import { configuredQueue } from './queue-config.ts';

export interface ServeModule {
  serve(options: { port?: number; host?: string; data?: string; token?: string; openDefault?: boolean; queue?: string; workerToken?: string }): Promise<{ url: string; close(): Promise<void> }>;
}

export async function serveCommand(argv: readonly string[], io: CliIO, until: Promise<void>): Promise<number> {
  const args = parseArgs(argv, { port: { kind: 'string' }, host: { kind: 'string' }, data: { kind: 'string' }, token: { kind: 'string' }, 'open-default': { kind: 'boolean' }, queue: { kind: 'string' }, 'worker-token': { kind: 'string' } }, 'serve');
  if (args.positionals.length > 0) throw usage('serve: takes no arguments');
  const portText = flagString(args, 'port');
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw usage(`serve: --port ${portText} is not a port number (0-65535)`);
  const host = flagString(args, 'host');
  const data = flagString(args, 'data');
  const token = flagString(args, 'token');
  const queue = flagString(args, 'queue') ?? configuredQueue('serve');
  const workerToken = flagString(args, 'worker-token');
  const mod = (await import('../serve.ts')) as unknown as ServeModule;
  const server = await mod.serve({
    ...(port !== undefined ? { port } : {}),
    ...(host !== undefined ? { host } : {}),
    ...(data !== undefined ? { data } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(queue !== undefined ? { queue } : {}),
    ...(workerToken !== undefined ? { workerToken } : {}),
    openDefault: flagBoolean(args, 'open-default'),
  });
  io.stdout(`kosmos-g serving at ${server.url}\n`);
  await until;
  await server.close();
  return 0;
}
