// The HTTP API against the real engine (with the test node pack): ComfyUI routes, our /api routes, and every
// bad-input case answering a clear 4xx without touching anything outside the data folder's roots.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { PNG_1x1, connectWs, counterWorkflow, json, multipart, raw, startServer, waitUntil, type TestServer } from './helpers.ts';

let s: TestServer;
before(async () => {
  s = await startServer({}, { limits: { jsonBytes: 64 * 1024, uploadBytes: 256 * 1024 } });
});
after(async () => {
  await s.close();
});

const finished = (id: string) =>
  waitUntil(async () => {
    const r = await json(s.base, 'GET', `/api/jobs/${id}`);
    return ['done', 'error', 'cancelled', 'interrupted'].includes(r.body.status) ? r.body : undefined;
  }, 15_000, `job ${id} to finish`);

test('POST /prompt (our format) runs the job; ws, history, view and events agree', async () => {
  const ws = await connectWs(`ws://127.0.0.1:${s.port}/ws?clientId=watcher1`);
  const hello = await ws.waitFor((m) => m.type === 'status');
  assert.equal(hello.data.sid, 'watcher1');
  // Announce preview metadata, as ComfyUI's own frontend does, to get frame 4 (others get frame 1).
  ws.ws.send(JSON.stringify({ type: 'feature_flags', data: { supports_preview_metadata: true } }));
  await ws.waitFor((m) => m.type === 'feature_flags');
  // A dashboard watching every job (the job is watcher1's own).
  const plain = await connectWs(`ws://127.0.0.1:${s.port}/ws?clientId=plain1&watch=all`);
  await plain.waitFor((m) => m.type === 'status');
  const r = await json(s.base, 'POST', '/prompt', { workflow: counterWorkflow(3, 2, { early: true }), client_id: 'watcher1' });
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.body).sort(), ['node_errors', 'number', 'prompt_id']);
  const id: string = r.body.prompt_id;
  const ok = await ws.waitFor((m) => m.type === 'execution_success' && m.data.prompt_id === id);
  assert.equal(typeof ok.data.timestamp, 'number');
  const mine = ws.messages.filter((m) => m.data?.prompt_id === id);
  const types = mine.map((m) => m.type);
  assert.equal(types[0], 'execution_start');
  assert.ok(types.indexOf('executing') < types.indexOf('progress'));
  const progress = mine.find((m) => m.type === 'progress')!;
  assert.deepEqual(Object.keys(progress.data).sort(), ['max', 'node', 'prompt_id', 'value']);
  assert.equal(progress.data.node, '1');
  assert.equal(progress.data.max, 3);
  const metrics = mine.filter((m) => m.type === 'kosmos.metrics');
  assert.deepEqual(metrics.map((m) => m.data.metrics.loss), [1, 1 / 2, 1 / 3]);
  const executed = mine.filter((m) => m.type === 'executed');
  assert.deepEqual(executed.map((m) => m.data.node).sort(), ['2', '3']);
  const last = mine.filter((m) => m.type === 'executing').at(-1)!;
  assert.equal(last.data.node, null, 'executing {node: null} marks the end');
  // The preview arrives as ComfyUI's binary frame 4 with metadata naming the job.
  await waitUntil(() => ws.binary.length > 0 || undefined, 5000, 'a preview frame');
  const frame = ws.binary[0]!;
  assert.equal(frame.readUInt32BE(0), 4);
  const meta = JSON.parse(frame.subarray(8, 8 + frame.readUInt32BE(4)).toString());
  assert.equal(meta.prompt_id, id);
  assert.deepEqual([...frame.subarray(8 + frame.readUInt32BE(4), 8 + frame.readUInt32BE(4) + 4)], [0x89, 0x50, 0x4e, 0x47]);
  // A client that did not announce it gets ComfyUI's original frame 1: [1][2 = PNG][PNG bytes].
  await waitUntil(() => plain.binary.length > 0 || undefined, 5000, 'a legacy preview frame');
  const old = plain.binary[0]!;
  assert.deepEqual([old.readUInt32BE(0), old.readUInt32BE(4)], [1, 2]);
  assert.deepEqual([...old.subarray(8, 12)], [0x89, 0x50, 0x4e, 0x47]);

  const hist = await json(s.base, 'GET', `/history/${id}`);
  const entry = hist.body[id];
  assert.equal(entry.status.status_str, 'success');
  assert.equal(entry.status.completed, true);
  assert.deepEqual(entry.prompt.slice(0, 2), [r.body.number, id]);
  assert.deepEqual(entry.prompt[4].sort(), ['2', '3'], 'output node ids');
  const image = entry.outputs['2'].images[0];
  assert.deepEqual(Object.keys(image).sort(), ['filename', 'subfolder', 'type']);
  const view = await fetch(`${s.base}/view?filename=${encodeURIComponent(image.filename)}&subfolder=${encodeURIComponent(image.subfolder)}&type=output`);
  assert.equal(view.status, 200);
  assert.equal(view.headers.get('content-type'), 'image/png');
  assert.deepEqual([...new Uint8Array(await view.arrayBuffer()).subarray(1, 4)], [0x50, 0x4e, 0x47]);

  const all = await json(s.base, 'GET', '/history');
  assert.ok(all.body[id]);
  const job = await json(s.base, 'GET', `/api/jobs/${id}`);
  assert.equal(job.body.status, 'done');
  assert.equal(job.body.clientId, 'watcher1');
  const events = await json(s.base, 'GET', `/api/jobs/${id}/events`);
  const recorded = events.body.events.map((e: { type: string }) => e.type);
  for (const t of ['queued', 'execution_start', 'executing', 'kosmos.metrics', 'kosmos.preview', 'executed', 'execution_success']) assert.ok(recorded.includes(t), t);
  plain.ws.close();
  ws.ws.close();
});

