// Scale-out benchmark, one run, side by side: the SQLite queue (jobs in the server's process) against the Redis
// queue with 1, 2 and 4 `kosmos-g worker` processes on this machine.
//   1. queue overhead per job: one trivial job at a time (Int → PreviewValue), POST /prompt → execution_success
//      on the WebSocket; p50 and p90. Redis's overhead per job = its p50 − SQLite's p50.
//   2. throughput on cheap jobs: N jobs that each wait 50 ms (TestCounter: no CPU, so workers can overlap even on
//      2 cores), queued at once; jobs/s and the speed-up over 1 worker (linear: ×workers).
//   3. throughput on default-model generations (workflows/generate.json, a new seed each): CPU-bound, so the
//      machine's cores bound the speed-up.
// The server and the workers are child processes; Redis is Debian's redis-server on a loopback port (AOF on).
// Usage: node --import tsx bench/scale/main.ts [--serial 100] [--cheap 200] [--generations 8] [--workers 1,2,4]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { redisMissing, startRedis } from '../../test/server/redis-server.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const SERIAL = Number(flag('serial', '100'));
const CHEAP = Number(flag('cheap', '200'));
const GENERATIONS = Number(flag('generations', '8'));
const WORKERS = flag('workers', '1,2,4').split(',').map(Number);
const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..', '..');
const CHILD_SERVER = path.join(REPO, 'test', 'server', 'fixtures', 'child-server.ts');
const CHILD_WORKER = path.join(REPO, 'test', 'server', 'fixtures', 'child-worker.ts');
const BUILTINS = 'core,kosmos,diffusion';

const trivial = (value: number) => ({
  format: 'kosmos-g/workflow',
  version: 1,
  nodes: [
    { id: '1', type: 'Int', widgets: { value } },
    { id: '2', type: 'PreviewValue', inputs: { value: { node: '1', output: 'value' } } },
  ],
});
const waiting = (ms: number) => ({ format: 'kosmos-g/workflow', version: 1, nodes: [{ id: '1', type: 'TestCounter', widgets: { steps: 1, delayMs: ms } }, { id: '2', type: 'PreviewValue', inputs: { value: { node: '1', output: 'value' } } }] });
const generate = JSON.parse(readFileSync(path.join(REPO, 'workflows', 'generate.json'), 'utf8'));
let seed = 100;
const generation = () => {
  const wf = structuredClone(generate);
  wf.nodes.find((n: { id: string }) => n.id === 'sample').widgets.seed = seed++;
  return wf;
};

function spawnReady(file: string, argv: string[]): Promise<{ child: ChildProcess; line: { port?: number } }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...argv], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, KOSMOS_G_BUILTINS: BUILTINS } });
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ child, line: JSON.parse(line) });
    });
    child.once('exit', (code) => reject(new Error(`${path.basename(file)} exited (${code})`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** A client of one server: submits workflows and resolves when each has finished (execution_success). */
async function client(port: number) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?clientId=bench`);
  const pending = new Map<string, () => void>();
  const early = new Set<string>();
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const m = JSON.parse(data.toString()) as { type: string; data: { prompt_id?: string } };
    if ((m.type === 'execution_success' || m.type === 'execution_error') && m.data.prompt_id) {
      if (m.type === 'execution_error') console.error('job failed:', JSON.stringify(m.data));
      const w = pending.get(m.data.prompt_id);
      if (w) w();
      else early.add(m.data.prompt_id);
    }
  });
  await new Promise((r) => ws.once('open', r));
  const run = async (workflow: unknown): Promise<void> => {
    const res = await fetch(`http://127.0.0.1:${port}/prompt`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ workflow, client_id: 'bench' }) });
    const { prompt_id } = (await res.json()) as { prompt_id: string };
    if (early.delete(prompt_id)) return;
    await new Promise<void>((r) => pending.set(prompt_id, r));
  };
  return { run, close: () => ws.terminate() };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function serial(port: number, n: number): Promise<{ p50: number; p90: number }> {
  const c = await client(port);
  for (let i = 0; i < 10; i++) await c.run(trivial(i)); // warm-up
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await c.run(trivial(1000 + i));
    times.push(performance.now() - t);
  }
  c.close();
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p90: percentile(times, 90) };
}

