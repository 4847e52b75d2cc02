import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { JobStore } from '../../server/store.ts';

function tmpDb(): { file: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'kosmos-store-'));
  return { file: path.join(dir, 'db', 'k.db'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

test('store: schema is migrated to user_version 1 in WAL mode', () => {
  const { file, cleanup } = tmpDb();
  const s = new JobStore(file);
  assert.equal(s.db.pragma('user_version', { simple: true }), 1);
  assert.equal(s.db.pragma('journal_mode', { simple: true }), 'wal');
  s.close();
  // Re-opening an up-to-date database runs no migration again.
  const again = new JobStore(file);
  assert.equal(again.db.pragma('user_version', { simple: true }), 1);
  again.close();
  cleanup();
});

test('store: a database from a newer version is refused with a code', () => {
  const { file, cleanup } = tmpDb();
  const s = new JobStore(file);
  s.db.pragma('user_version = 99');
  s.close();
  assert.throws(() => new JobStore(file), (e: Error & { code?: string }) => e.code === 'DB_TOO_NEW');
  cleanup();
});

test('store: jobs are numbered in order and move queued → running → done', () => {
  const { file, cleanup } = tmpDb();
  const s = new JobStore(file);
  const a = s.addJob({ id: 'a', workflow: { n: 1 } });
  const b = s.addJob({ id: 'b', workflow: { n: 2 }, clientId: 'c1' });
  assert.deepEqual([a.number, b.number], [1, 2]);
  assert.equal(s.nextQueued()?.id, 'a');
  assert.equal(s.markRunning('a'), true);
  assert.equal(s.markRunning('a'), false, 'a running job cannot be started twice');
  assert.equal(s.nextQueued()?.id, 'b');
  s.setOutputs('a', { '3': { files: [{ filename: 'x.png', subfolder: 'a', type: 'output' }] } });
  assert.equal(s.finish('a', 'done'), true);
  assert.equal(s.finish('a', 'error'), false, 'a finished job keeps its status');
  const got = s.get('a')!;
  assert.equal(got.status, 'done');
  assert.deepEqual(got.workflow, { n: 1 });
  assert.equal(got.outputs['3']!.files[0]!.filename, 'x.png');
  assert.ok(got.startedAt! <= got.finishedAt!);
  assert.equal(s.get('b')!.clientId, 'c1');
  assert.equal(s.count(['queued']), 1);
  s.close();
  cleanup();
});

test('store: after a crash, running jobs become interrupted with outputs kept; queued stay queued', () => {
  const { file, cleanup } = tmpDb();
  const s = new JobStore(file);
  s.addJob({ id: 'r', workflow: {} });
  s.addJob({ id: 'q', workflow: {} });
  s.markRunning('r');
  s.setOutputs('r', { n: { files: [{ filename: 'partial.png', subfolder: 'r', type: 'output' }] } });
  s.addEvent('r', 'execution_start', { prompt_id: 'r' });
  s.db.close(); // no clean shutdown
  const t = new JobStore(file);
  assert.deepEqual(t.recoverInterrupted(), ['r']);
  const r = t.get('r')!;
  assert.equal(r.status, 'interrupted');
  assert.equal(r.outputs.n!.files[0]!.filename, 'partial.png');
  assert.equal((r.error as { code: string }).code, 'INTERRUPTED');
  assert.equal(t.get('q')!.status, 'queued');
  // Events continue their sequence after a restart.
  t.addEvent('r', 'execution_interrupted', {});
  assert.deepEqual(t.events('r').map((e) => [e.seq, e.type]), [[1, 'execution_start'], [2, 'execution_interrupted']]);
  assert.deepEqual(t.events('r', 1).map((e) => e.seq), [2]);
  t.close();
  cleanup();
});

test('store: deleting respects statuses; events go with their job', () => {
  const { file, cleanup } = tmpDb();
  const s = new JobStore(file);
  s.addJob({ id: 'q', workflow: {} });
  s.addJob({ id: 'd', workflow: {} });
  s.markRunning('d');
  s.finish('d', 'done');
  s.addEvent('d', 'execution_success', {});
  assert.deepEqual(s.deleteJobs(['q', 'd'], ['done']), ['d']);
  assert.equal(s.get('q')!.status, 'queued');
  assert.deepEqual(s.events('d'), []);
  assert.equal(s.deleteAll(['queued']), 1);
  assert.equal(s.list(['queued', 'done']).length, 0);
  s.close();
  cleanup();
});

test('store: named workflows are saved, listed, replaced and deleted', () => {
  const { file, cleanup } = tmpDb();
  const s = new JobStore(file);
  s.saveWorkflow('b', { v: 1 });
  s.saveWorkflow('a', { v: 2 });
  s.saveWorkflow('b', { v: 3 });
  assert.deepEqual(s.listWorkflows().map((w) => w.name), ['a', 'b']);
  assert.deepEqual(s.getWorkflow('b'), { v: 3 });
  assert.equal(s.deleteWorkflow('b'), true);
  assert.equal(s.deleteWorkflow('b'), false);
  assert.equal(s.getWorkflow('b'), undefined);
  s.close();
  cleanup();
});