test('POST /prompt (ComfyUI API format) maps [id, index] links and runs', async () => {
  const r = await json(s.base, 'POST', '/api/prompt', {
    prompt: {
      '10': { class_type: 'TestCounter', inputs: { steps: 2, delayMs: 1 } },
      '11': { class_type: 'TestImageOut', inputs: { value: ['10', 0], prefix: 'comfy' } },
    },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const job = await finished(r.body.prompt_id);
  assert.equal(job.status, 'done');
  assert.equal(job.outputs['11'].files[0].filename, 'comfy_11.png');
  assert.equal(job.outputs['11'].values.value, 2);
});

test('validation errors: 400 with node_errors on the right node and input; /api/validate reports without running', async () => {
  const wf = counterWorkflow(0, 1) as { nodes: { widgets: Record<string, unknown> }[] };
  const r = await json(s.base, 'POST', '/prompt', { workflow: wf });
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'VALIDATION_FAILED');
  assert.equal(r.body.node_errors['1'].class_type, 'TestCounter');
  assert.equal(r.body.node_errors['1'].errors[0].type, 'WIDGET_RANGE');
  assert.equal(r.body.node_errors['1'].errors[0].extra_info.input_name, 'steps');
  const v = await json(s.base, 'POST', '/api/validate', { workflow: wf });
  assert.equal(v.status, 200);
  assert.equal(v.body.ok, false);
  assert.deepEqual(v.body.issues.map((i: { node: string; input: string }) => [i.node, i.input]), [['1', 'steps']]);
  const good = await json(s.base, 'POST', '/api/validate', { workflow: counterWorkflow(1, 1) });
  assert.deepEqual(good.body, { ok: true, issues: [], node_errors: {} });
  const unknown = await json(s.base, 'POST', '/prompt', { prompt: { '1': { class_type: 'NoSuchNode', inputs: {} } } });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.node_errors['1'].errors[0].type, 'UNKNOWN_NODE_TYPE');
});