/** Jobs per second for `n` jobs queued at once (8 requests in flight). */
async function throughput(port: number, n: number, make: () => unknown): Promise<number> {
  const c = await client(port);
  const t = performance.now();
  const all: Promise<void>[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < n) {
      next++;
      const p = c.run(make());
      all.push(p);
      await new Promise((r) => setTimeout(r, 0));
    }
  }));
  await Promise.all(all);
  const seconds = (performance.now() - t) / 1000;
  c.close();
  return n / seconds;
}

interface Row {
  queue: string;
  p50?: number;
  p90?: number;
  cheap: number;
  gens: number;
}

async function measure(port: number, label: string, warmGenerations: number): Promise<Row> {
  const s = await serial(port, SERIAL);
  const cheap = await throughput(port, CHEAP, () => waiting(50));
  await throughput(port, warmGenerations, generation); // models loaded in every process that runs them
  const gens = await throughput(port, GENERATIONS, generation);
  console.error(`  ${label}: p50 ${s.p50.toFixed(1)} ms, cheap ${cheap.toFixed(1)}/s, generations ${gens.toFixed(2)}/s`);
  return { queue: label, ...s, cheap, gens };
}

async function main(): Promise<void> {
  const missing = redisMissing();
  if (missing) {
    console.log(`bench/scale: skipped: ${missing}`);
    return;
  }
  const rows: Row[] = [];
  const sqliteData = mkdtempSync(path.join(tmpdir(), 'kosmos-bench-sqlite-'));
  const sqlite = await spawnReady(CHILD_SERVER, [sqliteData]);
  try {
    rows.push(await measure(sqlite.line.port!, 'sqlite (in-process)', 2));
  } finally {
    await stop(sqlite.child);
    rmSync(sqliteData, { recursive: true, force: true });
  }
  const redis = await startRedis();
  const data = mkdtempSync(path.join(tmpdir(), 'kosmos-bench-redis-'));
  const server = await spawnReady(CHILD_SERVER, [data, '--queue', redis.url]);
  const workers: ChildProcess[] = [];
  const workerDirs: string[] = [];
  try {
    for (const n of WORKERS) {
      while (workers.length < n) {
        const dir = mkdtempSync(path.join(tmpdir(), 'kosmos-bench-worker-'));
        workerDirs.push(dir);
        workers.push((await spawnReady(CHILD_WORKER, [redis.url, dir, `bench-w${workers.length + 1}`])).child);
      }
      await new Promise((r) => setTimeout(r, 2500)); // the server's registry refresh sees every worker
      rows.push(await measure(server.line.port!, `redis, ${n} worker${n > 1 ? 's' : ''}`, 2 * n));
    }
  } finally {
    await Promise.all(workers.map(stop));
    await stop(server.child);
    await redis.stop();
    for (const dir of [data, ...workerDirs]) rmSync(dir, { recursive: true, force: true });
  }

  const base = rows[0]!;
  const one = rows[1]!;
  console.log(`\nbench/scale: ${SERIAL} serial trivial jobs; ${CHEAP} cheap jobs (50 ms wait each); ${GENERATIONS} default-model generations\n`);
  console.log('| queue | serial p50 ms | serial p90 ms | overhead vs sqlite (p50) | cheap jobs/s | ×1 worker | generations/s | ×1 worker |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const redisRow = r !== base;
    console.log(
      `| ${r.queue} | ${r.p50!.toFixed(1)} | ${r.p90!.toFixed(1)} | ${redisRow ? `${(r.p50! - base.p50!).toFixed(1)} ms` : '—'} | ${r.cheap.toFixed(1)} | ${redisRow ? `${(r.cheap / one.cheap).toFixed(2)}` : '—'} | ${r.gens.toFixed(2)} | ${redisRow ? `${(r.gens / one.gens).toFixed(2)}` : '—'} |`,
    );
  }
  process.exit(0);
}

await main();
