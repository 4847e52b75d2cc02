// Shared helpers for server tests: a real server (real engine + the test node pack) on a free port with a
// temporary data folder, JSON requests, and a WebSocket client that records what it receives.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { request as httpRequest } from 'node:http';
import { serve, type ServeInternals, type ServeOptions } from '../../server/serve.ts';

export const TEST_PACK = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'test-pack');

export interface TestServer {
  base: string;
  port: number;
  dataDir: string;
  close(): Promise<void>;
}

export async function startServer(options: ServeOptions = {}, internals: ServeInternals = {}): Promise<TestServer> {
  const dataDir = options.data ?? mkdtempSync(path.join(tmpdir(), 'kosmos-server-'));
  const handle = await serve({ port: 0, ...options, data: dataDir }, { plugins: [TEST_PACK], quiet: true, ...internals });
  return {
    base: `http://127.0.0.1:${handle.port}`,
    port: handle.port,
    dataDir,
    close: async () => {
      await handle.close();
      if (!options.data) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function json(
  base: string,
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const res = await fetch(base + route, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, body: parsed };
}

export interface WsRecorder {
  ws: WebSocket;
  messages: { type: string; data: any }[];
  binary: Buffer[];
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the first message matching `pred` (already received or future). */
  waitFor(pred: (m: { type: string; data: any }) => boolean, timeoutMs?: number): Promise<{ type: string; data: any }>;
}

export function connectWs(url: string, headers: Record<string, string> = {}): Promise<WsRecorder> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const messages: { type: string; data: any }[] = [];
    const binary: Buffer[] = [];
    const waiters: { pred: (m: { type: string; data: any }) => boolean; resolve: (m: { type: string; data: any }) => void }[] = [];
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.on('message', (data, isBinary) => {
      if (isBinary) return void binary.push(data as Buffer);
      const m = JSON.parse(data.toString());
      messages.push(m);
      for (const w of [...waiters]) {
        if (w.pred(m)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    });
    ws.on('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
    ws.on('error', reject);
    ws.on('open', () =>
      resolve({
        ws,
        messages,
        binary,
        closed,
        waitFor: (pred, timeoutMs = 10_000) => {
          const found = messages.find(pred);
          if (found) return Promise.resolve(found);
          return new Promise((res, rej) => {
            const t = setTimeout(() => rej(new Error(`timed out waiting; got ${messages.map((m) => m.type).join(',')}`)), timeoutMs);
            waiters.push({ pred, resolve: (m) => (clearTimeout(t), res(m)) });
          });
        },
      }),
    );
  });
}

/** Our workflow format: counter → image output (plus an optional early image feeding the counter). */
export function counterWorkflow(steps: number, delayMs: number, opts: { early?: boolean; prefix?: string } = {}): unknown {
  const nodes: unknown[] = [
    { id: '1', type: 'TestCounter', widgets: { steps, delayMs }, pos: [0, 0], size: [200, 80], ...(opts.early ? { inputs: { after: { node: '3', output: 'value' } } } : {}) },
    { id: '2', type: 'TestImageOut', widgets: { prefix: opts.prefix ?? 'out' }, inputs: { value: { node: '1', output: 'value' } }, pos: [300, 0], size: [200, 80] },
  ];
  if (opts.early) nodes.push({ id: '3', type: 'TestImageOut', widgets: { prefix: 'early' }, pos: [-300, 0], size: [200, 80] });
  return { format: 'kosmos-g/workflow', version: 1, nodes };
}

export async function waitUntil<T>(f: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The job's record once it has finished (done, error, cancelled or interrupted). */
export function finishedJob(base: string, id: string, timeoutMs = 15_000): Promise<any> {
  return waitUntil(async () => {
    const job = (await json(base, 'GET', `/api/jobs/${id}`)).body;
    return ['done', 'error', 'cancelled', 'interrupted'].includes(job.status) ? job : undefined;
  }, timeoutMs, `job ${id} to finish`);
}

/** A request with exact control over the path (no URL normalisation) and headers such as Host. */
export function raw(
  port: number,
  method: string,
  rawPath: string,
  headers: Record<string, string> = {},
  body?: Buffer | string,
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path: rawPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export function multipart(boundary: string, parts: { name: string; filename?: string; data: Buffer | string }[]): Buffer {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disp = `form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disp}\r\n\r\n`), Buffer.from(p.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

export const PNG_1x1 = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==',
  'base64',
);
