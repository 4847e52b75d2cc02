// The Redis a server and its workers share, named by a `redis://HOST:PORT/DB` (or `rediss://` for TLS) URL, and
// the names kosmos-g keeps there. Credentials go in the URL (`redis://USER:PASSWORD@HOST:PORT/DB`, Redis ACL users).
import { Redis } from 'ioredis';
import { isLoopback } from '../security.ts';

export class QueueError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export interface QueueTarget {
  url: string;
  host: string;
  port: number;
  db: number;
  tls: boolean;
}

/** `--queue` values: `sqlite` (the default, in-process) or a Redis URL. */
export function parseQueueUrl(text: string, flag = '--queue'): QueueTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new QueueError('BAD_QUEUE_URL', `${flag} ${text}: expected redis://HOST:PORT/DB or rediss://HOST:PORT/DB`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new QueueError('BAD_QUEUE_URL', `${flag} ${text}: the scheme must be redis:// or rediss:// (TLS)`);
  }
  const port = url.port === '' ? 6379 : Number(url.port);
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0 || db > 15) throw new QueueError('BAD_QUEUE_URL', `${flag} ${text}: the database must be a number 0-15`);
  return { url: text, host: url.hostname.replace(/^\[|\]$/g, ''), port, db, tls: url.protocol === 'rediss:' };
}

/** Redis beyond this machine is reached by workers elsewhere: their messages must then be signed with a token. */
export function needsToken(target: QueueTarget): boolean {
  return !isLoopback(target.host) && target.host !== 'localhost';
}

/**
 * A connection; BullMQ's blocking commands need `maxRetriesPerRequest: null` (commands wait through a Redis
 * restart instead of failing), which also suits kosmos-g's own reads and writes: nothing is dropped while Redis
 * comes back.
 */
export function connect(target: QueueTarget, name: string): Redis {
  const redis = new Redis(target.url, { maxRetriesPerRequest: null, connectionName: name, lazyConnect: false });
  // ioredis reconnects by itself; without a listener an unreachable Redis would be an unhandled 'error' event.
  redis.on('error', warnEvery10s(`kosmos-g ${name}: Redis ${target.host}:${target.port}:`));
  return redis;
}

/** A warning printer for errors that repeat while Redis is away: once per 10 s, with "(retrying)". */
export function warnEvery10s(prefix: string): (err: Error) => void {
  let warned = 0;
  return (err) => {
    if (Date.now() - warned < 10_000) return;
    warned = Date.now();
    console.warn(`${prefix} ${err.message} (retrying)`);
  };
}

/** Waits for `p` at most `ms` (closing must not hang on a Redis that is away); never rejects. */
export function bounded(p: Promise<unknown>, ms = 1000): Promise<unknown> {
  return Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, ms).unref())]);
}

/** Every key kosmos-g keeps in Redis starts with this. */
export const PREFIX = 'kosmos-g';
export const KEYS = {
  /** Hash: worker id → its advertisement (WorkerInfo JSON), refreshed every few seconds. */
  workers: `${PREFIX}:workers`,
  /** Stream of what workers report (job started, engine events with files, results); the server reads it as a group. */
  events: `${PREFIX}:events`,
  /** Hash: job id → the BullMQ queue it was sent to. */
  routes: `${PREFIX}:routes`,
  /** Pub/sub channel: job ids to cancel. */
  cancel: `${PREFIX}:cancel`,
  /** A job cancelled before its worker heard of it (the worker checks on starting it). */
  cancelled: (id: string) => `${PREFIX}:cancelled:${id}`,
} as const;
/** BullMQ's own keys live under this prefix. */
export const BULL_PREFIX = `${PREFIX}:bull`;
/** The server's consumer group on the events stream. */
export const SERVER_GROUP = 'server';
