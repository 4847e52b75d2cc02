// Server benchmark on loopback: (1) jobs accepted per second for a trivial workflow (Int → PreviewValue, real
// engine: schema check + validation + SQLite insert per request), and the rate at which they then execute;
// (2) event latency with 50 connected WebSocket clients (server timestamp → client receipt, same clock);
// (3) event routing: POST /prompt latency while 1 and then 200 WebSocket clients each queue their own share of 500
// jobs (execution events go only to the submitting client), and how many events reached a client that did not
// queue their job (must be 0).
// The server runs in a child process so clients and server do not share an event loop.
// Usage: node --import tsx bench/server/main.ts [--jobs 300] [--clients 50] [--concurrency 8] [--routed-clients 200]
//        [--routed-jobs 500]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const JOBS = flag('jobs', 300);
const CLIENTS = flag('clients', 50);
const CONCURRENCY = flag('concurrency', 8);
const ROUTED_CLIENTS = flag('routed-clients', 200);
const ROUTED_JOBS = flag('routed-jobs', 500);
const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, '..', '..', 'test', 'server', 'fixtures', 'child-server.ts');

function trivial(value: number): unknown {
  return {
    format: 'kosmos-g/workflow',
    version: 1,
    nodes: [
      { id: '1', type: 'Int', widgets: { value } },
      { id: '2', type: 'PreviewValue', inputs: { value: { node: '1', output: 'value' } } },
    ],
  };
}

/** Counter → image: execution_start, executing, progress, metrics, a preview, executed, execution_success. */
function streaming(steps: number, delayMs: number): unknown {
  return {
    format: 'kosmos-g/workflow',
    version: 1,
    nodes: [
      { id: '1', type: 'TestCounter', widgets: { steps, delayMs } },
      { id: '2', type: 'TestImageOut', inputs: { value: { node: '1', output: 'value' } } },
    ],
  };
}

interface Routed {
  clients: number;
  p50: number;
  p99: number;
  own: number;
  foreign: number;
}

/**
 * `clients` sockets, each with its own clientId, queue `jobs` jobs between them (round robin, CONCURRENCY at a
 * time, each with its client_id); POST /prompt latency, and the execution events each socket got for its own
 * jobs and for others'.
 */