test('a node failing at run time: execution_error names the node; the job and history record the error', async () => {
  const ws = await connectWs(`ws://127.0.0.1:${s.port}/ws`);
  const wf = counterWorkflow(5, 1) as { nodes: { widgets: Record<string, unknown> }[] };
  wf.nodes[0]!.widgets.failAt = 2;
  const id = (await json(s.base, 'POST', '/prompt', { workflow: wf })).body.prompt_id;
  const err = await ws.waitFor((m) => m.type === 'execution_error' && m.data.prompt_id === id);
  assert.equal(err.data.node_id, '1');
  assert.equal(err.data.node_type, 'TestCounter');
  assert.equal(err.data.exception_type, 'TEST_FAILURE');
  assert.match(err.data.exception_message, /step 2/);
  const job = await finished(id);
  assert.equal(job.status, 'error');
  assert.equal(job.error.code, 'TEST_FAILURE');
  const hist = (await json(s.base, 'GET', `/history/${id}`)).body[id];
  assert.equal(hist.status.status_str, 'error');
  assert.ok(hist.status.messages.some((m: [string, unknown]) => m[0] === 'execution_error'));
  ws.ws.close();
});

test('bad bodies: malformed JSON, schema errors, oversized bodies, unknown routes → JSON 4xx', async () => {
  const bad = await json(s.base, 'POST', '/prompt', '{"workflow": ');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 'BAD_JSON');
  const schema = await json(s.base, 'POST', '/prompt', { workflow: { format: 'kosmos-g/workflow', version: 1, nodes: [{ id: 'a b', type: 'X' }] } });
  assert.equal(schema.status, 400);
  assert.equal(schema.body.error.code, 'WORKFLOW_SCHEMA');
  assert.ok(schema.body.error.details.issues[0].path.includes('nodes'));
  const neither = await json(s.base, 'POST', '/prompt', { hello: 1 });
  assert.equal(neither.status, 400);
  assert.equal(neither.body.error.code, 'BAD_REQUEST');
  const big = await json(s.base, 'POST', '/prompt', { workflow: { meta: { description: 'x'.repeat(70 * 1024) } } });
  assert.equal(big.status, 413);
  assert.equal(big.body.error.code, 'BODY_TOO_LARGE');
  const nope = await json(s.base, 'GET', '/no/such/route');
  assert.equal(nope.status, 404);
  assert.equal(nope.body.error.code, 'NOT_FOUND');
  const method = await json(s.base, 'DELETE', '/prompt');
  assert.equal(method.status, 404);
  const job404 = await json(s.base, 'GET', '/api/jobs/nope');
  assert.equal(job404.body.error.code, 'JOB_NOT_FOUND');
  // The server still answers.
  assert.equal((await json(s.base, 'GET', '/queue')).status, 200);
});

test('training checkpoints kept under <data>/checkpoints are listed as type "checkpoints" and served by GET /view', async () => {
  const { JobReporter } = await import('../../server/job-reporter.ts');
  const reporter = new JobReporter(undefined as never, undefined as never, path.join(s.dataDir, 'outputs'));
  const file = path.join(s.dataDir, 'checkpoints', 'train-unet', 'step-00000004', 'model.safetensors');
  assert.deepEqual(reporter.fileRef({ path: file, kind: 'checkpoint' }), { filename: 'model.safetensors', subfolder: 'train-unet/step-00000004', type: 'checkpoints', kind: 'checkpoint' });
  assert.equal(reporter.fileRef({ path: path.join(s.dataDir, 'kosmos-g.db'), kind: 'other' }), undefined, 'nothing else of the data folder');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, 'WEIGHTS');
  const r = await raw(s.port, 'GET', '/view?filename=model.safetensors&subfolder=train-unet/step-00000004&type=checkpoints', { host: `127.0.0.1:${s.port}` });
  assert.equal(r.status, 200);
  assert.equal(r.body, 'WEIGHTS');
});

