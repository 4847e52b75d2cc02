// Starting the server: open the data folder (db, uploads, outputs), load the engine, listen, recover the queue.
// Binding anywhere but loopback requires a token.
import http from 'node:http';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from './app.ts';
import { DEFAULT_LIMITS, dataFolders, serverFeatures, type Limits, type ServerContext } from './context.ts';
import type { EnginePort } from './engine-port.ts';
import { EventHub, type HubOptions } from './hub.ts';
import { JobQueue } from './queue.ts';
import type { QueuePort } from './queue-port.ts';
import { checkRequest, isLoopback, presentedToken, type SecurityPolicy } from './security.ts';
import { JobStore } from './store.ts';

export interface ServeOptions {
  port?: number;
  host?: string;
  data?: string;
  token?: string;
  /** The editor opens workflows/generate.json (when present) instead of its small built-in default. */
  openDefault?: boolean;
  /**
   * `sqlite` (default: jobs run in this process) or `redis://HOST:PORT/DB` (jobs run in `kosmos-g worker`
   * processes sharing that Redis; see docs/scale-out.md).
   */
  queue?: string;
  /** The secret the server and its workers sign jobs and reports with (default KOSMOS_G_WORKER_TOKEN). */
  workerToken?: string;
}

export interface ServerHandle {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** For tests and benchmarks: a stand-in engine, other limits, hub options. */
export interface ServeInternals {
  engine?: EnginePort;
  limits?: Partial<Limits>;
  hub?: Omit<HubOptions, 'verifyUpgrade' | 'mayWatchAll' | 'greeting'>;
  quiet?: boolean;
  /** Extra node pack folders (in addition to the built-ins, KOSMOS_G_PLUGINS and kosmos-g.config.json). */
  plugins?: string[];
  /** false: load only `plugins` (tests that need a fast start). */
  builtins?: boolean;
  /** Free cached models and sessions after this long idle (default: KOSMOS_G_IDLE_FREE_S seconds, else 600; 0: never). */
  idleFreeMs?: number;
}

/** How long the queue stays idle before the server frees cached models and sessions (KOSMOS_G_IDLE_FREE_S). */
function idleFreeMs(internals: ServeInternals): number {
  if (internals.idleFreeMs !== undefined) return internals.idleFreeMs;
  const seconds = Number(process.env.KOSMOS_G_IDLE_FREE_S ?? 600);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_PORT = 8188;

export class ServeError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export async function serve(options: ServeOptions = {}, internals: ServeInternals = {}): Promise<ServerHandle> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? (process.env.KOSMOS_G_TOKEN || undefined);
  if (!isLoopback(host) && !token) {
    throw new ServeError('TOKEN_REQUIRED', `serve --host ${host}: binding beyond loopback needs a token (--token or KOSMOS_G_TOKEN)`);
  }
  if (token !== undefined && token.length < 16) throw new ServeError('TOKEN_TOO_SHORT', 'serve --token: use at least 16 characters');
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ServeError('BAD_PORT', `serve --port ${port}: expected 0-65535`);

  const redisTarget = options.queue === undefined || options.queue === 'sqlite' ? undefined : (await import('./redis/connection.ts')).parseQueueUrl(options.queue);
  const workerToken = options.workerToken ?? (process.env.KOSMOS_G_WORKER_TOKEN || undefined);
  if (redisTarget) (await import('./redis/signing.ts')).checkToken(redisTarget, workerToken, 'serve');

  const dataDir = path.resolve(options.data ?? 'data');
  const { dbFile, uploadsDir, outputsDir } = dataFolders(dataDir);
  const engine = internals.engine ?? (await (await import('./engine-adapter.ts')).loadEngine({ dataDir, ...(internals.plugins ? { plugins: internals.plugins } : {}), ...(internals.builtins === false ? { builtins: false } : {}) }));
  const store = new JobStore(dbFile);
  const policy: SecurityPolicy = { boundHost: host, port, ...(token ? { token } : {}) };
  let queue: QueuePort | undefined;
  const hub = new EventHub({
    ...internals.hub,
    verifyUpgrade: (req) => checkRequest(req, policy, true),
    // The upgrade has passed checkRequest, which already demands the token when one is set: say so explicitly, so
    // watching every job stays tied to the token whatever checkRequest becomes.
    mayWatchAll: (req) => !policy.token || presentedToken(req).token === policy.token,
    greeting: (client) => {
      const running = queue?.current();
      // A client that (re)connects mid-run learns which node is running, as ComfyUI does on reconnect, when the
      // job is one whose events it receives.
      const sees = running && (running.clientId === null || running.clientId === client.id || client.watchAll);
      return [
        { type: 'status', data: { status: { exec_info: { queue_remaining: queue?.queueRemaining() ?? 0 } }, sid: client.id } },
        ...(sees ? [{ type: 'executing', data: { node: running.node, display_node: running.node, prompt_id: running.id } }] : []),
      ];
    },
    featureFlags: serverFeatures({ ...DEFAULT_LIMITS, ...internals.limits }),
  });
  queue = redisTarget
    ? new (await import('./redis/redis-queue.ts')).RedisJobQueue(store, engine, hub, outputsDir, uploadsDir, redisTarget, workerToken)
    : new JobQueue(store, engine, hub, outputsDir, idleFreeMs(internals));
  const defaultFile = path.join(REPO_ROOT, 'workflows', 'generate.json');
  const ctx: ServerContext = {
    store,
    queue,
    engine,
    hub,
    dataDir,
    uploadsDir,
    outputsDir,
    limits: { ...DEFAULT_LIMITS, ...internals.limits },
    defaultWorkflow: async () => {
      if (!options.openDefault || !existsSync(defaultFile)) return null;
      try {
        return { name: 'generate', workflow: JSON.parse(await readFile(defaultFile, 'utf8')) };
      } catch (err) {
        console.warn(`kosmos-g server: ${defaultFile} is not valid JSON (${(err as Error).message}); the editor opens its own default`);
        return null;
      }
    },
  };
  const app = createApp(ctx, policy);
  const server = http.createServer({ maxHeaderSize: 16 * 1024 }, app);
  server.headersTimeout = 20_000;
  server.requestTimeout = 120_000;
  hub.attach(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ServeError(err.code === 'EADDRINUSE' ? 'PORT_IN_USE' : 'LISTEN_FAILED', `serve ${host}:${port}: ${err.message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  const actualPort = (server.address() as { port: number }).port;
  policy.port = actualPort;
  const interrupted = await queue.start();
  const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const url = `http://${urlHost}:${actualPort}/${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  if (!internals.quiet) {
    console.log(`kosmos-g server: data folder ${dataDir}`);
    if (redisTarget) console.log(`kosmos-g server: jobs go to kosmos-g workers through Redis at ${redisTarget.host}:${redisTarget.port}/${redisTarget.db}`);
    if (interrupted.length) console.log(`kosmos-g server: ${interrupted.length} job(s) were running at the last stop; marked interrupted`);
    for (const e of engine.loadErrors()) console.warn(`kosmos-g server: node pack ${e.pack} failed to load: ${e.message}`);
  }
  let closed: Promise<void> | undefined;
  return {
    url,
    port: actualPort,
    close: () =>
      (closed ??= (async () => {
        await queue.close();
        await hub.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        store.close();
      })()),
  };
}
