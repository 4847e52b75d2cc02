// kill -9 during a run, then restart on the same data folder: the running job is marked interrupted with its
// partial outputs kept, queued jobs are still queued and then run, history is intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectWs, counterWorkflow, json, waitUntil } from './helpers.ts';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'child-server.ts');

function startChild(dataDir: string): Promise<{ child: ChildProcess; base: string; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, '--no-builtins'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        const { port } = JSON.parse(line) as { port: number };
        resolve({ child, base: `http://127.0.0.1:${port}`, port });
      }
    });
    child.on('exit', (code) => reject(new Error(`child server exited (${code}): ${err}`)));
  });
}

test('kill -9 mid-run then restart: queued jobs survive and run, the running job is interrupted with partial outputs', async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kosmos-crash-'));
  const first = await startChild(dataDir);
  const ws = await connectWs(`ws://127.0.0.1:${first.port}/ws`);
  const slow = (await json(first.base, 'POST', '/prompt', { workflow: counterWorkflow(100000, 20, { early: true }) })).body.prompt_id as string;
  const q1 = (await json(first.base, 'POST', '/prompt', { workflow: counterWorkflow(2, 1, { prefix: 'q1' }) })).body.prompt_id as string;
  const q2 = (await json(first.base, 'POST', '/prompt', { workflow: counterWorkflow(2, 1, { prefix: 'q2' }) })).body.prompt_id as string;
  // The early image (node 3) is written before the slow counter starts reporting.
  await ws.waitFor((m) => m.type === 'executed' && m.data.prompt_id === slow && m.data.node === '3', 20_000);
  await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === slow && m.data.value >= 2, 20_000);
  const exited = new Promise((r) => first.child.once('exit', r));
  first.child.kill('SIGKILL');
  await exited;
  ws.ws.terminate();

  const second = await startChild(dataDir);
  try {
    const interrupted = (await json(second.base, 'GET', `/api/jobs/${slow}`)).body;
    assert.equal(interrupted.status, 'interrupted');
    assert.equal(interrupted.error.code, 'INTERRUPTED');
    const early = interrupted.outputs['3'].files[0];
    assert.equal(early.filename, 'early_3.png');
    assert.ok(existsSync(path.join(dataDir, 'outputs', early.subfolder, early.filename)), 'the partial output file is still there');
    const view = await fetch(`${second.base}/view?filename=${early.filename}&subfolder=${early.subfolder}&type=output`);
    assert.equal(view.status, 200);
    for (const id of [q1, q2]) {
      const job = await waitUntil(async () => {
        const j = (await json(second.base, 'GET', `/api/jobs/${id}`)).body;
        return j.status === 'done' ? j : undefined;
      }, 20_000, `queued job ${id} to run after the restart`);
      assert.equal(job.outputs['2'].values.value, 2);
    }
    const hist = (await json(second.base, 'GET', '/history')).body;
    assert.deepEqual(Object.keys(hist).sort(), [slow, q1, q2].sort());
    assert.equal(hist[slow].status.status_str, 'interrupted');
    assert.deepEqual((await json(second.base, 'GET', '/queue')).body, { queue_running: [], queue_pending: [] });
  } finally {
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
});