test('GET /view: traversal (../, absolute, encoded, symlink) never leaves the roots', async () => {
  const secret = path.join(s.dataDir, 'secret.txt');
  writeFileSync(secret, 'TOP-SECRET');
  mkdirSync(path.join(s.dataDir, 'outputs', 'x'), { recursive: true });
  symlinkSync(secret, path.join(s.dataDir, 'outputs', 'x', 'link.png'));
  symlinkSync(s.dataDir, path.join(s.dataDir, 'outputs', 'up'));
  const cases: [string, number][] = [
    ['/view?filename=../secret.txt&type=output', 400],
    ['/view?filename=secret.txt&subfolder=..&type=output', 400],
    ['/view?filename=secret.txt&subfolder=x/../..&type=output', 400],
    [`/view?filename=secret.txt&subfolder=${encodeURIComponent(s.dataDir)}&type=output`, 400],
    [`/view?filename=${encodeURIComponent(secret)}&type=output`, 400],
    ['/view?filename=%2e%2e%2fsecret.txt&type=output', 400],
    ['/view?filename=secret.txt&subfolder=%2e%2e&type=output', 400],
    ['/view?filename=%252e%252e%252fsecret.txt&type=output', 404], // a literal (absent) name, never decoded twice
    ['/view?filename=link.png&subfolder=x&type=output', 403],
    ['/view?filename=secret.txt&subfolder=up&type=output', 403],
    ['/view?filename=kosmos-g.db&subfolder=..&type=input', 400],
    ['/view?filename=kosmos-g.db&subfolder=..&type=checkpoints', 400],
    ['/view?filename=secret.txt&subfolder=..&type=checkpoints', 400],
    ['/view?filename=secret.txt&type=../..', 400],
    ['/view?filename=nothere.png&type=output', 404],
    ['/view/../secret.txt', 404],
    ['/%2e%2e/secret.txt', 404],
    ['/vendor/litegraph/..%2f..%2fpackage.json', 404],
  ];
  for (const [p, status] of cases) {
    const r = await raw(s.port, 'GET', p, { host: `127.0.0.1:${s.port}` });
    assert.equal(r.status, status, `${p} → ${r.status} ${r.body}`);
    assert.ok(!r.body.includes('TOP-SECRET'), p);
    assert.match(JSON.parse(r.body).error.code, /^[A-Z_]+$/, p);
  }
});

test('POST /upload/image: stores inside uploads, renames duplicates, refuses non-images and escapes', async () => {
  const B = 'kosmosBoundary';
  const post = (parts: Parameters<typeof multipart>[1], ct = `multipart/form-data; boundary=${B}`) =>
    raw(s.port, 'POST', '/upload/image', { host: `127.0.0.1:${s.port}`, 'content-type': ct }, multipart(B, parts));
  const a = await post([{ name: 'image', filename: 'cat.png', data: PNG_1x1 }]);
  assert.equal(a.status, 200, a.body);
  const { path: stored, ...comfyShape } = JSON.parse(a.body);
  assert.deepEqual(comfyShape, { name: 'cat.png', subfolder: '', type: 'input' });
  assert.equal(path.resolve(stored), path.join(realpathSync(s.dataDir), 'uploads', 'cat.png'));
  const b = await post([{ name: 'image', filename: 'cat.png', data: PNG_1x1 }]);
  assert.equal(JSON.parse(b.body).name, 'cat (1).png');
  const back = await fetch(`${s.base}/view?filename=cat.png&type=input`);
  assert.deepEqual(Buffer.from(await back.arrayBuffer()), PNG_1x1);
  const sub = await post([{ name: 'image', filename: 'dog.png', data: PNG_1x1 }, { name: 'subfolder', data: 'pets' }]);
  assert.deepEqual({ ...JSON.parse(sub.body), path: undefined }, { name: 'dog.png', subfolder: 'pets', type: 'input', path: undefined });
  assert.ok(existsSync(path.join(s.dataDir, 'uploads', 'pets', 'dog.png')));
  // A path in the filename keeps only its last segment.
  const trav = await post([{ name: 'image', filename: '../../evil.png', data: PNG_1x1 }]);
  assert.equal(JSON.parse(trav.body).name, 'evil.png');
  assert.ok(!existsSync(path.join(s.dataDir, 'evil.png')) && !existsSync(path.join(path.dirname(s.dataDir), 'evil.png')));
  const escapes = await post([{ name: 'image', filename: 'x.png', data: PNG_1x1 }, { name: 'subfolder', data: '../..' }]);
  assert.equal(escapes.status, 400);
  symlinkSync(path.dirname(s.dataDir), path.join(s.dataDir, 'uploads', 'outside'));
  const viaLink = await post([{ name: 'image', filename: 'x.png', data: PNG_1x1 }, { name: 'subfolder', data: 'outside' }]);
  assert.equal(viaLink.status, 403);
  assert.equal(JSON.parse(viaLink.body).error.code, 'PATH_OUTSIDE_ROOT');
  const html = await post([{ name: 'image', filename: 'x.png', data: '<script>alert(1)</script>' }]);
  assert.equal(html.status, 415);
  const none = await post([{ name: 'other', data: 'x' }]);
  assert.equal(JSON.parse(none.body).error.code, 'BAD_MULTIPART');
  const notMultipart = await raw(s.port, 'POST', '/upload/image', { host: `127.0.0.1:${s.port}`, 'content-type': 'application/json' }, '{}');
  assert.equal(notMultipart.status, 400);
  const huge = await post([{ name: 'image', filename: 'big.png', data: Buffer.concat([PNG_1x1, Buffer.alloc(300 * 1024)]) }]);
  assert.equal(huge.status, 413);
  assert.deepEqual(readdirSync(path.join(s.dataDir, 'uploads')).filter((f) => f.startsWith('.')), [], 'no temp files left');
});

