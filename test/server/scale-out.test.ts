// Scale-out on a real redis-server: a kosmos-g server with `queue: redis://…` and kosmos-g worker processes.
// Events reach the client that queued the job, outputs reach the server through Redis, a job goes only to a worker
// that has its node packs, cancel reaches the worker at once; and the failure policy: a worker killed with -9 mid-job
// has its job run again on the other worker, a server killed with -9 and a Redis killed with -9 (AOF, fsync always)
// lose no acknowledged job. Without redis-server these tests skip and say so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { Redis } from 'ioredis';
import { connectWs, counterWorkflow, finishedJob, json, multipart, raw, startServer, waitUntil } from './helpers.ts';
import { redisMissing, startRedis } from './redis-server.ts';
import { KEYS } from '../../server/redis/connection.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD_WORKER = path.join(here, 'fixtures', 'child-worker.ts');
const CHILD_SERVER = path.join(here, 'fixtures', 'child-server.ts');
const REPO = path.resolve(here, '..', '..');
const missing = redisMissing();

interface Child {
  child: ChildProcess;
  line: any;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/** A child process that prints one JSON line when ready. */
function spawnChild(file: string, args: string[], env: Record<string, string> = {}): Promise<Child> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const end = async (signal: NodeJS.Signals): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    };
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ child, line: JSON.parse(line), kill9: () => end('SIGKILL'), stop: () => end('SIGTERM') });
    });
    child.once('exit', (code) => reject(new Error(`${path.basename(file)} exited (${code}): ${err}`)));
  });
}

async function startWorker(redisUrl: string, id: string, opts: { builtins?: string | false; lockMs?: number; token?: string } = {}): Promise<Child> {
  const data = mkdtempSync(path.join(tmpdir(), `kosmos-worker-${id}-`));
  const env: Record<string, string> = { KOSMOS_G_QUEUE_LOCK_MS: String(opts.lockMs ?? 3000) };
  if (typeof opts.builtins === 'string') env.KOSMOS_G_BUILTINS = opts.builtins;
  const child = await spawnChild(CHILD_WORKER, [redisUrl, data, id, ...(opts.builtins === false ? ['--no-builtins'] : []), ...(opts.token ? ['--token', opts.token] : [])], env);
  const tidy = (end: () => Promise<void>) => async () => {
    await end();
    rmSync(data, { recursive: true, force: true });
  };
  return { ...child, kill9: tidy(child.kill9), stop: tidy(child.stop) };
}

/** The colour TestImageOut paints for `value` (see fixtures/test-pack). */
async function assertCounterImage(file: string, value: number): Promise<void> {
  const { data } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  const shade = Math.max(0, Math.min(255, Math.round(value * 37) % 256));
  assert.deepEqual([data[0], data[1], data[2]], [shade, 64, 255 - shade], `${file} is the image for value ${value}`);
}

function outputFile(dataDir: string, job: any, node: string): string {
  const f = job.outputs[node].files[0];
  return path.join(dataDir, 'outputs', f.subfolder, f.filename);
}

