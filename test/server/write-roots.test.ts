// Write roots: a workflow may write only inside the server's write roots and never onto its own database, whatever
// form the path takes (absolute, relative, `..`, symlink, hard link, percent-encoded, through a link). Every
// refusal is a coded PATH_FORBIDDEN on the node and widget, and nothing is written.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { finishedJob, json, startServer, type TestServer } from './helpers.ts';

const MARKER = 'KOSMOS-G-WRITE-ROOT-MARKER';
let s: TestServer;
let db: string;

before(async () => {
  s = await startServer();
  db = path.join(s.dataDir, 'kosmos-g.db');
});
after(async () => s.close());

const writer = (file: string) => ({
  format: 'kosmos-g/workflow',
  version: 1,
  nodes: [{ id: 'w', type: 'TestWriteText', widgets: { file, text: MARKER } }],
});

const finished = (id: string) => finishedJob(s.base, id);

/** Every file under `dir` (recursively) that TestWriteText wrote (the stored workflows hold the marker alone). */
function filesWithMarker(dir: string): string[] {
  const hits: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if (readFileSync(file).includes(`written: ${MARKER}`)) hits.push(file);
  }
  return hits;
}

test('every form of a path onto the database or outside the write roots is refused with PATH_FORBIDDEN', async () => {
  const outputs = path.join(s.dataDir, 'outputs');
  mkdirSync(outputs, { recursive: true });
  symlinkSync(s.dataDir, path.join(outputs, 'to-data')); // a symlink inside a write root leading to the database's folder
  linkSync(db, path.join(outputs, 'db-alias')); // a hard link to the database inside a write root
  const relDb = path.relative(process.cwd(), db);
  const forms = [
    db,
    `${db}-wal`,
    `${db}-shm`,
    `${db}-journal`,
    path.join(s.dataDir, 'settings.json'),
    relDb,
    path.join(outputs, '..', 'kosmos-g.db'),
    `${outputs}/../kosmos-g.db`,
    path.join(outputs, 'to-data', 'kosmos-g.db'),
    path.join(outputs, 'to-data', 'kosmos-g.db-wal'),
    path.join(outputs, 'db-alias'),
    path.join(s.dataDir, 'elsewhere.txt'), // the data folder itself is not a write root
    path.join(s.dataDir, 'uploads', 'x.txt'),
    '../../../../tmp/kosmos-escape.txt',
    'escape.txt', // relative to the server's working directory, which is no write root
    `${outputs}/%2e%2e/kosmos-g.db`,
    `${outputs}/..%2Fkosmos-g.db`,
    '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
  ];
  for (const file of forms) {
    for (const route of ['/api/validate', '/prompt']) {
      const r = await json(s.base, 'POST', route, { workflow: writer(file) });
      const errors = r.body.node_errors?.w?.errors ?? [];
      assert.equal(errors[0]?.type, 'PATH_FORBIDDEN', `${route} ${file}: ${JSON.stringify(r.body)}`);
      assert.equal(errors[0]?.extra_info.input_name, 'file');
      assert.equal(r.status, route === '/prompt' ? 400 : 200, file);
    }
  }
  assert.deepEqual(filesWithMarker(s.dataDir), []);
  assert.equal(existsSync(path.resolve('escape.txt')), false);
  assert.equal(existsSync('/tmp/kosmos-escape.txt'), false);
});

test('a path that arrives through a link is checked before the node runs; the database stays sound', async () => {
  const wf = {
    format: 'kosmos-g/workflow',
    version: 1,
    nodes: [
      { id: 't', type: 'TestText', widgets: { text: db } },
      { id: 'w', type: 'TestWriteText', widgets: { text: MARKER }, inputs: { file: { node: 't', output: 'text' } } },
    ],
  };
  const r = await json(s.base, 'POST', '/prompt', { workflow: wf });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const job = await finished(r.body.prompt_id);
  assert.equal(job.status, 'error');
  assert.equal(job.error.code, 'PATH_FORBIDDEN');
  assert.match(job.error.message, /node "w" file: .*server's own state/);
  assert.deepEqual(filesWithMarker(s.dataDir), []);
  const check = new Database(db, { readonly: true });
  try {
    assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
  } finally {
    check.close();
  }
});

test('writes inside the write roots succeed, relative values resolve once (check and write see the same file)', async () => {
  const target = path.join(s.dataDir, 'checkpoints', 'run-1', 'notes.txt');
  mkdirSync(path.dirname(target), { recursive: true });
  for (const file of [target, path.relative(process.cwd(), path.join(s.dataDir, 'outputs', 'rel.txt'))]) {
    const r = await json(s.base, 'POST', '/prompt', { workflow: writer(file) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const job = await finished(r.body.prompt_id);
    assert.equal(job.status, 'done', JSON.stringify(job.error));
    assert.equal(readFileSync(path.resolve(file), 'utf8'), `written: ${MARKER}`, file);
  }
});

test('with the whole data folder made a write root (KOSMOS_G_WRITE_ROOTS), its database and settings stay refused', async () => {
  const data = mkdtempSync(path.join(tmpdir(), 'kosmos-wide-'));
  process.env.KOSMOS_G_WRITE_ROOTS = data;
  const wide = await startServer({ data });
  delete process.env.KOSMOS_G_WRITE_ROOTS;
  try {
    for (const file of [path.join(data, 'kosmos-g.db'), path.join(data, 'kosmos-g.db-wal'), path.join(data, 'settings.json')]) {
      const r = await json(wide.base, 'POST', '/api/validate', { workflow: writer(file) });
      assert.equal(r.body.node_errors?.w?.errors[0]?.type, 'PATH_FORBIDDEN', file);
      assert.match(r.body.node_errors.w.errors[0].message, /server's own state/);
    }
    const elsewhere = await json(wide.base, 'POST', '/api/validate', { workflow: writer(path.join(data, 'notes.txt')) });
    assert.equal(elsewhere.body.ok, true, JSON.stringify(elsewhere.body));
  } finally {
    await wide.close();
    rmSync(data, { recursive: true, force: true });
  }
});