test('POST /upload/image: uploads of one name at the same moment each keep their own file', async () => {
  const B = 'kosmosBoundary';
  const bodies = Array.from({ length: 6 }, (_, i) => Buffer.concat([PNG_1x1, Buffer.from(`#${i}`)]));
  const answers = await Promise.all(
    bodies.map((data) =>
      raw(s.port, 'POST', '/upload/image', { host: `127.0.0.1:${s.port}`, 'content-type': `multipart/form-data; boundary=${B}` }, multipart(B, [{ name: 'image', filename: 'same.png', data }, { name: 'subfolder', data: 'race' }])),
    ),
  );
  const names = answers.map((a) => JSON.parse(a.body).name as string);
  assert.equal(new Set(names).size, bodies.length, `names: ${names.join(', ')}`);
  names.forEach((name, i) => assert.deepEqual(readFileSync(path.join(s.dataDir, 'uploads', 'race', name)), bodies[i]));
  assert.deepEqual(readdirSync(path.join(s.dataDir, 'uploads', 'race')).filter((f) => f.startsWith('.')), [], 'no temp files left');
});

test('cancel: a queued job, a running job; interrupt; queue and history deletion', async () => {
  const ws = await connectWs(`ws://127.0.0.1:${s.port}/ws`);
  const long = (await json(s.base, 'POST', '/prompt', { workflow: counterWorkflow(2000, 5) })).body.prompt_id as string;
  const queued = (await json(s.base, 'POST', '/prompt', { workflow: counterWorkflow(1, 1) })).body.prompt_id as string;
  const third = (await json(s.base, 'POST', '/prompt', { workflow: counterWorkflow(1, 1) })).body.prompt_id as string;
  await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === long);
  const q = await json(s.base, 'GET', '/queue');
  assert.equal(q.body.queue_running[0][1], long);
  assert.deepEqual(q.body.queue_pending.map((e: unknown[]) => e[1]), [queued, third]);
  assert.deepEqual((await json(s.base, 'POST', `/api/jobs/${queued}/cancel`)).body, { id: queued, status: 'cancelled' });
  assert.equal((await json(s.base, 'GET', `/api/jobs/${queued}`)).body.status, 'cancelled');
  assert.deepEqual((await json(s.base, 'POST', '/queue', { delete: [third] })).body, { deleted: [third] });
  assert.equal((await json(s.base, 'GET', `/api/jobs/${third}`)).status, 404);
  assert.deepEqual((await json(s.base, 'POST', `/api/jobs/${long}/cancel`)).body, { id: long, status: 'cancelling' });
  const stopped = await ws.waitFor((m) => m.type === 'execution_interrupted' && m.data.prompt_id === long);
  assert.equal(stopped.data.node_id, '1');
  const job = await finished(long);
  assert.equal(job.status, 'cancelled');
  const again = await json(s.base, 'POST', `/api/jobs/${long}/cancel`);
  assert.equal(again.status, 409);
  assert.equal(again.body.error.code, 'JOB_FINISHED');
  assert.equal((await json(s.base, 'POST', '/api/jobs/missing/cancel')).status, 404);
  // /interrupt stops whatever runs.
  const other = (await json(s.base, 'POST', '/prompt', { workflow: counterWorkflow(2000, 5) })).body.prompt_id as string;
  await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === other);
  assert.deepEqual((await json(s.base, 'POST', '/interrupt', {})).body, { interrupted: other });
  assert.equal((await finished(other)).status, 'cancelled');
  // History deletion.
  assert.deepEqual((await json(s.base, 'POST', '/history', { delete: [long] })).body, { deleted: 1 });
  assert.deepEqual(await json(s.base, 'GET', `/history/${long}`), { status: 200, body: {} });
  assert.equal((await json(s.base, 'POST', '/history', { delete: 'x' })).status, 400);
  ws.ws.close();
});

