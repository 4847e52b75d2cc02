// The WebSocket hub at /ws. Events are routed as ComfyUI routes them: a job's execution events (executing,
// progress, executed, previews, ...) go only to the sockets of the `client_id` that queued it (to everyone when it
// named none, as ComfyUI broadcasts a prompt without a client id); queue status goes to everyone. A dashboard may
// opt in to every job's events with `?watch=all` (allowed by `mayWatchAll`: with a token, only to a client that
// presented it). Garbage, oversized messages and floods close the socket with a code; nothing a client sends can
// crash the server.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { WsMessage } from './comfy-events.ts';
import { legacyPreviewFrame, previewFrame } from './comfy-events.ts';
import { requestUrl } from './security.ts';

/** RFC 6455 close codes the hub uses. */
export const CLOSE = {
  unsupportedData: 1003, // a binary frame (the protocol is JSON text)
  invalidPayload: 1007, // text that is not a JSON object with a string `type`
  policyViolation: 1008, // flooding, or a client too slow to keep up
  tooBig: 1009, // sent by ws itself when a message exceeds maxPayload
} as const;

export interface UpgradeVerdict {
  ok: boolean;
  status?: number;
  code?: string;
  message?: string;
}

export interface HubOptions {
  /** Largest client message in bytes (ws closes with 1009 beyond it). */
  maxMessageBytes?: number;
  /** Most client messages in one second before the socket is closed with 1008. */
  maxMessagesPerSecond?: number;
  /** A client whose unsent backlog exceeds this is closed with 1008 rather than buffering without bound. */
  maxBufferedBytes?: number;
  /**
   * Every this many milliseconds each client is pinged; one that has not answered the previous ping (a peer that
   * vanished without closing its connection) is dropped. 0 turns the heartbeat off.
   */
  heartbeatMs?: number;
  verifyUpgrade?: (req: IncomingMessage) => UpgradeVerdict;
  /** Whether an upgrade asking for `?watch=all` may have it (default: yes); refused upgrades get 403 WATCH_FORBIDDEN. */
  mayWatchAll?: (req: IncomingMessage) => boolean;
  /** The first messages a client receives (ComfyUI sends `status` with its sid, then its running node). */
  greeting?: (client: { id: string; watchAll: boolean }) => WsMessage[];
  featureFlags?: Record<string, unknown>;
}

interface Client {
  id: string;
  ws: WebSocket;
  /**
   * How this client gets previews, as ComfyUI negotiates it: `legacy` (binary frame 1, the default that every
   * ComfyUI client reads), `metadata` (binary frame 4 naming job and node, for clients that announce
   * `supports_preview_metadata` in `feature_flags`), or `json` (`kosmos.preview` with base64 data, `?previews=json`).
   */
  previews: 'legacy' | 'metadata' | 'json';
  /** Receives every job's execution events (a dashboard), not only its own. */
  watchAll: boolean;
  windowStart: number;
  windowCount: number;
  /** Answered the last heartbeat ping (or connected since). */
  alive: boolean;
}

export class EventHub {
  private readonly wss: WebSocketServer;
  private readonly clients = new Set<Client>();
  /** Sockets by client id (a client may hold several, e.g. two tabs), so a job's events cost one lookup. */
  private readonly byId = new Map<string, Set<Client>>();
  private readonly watchers = new Set<Client>();
  private readonly options: Required<Omit<HubOptions, 'verifyUpgrade' | 'mayWatchAll' | 'greeting' | 'featureFlags'>> & HubOptions;
  private readonly heartbeat: NodeJS.Timeout | undefined;