async function routed(port: number, clients: number, jobs: number): Promise<Routed> {
  const base = `http://127.0.0.1:${port}`;
  const sockets = await Promise.all(
    Array.from({ length: clients }, (_, i) => new Promise<{ id: string; ws: WebSocket; mine: Set<string>; seen: string[]; done: number }>((resolve, reject) => {
      const id = `bench${clients}-${i}`;
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?clientId=${id}`);
      const c = { id, ws, mine: new Set<string>(), seen: [] as string[], done: 0 };
      ws.on('message', (data, isBinary) => {
        if (isBinary) return;
        const m = JSON.parse(data.toString()) as { type: string; data: { prompt_id?: string } };
        if (m.data.prompt_id === undefined) return;
        c.seen.push(m.data.prompt_id);
        if (m.type === 'execution_success') c.done++;
      });
      ws.on('open', () => resolve(c));
      ws.on('error', reject);
    })),
  );
  const latencies: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < jobs) {
        const owner = sockets[next++ % clients]!;
        const t = performance.now();
        const r = await fetch(`${base}/prompt`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ workflow: streaming(3, 0), client_id: owner.id }) });
        const body = (await r.json()) as { prompt_id: string };
        latencies.push(performance.now() - t);
        if (r.status !== 200) throw new Error(`submit failed: ${JSON.stringify(body)}`);
        owner.mine.add(body.prompt_id);
      }
    }),
  );
  // Every socket has its own jobs' ends; then a ping round trip on each flushes what else it was sent.
  const deadline = Date.now() + 120_000;
  while (sockets.some((c) => c.done < c.mine.size) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await Promise.all(sockets.map((c) => new Promise<void>((resolve) => {
    c.ws.once('pong', () => resolve());
    c.ws.ping();
  })));
  for (const c of sockets) c.ws.close();
  latencies.sort((a, b) => a - b);
  const own = sockets.reduce((n, c) => n + c.seen.filter((p) => c.mine.has(p)).length, 0);
  const foreign = sockets.reduce((n, c) => n + c.seen.filter((p) => !c.mine.has(p)).length, 0);
  return { clients, p50: percentile(latencies, 50), p99: percentile(latencies, 99), own, foreign };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kosmos-bench-'));
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    // Warm up (first validation, first run).
    await fetch(`${base}/prompt`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ workflow: trivial(-1) }) });

    // 1. Acceptance rate.
    let next = 0;
    const ids: string[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < JOBS) {
          const i = next++;
          const r = await fetch(`${base}/prompt`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ workflow: trivial(i) }) });
          const body = (await r.json()) as { prompt_id: string };
          if (r.status !== 200) throw new Error(`submit failed: ${JSON.stringify(body)}`);
          ids.push(body.prompt_id);
        }
      }),
    );
    const acceptSeconds = (performance.now() - t0) / 1000;
    // Then wait until every job has run.
    for (;;) {
      const q = (await (await fetch(`${base}/prompt`)).json()) as { exec_info: { queue_remaining: number } };
      if (q.exec_info.queue_remaining === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const allSeconds = (performance.now() - t0) / 1000;

    // 2. Event latency with many clients: a job streaming 200 metric events.
    const clients = await Promise.all(
      Array.from({ length: CLIENTS }, () => new Promise<WebSocket>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
        ws.on('open', () => resolve(ws));
        ws.on('error', reject);
      })),
    );
    const latencies: number[] = [];
    let done = 0;
    const finished = new Promise<void>((resolve) => {
      for (const ws of clients) {
        ws.on('message', (data, isBinary) => {
          if (isBinary) return;
          const m = JSON.parse(data.toString()) as { type: string; data: { timestamp?: number } };
          if (m.type === 'kosmos.metrics') latencies.push(Date.now() - m.data.timestamp!);
          if (m.type === 'execution_success' && ++done === clients.length) resolve();
        });
      }
    });
    const steps = 200;
    await fetch(`${base}/prompt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        workflow: {
          format: 'kosmos-g/workflow',
          version: 1,
          nodes: [
            { id: '1', type: 'TestCounter', widgets: { steps, delayMs: 2 } },
            { id: '2', type: 'TestImageOut', inputs: { value: { node: '1', output: 'value' } } },
          ],
        },
      }),
    });
    await finished;
    latencies.sort((a, b) => a - b);
    for (const ws of clients) ws.close();

    // 3. Routing: the same run, one client and then many.
    const single = await routed(port, 1, ROUTED_JOBS);
    const many = await routed(port, ROUTED_CLIENTS, ROUTED_JOBS);

    console.log('kosmos-g server benchmark (loopback, server in a child process)');
    console.log('| measure | value |');
    console.log('| --- | --- |');
    console.log(`| jobs accepted (POST /prompt, ${CONCURRENCY} concurrent, ${JOBS} jobs) | ${(JOBS / acceptSeconds).toFixed(0)} jobs/s |`);
    console.log(`| accepted and executed (Int → PreviewValue) | ${(JOBS / allSeconds).toFixed(0)} jobs/s |`);
    console.log(`| event latency, ${CLIENTS} ws clients, ${latencies.length} deliveries: p50 / p95 / p99 / max | ${percentile(latencies, 50)} / ${percentile(latencies, 95)} / ${percentile(latencies, 99)} / ${latencies.at(-1)} ms |`);
    console.log('');
    console.log(`routing: ${ROUTED_JOBS} jobs queued by their own clients (counter → image, ${CONCURRENCY} concurrent POSTs)`);
    console.log('| ws clients | POST /prompt p50 / p99 | execution events to their own client | to any other client |');
    console.log('| --- | --- | --- | --- |');
    for (const r of [single, many]) console.log(`| ${r.clients} | ${r.p50.toFixed(1)} / ${r.p99.toFixed(1)} ms | ${r.own} | ${r.foreign} |`);
    console.log(`p99 with ${ROUTED_CLIENTS} clients / with 1: ${(many.p99 / single.p99).toFixed(2)}×`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