test('named workflows: save, list, load, delete; bad names and bad workflows refused', async () => {
  const wf = counterWorkflow(2, 1);
  assert.deepEqual((await json(s.base, 'PUT', '/api/workflows/my%20flow', wf)).body, { name: 'my flow', saved: true });
  assert.deepEqual((await json(s.base, 'GET', '/api/workflows')).body.workflows.map((w: { name: string }) => w.name), ['my flow']);
  assert.deepEqual((await json(s.base, 'GET', '/api/workflows/my%20flow')).body, wf);
  const bad = await json(s.base, 'PUT', '/api/workflows/x', { format: 'nope' });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.code, /^WORKFLOW_/);
  assert.equal((await json(s.base, 'PUT', '/api/workflows/..%2Fetc', wf)).body.error.code, 'BAD_NAME');
  assert.equal((await json(s.base, 'GET', '/api/workflows/missing')).status, 404);
  assert.deepEqual((await json(s.base, 'DELETE', '/api/workflows/my%20flow')).body, { name: 'my flow', deleted: true });
  assert.equal((await json(s.base, 'DELETE', '/api/workflows/my%20flow')).status, 404);
});

test('catalogue: /api/nodes and /object_info describe the loaded nodes', async () => {
  const nodes = await json(s.base, 'GET', '/api/nodes');
  const counter = nodes.body.nodes.find((n: { type: string }) => n.type === 'TestCounter');
  assert.deepEqual(counter.widgets.map((w: { name: string; kind: string }) => [w.name, w.kind]), [['steps', 'INT'], ['delayMs', 'INT'], ['failAt', 'INT']]);
  assert.ok(Array.isArray(nodes.body.catalogue.nodes));
  const info = await json(s.base, 'GET', '/object_info');
  assert.deepEqual(info.body.TestCounter.input.required.steps, ['INT', { default: 3, min: 1, max: 100000 }]);
  assert.deepEqual(info.body.TestImageOut.output_name, ['value']);
  assert.equal(info.body.TestImageOut.output_node, true);
  const missing = await json(s.base, 'GET', '/object_info/Nope');
  assert.deepEqual([missing.status, missing.body], [200, {}], 'as ComfyUI: an unknown type is an empty object');
});

test('Origin and Host: foreign, null and DNS-rebinding requests are refused before they act', async () => {
  const body = JSON.stringify({ workflow: counterWorkflow(1, 1) });
  const before = (await json(s.base, 'GET', '/api/jobs')).body.jobs.length;
  const h = { host: `127.0.0.1:${s.port}`, 'content-type': 'application/json' };
  for (const origin of ['http://evil.example', 'null', `http://evil.example:${s.port}`, `http://127.0.0.1:${s.port + 1}`]) {
    const r = await raw(s.port, 'POST', '/prompt', { ...h, origin }, body);
    assert.equal(r.status, 403, origin);
    assert.equal(JSON.parse(r.body).error.code, 'BAD_ORIGIN');
  }
  const rebind = await raw(s.port, 'GET', '/history', { host: `evil.example:${s.port}` });
  assert.equal(rebind.status, 403);
  assert.equal(JSON.parse(rebind.body).error.code, 'BAD_HOST');
  const cross = await raw(s.port, 'POST', '/prompt', { ...h, 'sec-fetch-site': 'cross-site' }, body);
  assert.equal(cross.status, 403);
  assert.equal((await json(s.base, 'GET', '/api/jobs')).body.jobs.length, before, 'nothing was queued');
  const same = await raw(s.port, 'POST', '/api/validate', { ...h, origin: `http://localhost:${s.port}` }, body);
  assert.equal(same.status, 200);
});