test('scale-out: per-client events, outputs and uploads through Redis, routing by node packs, cancel within a second', { timeout: 120_000 }, async (t) => {
  if (missing) return t.skip(missing);
  const redis = await startRedis();
  // The server knows the core pack and the test pack; worker A has only the test pack.
  process.env.KOSMOS_G_BUILTINS = 'core';
  const server = await startServer({ queue: redis.url });
  const workers: Child[] = [];
  try {
    workers.push(await startWorker(redis.url, 'wa', { builtins: false }));
    const a = await connectWs(`ws://127.0.0.1:${server.port}/ws?clientId=alice`);
    const b = await connectWs(`ws://127.0.0.1:${server.port}/ws?clientId=bob`);

    const first = (await json(server.base, 'POST', '/prompt', { workflow: counterWorkflow(3, 5), client_id: 'alice' })).body.prompt_id as string;
    const job = await finishedJob(server.base, first, 30_000);
    assert.equal(job.status, 'done');
    assert.equal(job.outputs['2'].values.value, 3);
    await assertCounterImage(outputFile(server.dataDir, job, '2'), 3);
    const view = await fetch(`${server.base}/view?filename=out_2.png&subfolder=${first}&type=output`);
    assert.equal(view.status, 200);
    const listed = (await json(server.base, 'GET', '/api/workers')).body;
    assert.equal(listed.queue, 'redis');
    assert.deepEqual(listed.workers.map((w: any) => [w.id, w.packs]), [['wa', ['server-test-pack']]]);
    const worker = await a.waitFor((m) => m.type === 'kosmos.worker' && m.data.prompt_id === first);
    assert.equal(worker.data.worker, 'wa', 'the editor learns which worker runs the job');
    await a.waitFor((m) => m.type === 'execution_success' && m.data.prompt_id === first);
    assert.ok(a.messages.some((m) => m.type === 'progress' && m.data.prompt_id === first), 'progress reaches the client that queued the job');
    assert.ok(!b.messages.some((m) => m.data?.prompt_id === first), 'another client gets none of its events');

    // A job with a core node: no live worker has the core pack, so it waits, queued; a worker that has it runs it.
    const core = {
      format: 'kosmos-g/workflow',
      version: 1,
      nodes: [
        { id: 'n', type: 'Int', widgets: { value: 41 } },
        { id: 'sum', type: 'Arithmetic', widgets: { b: 1, op: 'add' }, inputs: { a: { node: 'n', output: 'value' } } },
        { id: 'show', type: 'PreviewValue', inputs: { value: { node: 'sum', output: 'result' } } },
      ],
    };
    const coreJob = (await json(server.base, 'POST', '/prompt', { workflow: core, client_id: 'bob' })).body.prompt_id as string;
    const cheap = (await json(server.base, 'POST', '/prompt', { workflow: counterWorkflow(2, 1), client_id: 'alice' })).body.prompt_id as string;
    assert.equal((await finishedJob(server.base, cheap, 30_000)).status, 'done');
    assert.equal((await json(server.base, 'GET', `/api/jobs/${coreJob}`)).body.status, 'queued', 'worker A, without the core pack, did not take it');
    workers.push(await startWorker(redis.url, 'wb', { builtins: 'core' }));
    const coreDone = await finishedJob(server.base, coreJob, 30_000);
    assert.equal(coreDone.status, 'done');
    assert.equal(coreDone.outputs.show.values.value, 42);
    assert.equal((await b.waitFor((m) => m.type === 'kosmos.worker' && m.data.prompt_id === coreJob)).data.worker, 'wb');

    // An uploaded image travels with the job: the worker has no access to the server's disk.
    const png = await sharp({ create: { width: 3, height: 2, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png().toBuffer();
    const boundary = 'scaleoutboundary';
    const uploaded = JSON.parse(
      (await raw(server.port, 'POST', '/upload/image', { host: `127.0.0.1:${server.port}`, 'content-type': `multipart/form-data; boundary=${boundary}` }, multipart(boundary, [{ name: 'image', filename: 'shape.png', data: png }]))).body,
    );
    const load = {
      format: 'kosmos-g/workflow',
      version: 1,
      nodes: [
        { id: 'img', type: 'LoadImage', widgets: { image: uploaded.path } },
        { id: 'w', type: 'PreviewValue', inputs: { value: { node: 'img', output: 'width' } } },
      ],
    };
    const loadJob = await finishedJob(server.base, (await json(server.base, 'POST', '/prompt', { workflow: load })).body.prompt_id, 30_000);
    assert.equal(loadJob.status, 'done', JSON.stringify(loadJob.error));
    assert.equal(loadJob.outputs.w.values.value, 3);
    assert.equal(loadJob.workflow.nodes[0].widgets.image, uploaded.path, 'history keeps the path the client gave');

    // Cancel a running job: the worker stops it and the server records it, well within a second.
    const long = (await json(server.base, 'POST', '/prompt', { workflow: counterWorkflow(100000, 20), client_id: 'alice' })).body.prompt_id as string;
    await a.waitFor((m) => m.type === 'progress' && m.data.prompt_id === long && m.data.value >= 2, 30_000);
    const asked = Date.now();
    assert.equal((await json(server.base, 'POST', `/api/jobs/${long}/cancel`)).body.status, 'cancelling');
    await a.waitFor((m) => m.type === 'execution_interrupted' && m.data.prompt_id === long, 5_000);
    const took = Date.now() - asked;
    assert.equal((await finishedJob(server.base, long)).status, 'cancelled');
    assert.ok(took < 1000, `cancel took ${took} ms`);
    a.ws.terminate();
    b.ws.terminate();
  } finally {
    delete process.env.KOSMOS_G_BUILTINS;
    await Promise.all(workers.map((w) => w.stop()));
    await server.close();
    await redis.stop();
  }
});

test('scale-out: 50 mixed jobs on 2 workers, one killed with -9 mid-job: all 50 end with the right outputs', { timeout: 180_000 }, async (t) => {
  if (missing) return t.skip(missing);
  const redis = await startRedis();
  const server = await startServer({ queue: redis.url });
  const workers: Child[] = [];
  try {
    workers.push(...(await Promise.all([startWorker(redis.url, 'w1', { builtins: 'core,kosmos,diffusion' }), startWorker(redis.url, 'w2', { builtins: 'core,kosmos,diffusion' })])));
    const ws = await connectWs(`ws://127.0.0.1:${server.port}/ws?watch=all`);
    const generate = JSON.parse(readFileSync(path.join(REPO, 'workflows', 'generate.json'), 'utf8'));
    const submit = async (workflow: unknown) => (await json(server.base, 'POST', '/prompt', { workflow })).body.prompt_id as string;
    // The job that loses its worker: long enough to be killed mid-run.
    const victim = await submit(counterWorkflow(150, 20, { prefix: 'victim' }));
    const jobs: { id: string; check: (job: any) => Promise<void> }[] = [];
    const seeds = [1, 2, 1, 2];
    const gen: { id: string; seed: number }[] = [];
    for (let i = 0; i < 49; i++) {
      if (i % 12 === 5) {
        const seed = seeds[gen.length]!;
        const wf = structuredClone(generate);
        wf.nodes.find((n: any) => n.id === 'sample').widgets.seed = seed;
        const id = await submit(wf);
        gen.push({ id, seed });
        jobs.push({ id, check: async (job) => assert.equal((await sharp(outputFile(server.dataDir, job, 'save')).metadata()).format, 'png') });
      } else {
        const steps = 1 + (i % 7);
        const id = await submit(counterWorkflow(steps, 2, { prefix: `c${i}` }));
        jobs.push({ id, check: async (job) => {
          assert.equal(job.outputs['2'].values.value, steps);
          await assertCounterImage(outputFile(server.dataDir, job, '2'), steps);
        } });
      }
    }
    const running = await ws.waitFor((m) => m.type === 'kosmos.worker' && m.data.prompt_id === victim, 60_000);
    await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === victim && m.data.value >= 10, 60_000);
    const killed = workers.find((w) => w.line.id === running.data.worker)!;
    await killed.kill9();

    const victimJob = await finishedJob(server.base, victim, 60_000);
    assert.equal(victimJob.status, 'done', JSON.stringify(victimJob.error));
    assert.equal(victimJob.outputs['2'].values.value, 150);
    await assertCounterImage(outputFile(server.dataDir, victimJob, '2'), 150);
    const retry = (await json(server.base, 'GET', `/api/jobs/${victim}/events`)).body.events.find((e: any) => e.type === 'kosmos.retry');
    assert.ok(retry, 'the job was run again');
    assert.equal(retry.data.previous_worker, killed.line.id);
    assert.notEqual(retry.data.worker, killed.line.id, 'on the other worker');
    for (const j of jobs) {
      const job = await finishedJob(server.base, j.id, 90_000);
      assert.equal(job.status, 'done', `${j.id}: ${JSON.stringify(job.error)}`);
      await j.check(job);
    }
    // The same seed gives the same picture whichever worker ran it.
    const pictures = await Promise.all(gen.map(async (g) => ({ seed: g.seed, png: readFileSync(outputFile(server.dataDir, (await json(server.base, 'GET', `/api/jobs/${g.id}`)).body, 'save')) })));
    assert.deepEqual(pictures[0]!.png, pictures[2]!.png, 'seed 1 twice: the same image');
    assert.notDeepEqual(pictures[0]!.png, pictures[1]!.png, 'seeds 1 and 2 differ');
    ws.ws.terminate();
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await server.close();
    await redis.stop();
  }
});

test('scale-out: server killed with -9 and Redis killed with -9 mid-run lose no acknowledged job', { timeout: 120_000 }, async (t) => {
  if (missing) return t.skip(missing);
  const redis = await startRedis();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kosmos-scale-server-'));
  const serverArgs = [dataDir, '--no-builtins', '--queue', redis.url];
  let server = await spawnChild(CHILD_SERVER, serverArgs);
  const workers: Child[] = [];
  try {
    workers.push(...(await Promise.all([startWorker(redis.url, 'k1', { builtins: false }), startWorker(redis.url, 'k2', { builtins: false })])));
    let base = `http://127.0.0.1:${server.line.port}`;
    const ids: { id: string; steps: number }[] = [];
    for (let i = 0; i < 20; i++) {
      const steps = 5 + (i % 5);
      ids.push({ id: (await json(base, 'POST', '/prompt', { workflow: counterWorkflow(steps, 80, { prefix: `s${i}` }) })).body.prompt_id, steps });
    }
    await waitUntil(async () => (await json(base, 'GET', `/api/jobs/${ids[2]!.id}`)).body.status === 'done', 30_000, 'a few jobs done');
    assert.ok((await json(base, 'GET', '/api/status')).body.queue_remaining >= 5, 'the server dies with jobs still to run');
    await server.kill9();
    server = await spawnChild(CHILD_SERVER, serverArgs);
    base = `http://127.0.0.1:${server.line.port}`;
    for (let i = 20; i < 30; i++) ids.push({ id: (await json(base, 'POST', '/prompt', { workflow: counterWorkflow(3, 80, { prefix: `s${i}` }) })).body.prompt_id, steps: 3 });
    assert.ok((await json(base, 'GET', '/api/status')).body.queue_remaining >= 5, 'Redis dies with jobs still to run');
    await redis.restart(true);
    for (const { id, steps } of ids) {
      const job = await finishedJob(base, id, 60_000);
      assert.equal(job.status, 'done', `${id}: ${JSON.stringify(job.error)}`);
      assert.equal(job.outputs['2'].values.value, steps);
      await assertCounterImage(outputFile(dataDir, job, '2'), steps);
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await server.stop();
    await redis.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('scale-out: worker tokens: a worker with another token refuses jobs, unsigned reports are dropped', { timeout: 60_000 }, async (t) => {
  if (missing) return t.skip(missing);
  const redis = await startRedis();
  const token = 'the-right-worker-token';
  const server = await startServer({ queue: redis.url, workerToken: token }, { builtins: false });
  const forger = new Redis(redis.url);
  let worker: Child | undefined;
  try {
    worker = await startWorker(redis.url, 'wrong', { builtins: false, token: 'some-other-worker-token' });
    const refused = await finishedJob(server.base, (await json(server.base, 'POST', '/prompt', { workflow: counterWorkflow(2, 1) })).body.prompt_id, 30_000);
    assert.equal(refused.status, 'interrupted');
    assert.match(refused.error.message, /not signed with that worker's token/);
    await worker.stop();

    const id = (await json(server.base, 'POST', '/prompt', { workflow: counterWorkflow(2, 1) })).body.prompt_id as string;
    const forged = JSON.stringify({ kind: 'result', job: id, worker: 'forger', result: { status: 'ok', seconds: 0, errors: [], outputs: {} } });
    await forger.xadd(KEYS.events, '*', 'm', forged, 's', 'not-a-signature');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await json(server.base, 'GET', `/api/jobs/${id}`)).body.status, 'queued', 'the forged result was dropped');

    worker = await startWorker(redis.url, 'right', { builtins: false, token });
    const done = await finishedJob(server.base, id, 30_000);
    assert.equal(done.status, 'done');
    assert.equal(done.outputs['2'].values.value, 2);
  } finally {
    await worker?.stop();
    forger.disconnect();
    await server.close();
    await redis.stop();
  }
});

test('scale-out: a job whose worker dies twice is marked interrupted, with the outputs it had sent', { timeout: 90_000 }, async (t) => {
  if (missing) return t.skip(missing);
  const redis = await startRedis();
  const server = await startServer({ queue: redis.url }, { builtins: false });
  const workers: Child[] = [];
  try {
    const ws = await connectWs(`ws://127.0.0.1:${server.port}/ws?watch=all`);
    workers.push(await startWorker(redis.url, 'first', { builtins: false, lockMs: 2000 }));
    // The early image (node 3) is sent before the slow counter starts.
    const id = (await json(server.base, 'POST', '/prompt', { workflow: counterWorkflow(100000, 20, { early: true }) })).body.prompt_id as string;
    for (const next of ['second', 'third']) {
      const dying = workers.at(-1)!;
      await ws.waitFor((m) => m.type === 'kosmos.worker' && m.data.prompt_id === id && m.data.worker === dying.line.id, 30_000);
      await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === id && ws.messages.indexOf(m) > ws.messages.findLastIndex((x) => x.type === 'kosmos.worker'), 30_000);
      await dying.kill9();
      workers.push(await startWorker(redis.url, next, { builtins: false, lockMs: 2000 }));
    }
    const job = await finishedJob(server.base, id, 30_000);
    assert.equal(job.status, 'interrupted');
    assert.match(job.error.message, /stalled/);
    assert.equal(job.outputs['3'].files[0].filename, 'early_3.png', 'the partial output is kept');
    await assertCounterImage(outputFile(server.dataDir, job, '3'), 0);
    const events = (await json(server.base, 'GET', `/api/jobs/${id}/events`)).body.events;
    assert.deepEqual(events.filter((e: any) => e.type === 'kosmos.worker').map((e: any) => e.data.worker), ['first', 'second']);
    ws.ws.terminate();
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await server.close();
    await redis.stop();
  }
});
