// ComfyUI's system routes on a real server: POST /free empties the engine's cache and runs the packs' release
// hooks (between jobs, never under a running one), GET /models and /models/{folder} list <data>/models, /settings
// keeps one user's JSON, /users and /features answer what ComfyUI's frontend expects.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { counterWorkflow, finishedJob, json, raw, startServer, TEST_PACK, waitUntil, type TestServer } from './helpers.ts';

let s: TestServer;
let releaseCount: () => number;
before(async () => {
  s = await startServer();
  // The same module instance the server's registry loaded (one URL, one module).
  ({ releaseCount } = await import(pathToFileURL(path.join(TEST_PACK, 'index.ts')).href));
});
after(async () => s.close());

const finished = (id: string) => finishedJob(s.base, id);

const intToPreview = {
  format: 'kosmos-g/workflow',
  version: 1,
  nodes: [
    { id: 'i', type: 'Int', widgets: { value: 7 } },
    { id: 'p', type: 'PreviewValue', inputs: { value: { node: 'i', output: 'value' } } },
  ],
};

/** Runs the workflow; the ids of the nodes served from the cache. */
async function cachedNodes(): Promise<string[]> {
  const id = (await json(s.base, 'POST', '/prompt', { workflow: intToPreview })).body.prompt_id;
  assert.equal((await finished(id)).status, 'done');
  const events = (await json(s.base, 'GET', `/api/jobs/${id}/events`)).body.events as { type: string; data: { nodes?: string[] } }[];
  return events.filter((e) => e.type === 'execution_cached').flatMap((e) => e.data.nodes ?? []);
}

test('POST /free empties the cache and runs the packs\' release hooks; a running job is never freed under', async () => {
  await cachedNodes();
  assert.deepEqual((await cachedNodes()).sort(), ['i', 'p'], 'the second run is served from the cache');
  const before = releaseCount();
  const nothing = await json(s.base, 'POST', '/free', {});
  assert.deepEqual(nothing.body, { freed: false }, 'like ComfyUI, nothing is freed unless asked');
  const r = await json(s.base, 'POST', '/free', { unload_models: true, free_memory: true });
  assert.equal(r.status, 200);
  assert.equal(r.body.when, 'now');
  assert.ok(r.body.report.cacheEntries >= 1, JSON.stringify(r.body));
  assert.ok(r.body.report.packHooks >= 1);
  assert.equal(releaseCount(), before + 1);
  assert.deepEqual(await cachedNodes(), [], 'after /free the node runs again');

  const long = (await json(s.base, 'POST', '/prompt', { workflow: counterWorkflow(40, 10) })).body.prompt_id;
  await waitUntil(async () => (await json(s.base, 'GET', `/api/jobs/${long}`)).body.status === 'running' || undefined, 5000, 'the job to start');
  const later = await json(s.base, 'POST', '/api/free', { free_memory: true });
  assert.equal(later.body.when, 'after_current_job');
  assert.equal(releaseCount(), before + 1, 'nothing released while the job runs');
  assert.equal((await finished(long)).status, 'done');
  await waitUntil(() => releaseCount() === before + 2 || undefined, 5000, 'the release after the job');
});

test('GET /models lists the folders of <data>/models, GET /models/{folder} their files; unknown folders 404', async () => {
  assert.deepEqual((await json(s.base, 'GET', '/models')).body, []);
  const models = path.join(s.dataDir, 'models');
  for (const f of ['checkpoints/sd15.safetensors', 'loras/style/ink.safetensors', 'loras/a.safetensors', 'loras/.cache/x', '.hidden/y']) {
    mkdirSync(path.dirname(path.join(models, f)), { recursive: true });
    writeFileSync(path.join(models, f), 'x');
  }
  assert.deepEqual((await json(s.base, 'GET', '/models')).body, ['checkpoints', 'loras']);
  assert.deepEqual((await json(s.base, 'GET', '/api/models/loras')).body, ['a.safetensors', 'style/ink.safetensors']);
  assert.deepEqual((await json(s.base, 'GET', '/models/checkpoints')).body, ['sd15.safetensors']);
  const missing = await json(s.base, 'GET', '/models/vae');
  assert.deepEqual([missing.status, missing.body.error.code], [404, 'NOT_FOUND']);
  // Sent as written (fetch would normalise the dots away).
  for (const bad of ['.hidden', '..', '%2e%2e', '..%2F..%2Fetc', 'constructor', '__proto__']) {
    const r = await raw(s.port, 'GET', `/models/${bad}`);
    assert.ok(r.status === 400 || r.status === 404, `${bad}: ${r.status}`);
    assert.match(JSON.parse(r.body).error.code, /^(BAD_PATH|NOT_FOUND)$/);
  }
});

test('/settings keeps one user\'s JSON in the data folder; /users and /features answer like ComfyUI', async () => {
  assert.deepEqual((await json(s.base, 'GET', '/settings')).body, {});
  assert.deepEqual((await json(s.base, 'POST', '/settings', { 'Comfy.Locale': 'en', 'Comfy.Graph.ZoomSpeed': 1.1 })).body, { saved: 2 });
  assert.deepEqual((await json(s.base, 'POST', '/settings/Comfy.Theme', '"dark"')).body, { saved: 1 });
  assert.deepEqual((await json(s.base, 'GET', '/settings')).body, { 'Comfy.Locale': 'en', 'Comfy.Graph.ZoomSpeed': 1.1, 'Comfy.Theme': 'dark' });
  assert.equal((await json(s.base, 'GET', '/api/settings/Comfy.Locale')).body, 'en');
  assert.equal((await json(s.base, 'GET', '/settings/Comfy.Unset')).body, null);
  assert.deepEqual(JSON.parse(readFileSync(path.join(s.dataDir, 'settings.json'), 'utf8'))['Comfy.Theme'], 'dark');
  const proto = await json(s.base, 'POST', '/settings', '{"__proto__": {"polluted": true}}');
  assert.deepEqual([proto.status, proto.body.error.code], [400, 'BAD_SETTING_ID']);
  assert.equal((await json(s.base, 'POST', '/settings', '[1]')).status, 400);
  assert.deepEqual((await json(s.base, 'GET', '/users')).body, { storage: 'server', migrated: true });
  const features = (await json(s.base, 'GET', '/features')).body;
  assert.equal(features.supports_preview_metadata, true);
  assert.equal(typeof features.max_upload_size, 'number');
});

test('after the queue has stayed idle for the configured time, cached models and sessions are freed', async () => {
  const idle = await startServer({}, { builtins: true, idleFreeMs: 150 });
  try {
    const before = releaseCount();
    const id = (await json(idle.base, 'POST', '/prompt', { workflow: intToPreview })).body.prompt_id;
    assert.equal((await finishedJob(idle.base, id)).status, 'done');
    await waitUntil(() => releaseCount() === before + 1 || undefined, 5000, 'the idle release');
    // Freed: the same workflow runs its nodes again instead of taking them from the cache.
    const again = (await json(idle.base, 'POST', '/prompt', { workflow: intToPreview })).body.prompt_id;
    await finishedJob(idle.base, again);
    const events = (await json(idle.base, 'GET', `/api/jobs/${again}/events`)).body.events as { type: string }[];
    assert.equal(events.filter((e) => e.type === 'execution_cached').length, 0);
  } finally {
    await idle.close();
  }
});