test('default workflow: --open-default serves workflows/generate.json; otherwise the editor uses its own', async () => {
  assert.deepEqual((await json(s.base, 'GET', '/api/default-workflow')).body, { name: null, workflow: null });
  const withDefault = await startServer({ openDefault: true });
  try {
    const r = await json(withDefault.base, 'GET', '/api/default-workflow');
    const shipped = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'workflows', 'generate.json');
    if (existsSync(shipped)) {
      assert.equal(r.body.name, 'generate');
      assert.deepEqual(r.body.workflow, JSON.parse(readFileSync(shipped, 'utf8')));
    } else {
      assert.deepEqual(r.body, { name: null, workflow: null }, 'no workflows/generate.json: the editor builds its own');
    }
    const page = await fetch(`${withDefault.base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<canvas id="graph-canvas">/);
    const lib = await fetch(`${withDefault.base}/vendor/litegraph/litegraph.es.js`);
    assert.equal(lib.status, 200);
    assert.match(lib.headers.get('content-type') ?? '', /javascript/);
  } finally {
    await withDefault.close();
  }
});

test('core nodes: Int → PreviewValue reports its value in `executed` before the job ends, and in history', async () => {
  const ws = await connectWs(`ws://127.0.0.1:${s.port}/ws`);
  const r = await json(s.base, 'POST', '/prompt', {
    workflow: {
      format: 'kosmos-g/workflow',
      version: 1,
      nodes: [
        { id: '1', type: 'Int', widgets: { value: 42 } },
        { id: '2', type: 'PreviewValue', inputs: { value: { node: '1', output: 'value' } } },
      ],
    },
  });
  const id = r.body.prompt_id;
  await ws.waitFor((m) => m.type === 'execution_success' && m.data.prompt_id === id);
  const types = ws.messages.filter((m) => m.data?.prompt_id === id).map((m) => m.type);
  const executed = ws.messages.find((m) => m.type === 'executed' && m.data.prompt_id === id)!;
  assert.deepEqual(executed.data.output, { text: ['value: 42'], values: { value: 42 } });
  assert.ok(types.indexOf('executed') < types.lastIndexOf('executing'), types.join(','));
  const hist = (await json(s.base, 'GET', `/history/${id}`)).body[id];
  assert.deepEqual(hist.outputs['2'], { values: { value: 42 } });
  ws.ws.close();
});

test('PATH widgets: an uploaded image runs through LoadImage; files outside the allowed roots are refused', async () => {
  const B = 'b0undary';
  const up = await raw(s.port, 'POST', '/upload/image', { host: `127.0.0.1:${s.port}`, 'content-type': `multipart/form-data; boundary=${B}` },
    multipart(B, [{ name: 'image', filename: 'pixel.png', data: PNG_1x1 }]));
  const stored = JSON.parse(up.body).path as string;
  const wf = (image: string) => ({
    format: 'kosmos-g/workflow',
    version: 1,
    nodes: [
      { id: '1', type: 'LoadImage', widgets: { image } },
      { id: '2', type: 'PreviewValue', inputs: { value: { node: '1', output: 'width' } } },
    ],
  });
  const ok = await json(s.base, 'POST', '/prompt', { workflow: wf(stored) });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const job = await finished(ok.body.prompt_id);
  assert.equal(job.status, 'done', JSON.stringify(job.error));
  assert.deepEqual(job.outputs['2'].values, { value: 1 });
  for (const outside of ['/etc/hostname', '../../../../etc/hostname', path.join(path.dirname(s.dataDir), 'elsewhere.png')]) {
    const r = await json(s.base, 'POST', '/prompt', { workflow: wf(outside) });
    assert.equal(r.status, 400, outside);
    assert.equal(r.body.node_errors['1'].errors[0].type, 'PATH_FORBIDDEN', outside);
    assert.equal(r.body.node_errors['1'].errors[0].extra_info.input_name, 'image');
  }
});