  constructor(options: HubOptions = {}) {
    this.options = {
      maxMessageBytes: 64 * 1024,
      maxMessagesPerSecond: 100,
      maxBufferedBytes: 16 * 1024 * 1024,
      heartbeatMs: 30_000,
      ...options,
    };
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.options.maxMessageBytes });
    if (this.options.heartbeatMs > 0) {
      this.heartbeat = setInterval(() => this.checkAlive(), this.options.heartbeatMs);
      this.heartbeat.unref();
    }
  }

  /** Drop clients that did not answer the last ping; ping the rest. */
  private checkAlive(): void {
    for (const c of this.clients) {
      if (!c.alive) {
        this.remove(c);
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      try {
        c.ws.ping();
      } catch {
        // Not open any more: its close event removes it.
      }
    }
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Handles upgrades on `/ws` (and `/api/ws`); any other upgrade path is refused with 404. */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      // This runs outside express: anything thrown here would be an uncaught exception that ends the server.
      try {
        const url = requestUrl(req);
        if (url === undefined) return refuse(socket, 400, 'BAD_REQUEST', 'the request target is not a valid path');
        if (url.pathname !== '/ws' && url.pathname !== '/api/ws') return refuse(socket, 404, 'NOT_FOUND', 'no WebSocket endpoint here');
        const verdict = this.options.verifyUpgrade?.(req) ?? { ok: true };
        if (!verdict.ok) return refuse(socket, verdict.status ?? 403, verdict.code ?? 'FORBIDDEN', verdict.message ?? 'forbidden');
        const watchAll = url.searchParams.get('watch') === 'all';
        if (watchAll && this.options.mayWatchAll?.(req) === false) {
          return refuse(socket, 403, 'WATCH_FORBIDDEN', 'watch=all needs the server token');
        }
        this.wss.handleUpgrade(req, socket, head, (ws) => this.connect(ws, url, watchAll));
      } catch (error) {
        console.error('[kosmos-g server] WebSocket upgrade failed:', error);
        refuse(socket, 500, 'INTERNAL', 'internal error');
      }
    });
  }

  private connect(ws: WebSocket, url: URL, watchAll: boolean): void {
    const requested = url.searchParams.get('clientId') ?? '';
    const id = /^[A-Za-z0-9_-]{1,64}$/.test(requested) ? requested : randomUUID().replace(/-/g, '');
    const client: Client = {
      id,
      ws,
      previews: url.searchParams.get('previews') === 'json' ? 'json' : 'legacy',
      watchAll,
      windowStart: Date.now(),
      windowCount: 0,
      alive: true,
    };
    this.clients.add(client);
    let same = this.byId.get(id);
    if (same === undefined) this.byId.set(id, (same = new Set()));
    same.add(client);
    if (watchAll) this.watchers.add(client);
    ws.on('pong', () => (client.alive = true));
    ws.on('close', () => this.remove(client));
    ws.on('error', () => {
      this.remove(client);
      ws.terminate();
    });
    ws.on('message', (raw: RawData, isBinary: boolean) => this.receive(client, raw, isBinary));
    for (const m of this.options.greeting?.({ id, watchAll }) ?? []) this.send(client, JSON.stringify(m));
  }

  private remove(client: Client): void {
    this.clients.delete(client);
    this.watchers.delete(client);
    const same = this.byId.get(client.id);
    same?.delete(client);
    if (same?.size === 0) this.byId.delete(client.id);
  }

  /**
   * Who receives a job's execution events: the sockets of the client that queued it and the watchers; everyone
   * when the job named no client (ComfyUI's rule for a prompt without a client id).
   */
  private audience(clientId: string | null): Iterable<Client> {
    if (clientId === null) return this.clients;
    const own = this.byId.get(clientId);
    if (this.watchers.size === 0) return own ?? [];
    if (own === undefined) return this.watchers;
    return new Set([...own, ...this.watchers]);
  }

  private receive(client: Client, raw: RawData, isBinary: boolean): void {
    const now = Date.now();
    if (now - client.windowStart >= 1000) {
      client.windowStart = now;
      client.windowCount = 0;
    }
    if (++client.windowCount > this.options.maxMessagesPerSecond) {
      return client.ws.close(CLOSE.policyViolation, 'too many messages');
    }
    if (isBinary) return client.ws.close(CLOSE.unsupportedData, 'binary messages are not accepted');
    let msg: unknown;
    try {
      msg = JSON.parse(raw.toString());
    } catch {
      return client.ws.close(CLOSE.invalidPayload, 'message is not JSON');
    }
    if (typeof msg !== 'object' || msg === null || typeof (msg as { type?: unknown }).type !== 'string') {
      return client.ws.close(CLOSE.invalidPayload, 'message must be an object with a string type');
    }
    const type = (msg as { type: string }).type;
    if (type === 'feature_flags') {
      const data = (msg as { data?: { supports_preview_metadata?: unknown } }).data;
      if (client.previews !== 'json' && data?.supports_preview_metadata === true) client.previews = 'metadata';
      this.send(client, JSON.stringify({ type: 'feature_flags', data: this.options.featureFlags ?? {} }));
    } else if (type === 'ping') {
      this.send(client, JSON.stringify({ type: 'pong', data: {} }));
    }
    // Other types are ignored, so newer clients can talk to older servers.
  }

  private send(client: Client, payload: string | Buffer): void {
    if (client.ws.readyState !== WebSocket.OPEN) return;
    if (client.ws.bufferedAmount > this.options.maxBufferedBytes) {
      client.ws.close(CLOSE.policyViolation, 'client is not reading its messages');
      return;
    }
    client.ws.send(payload);
  }

  /** To every client: queue status. */
  broadcast(msg: WsMessage): void {
    if (this.clients.size === 0) return;
    const text = JSON.stringify(msg);
    for (const c of this.clients) this.send(c, text);
  }

  /** One of a job's execution events, to its audience (see `audience`). */
  sendJobEvent(clientId: string | null, msg: WsMessage): void {
    let text: string | undefined;
    for (const c of this.audience(clientId)) this.send(c, (text ??= JSON.stringify(msg)));
  }

  /** A job's preview image, to its audience, in the form each client asked for. */
  sendJobPreview(clientId: string | null, jobId: string, nodeId: string, mime: string, data: Uint8Array): void {
    let frame: Buffer | undefined;
    let legacy: Buffer | undefined;
    let json: string | undefined;
    for (const c of this.audience(clientId)) {
      if (c.previews === 'json') {
        json ??= JSON.stringify({
          type: 'kosmos.preview',
          data: { prompt_id: jobId, node: nodeId, mime, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') },
        });
        this.send(c, json);
      } else if (c.previews === 'metadata') {
        frame ??= previewFrame(jobId, nodeId, mime, data);
        this.send(c, frame);
      } else {
        legacy ??= legacyPreviewFrame(mime, data);
        this.send(c, legacy);
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const c of this.clients) c.ws.terminate();
    this.clients.clear();
    this.byId.clear();
    this.watchers.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

function refuse(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { code, message } });
  const reason = ({ 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 500: 'Internal Server Error' } as Record<number, string>)[status] ?? 'Forbidden';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
