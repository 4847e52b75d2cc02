// Budgets: a workflow that would allocate past the limits (a 4096×4096×64 latent, an 8192² resize) is refused at
// validation with BUDGET_EXCEEDED on the node and widget, over HTTP, before anything runs; the limits come from
// KOSMOS_G_MAX_PIXELS / KOSMOS_G_MAX_LATENT_ELEMENTS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { json, startServer } from './helpers.ts';

// The core and diffusion packs hold the nodes that declare budgets; the others are not needed here.
process.env.KOSMOS_G_BUILTINS = 'core,diffusion';

const wf = (nodes: unknown[]) => ({ format: 'kosmos-g/workflow', version: 1, nodes });
const latent = (widgets: Record<string, number>) =>
  wf([
    { id: 'lat', type: 'EmptyLatent', widgets },
    { id: 'show', type: 'PreviewValue', inputs: { value: { node: 'lat', output: 'latent' } } },
  ]);
const resize = (width: number, height: number) =>
  wf([
    { id: 'img', type: 'LoadImage', widgets: { image: 'workflows/assets/nonexistent.png' } },
    { id: 'big', type: 'ImageResize', widgets: { width, height }, inputs: { image: { node: 'img', output: 'image' } } },
    { id: 'show', type: 'PreviewValue', inputs: { value: { node: 'big', output: 'image' } } },
  ]);

const budgetIssues = (body: { issues?: { code: string }[] }) => (body.issues ?? []).filter((i) => i.code === 'BUDGET_EXCEEDED');

test('the default budgets refuse a 4096×4096×64 latent and an 8192² resize, naming node and widget', async () => {
  const s = await startServer({}, { builtins: true });
  try {
    const huge = await json(s.base, 'POST', '/api/validate', { workflow: latent({ width: 4096, height: 4096, batch: 64, channels: 64, downscale: 1 }) });
    assert.deepEqual(budgetIssues(huge.body).map((i: any) => [i.node, i.input]), [['lat', 'batch']]);
    assert.match((budgetIssues(huge.body)[0] as any).message, /64×64×4096×4096 is 68,719,476,736 latent elements, above the limit of 268,435,456 \(KOSMOS_G_MAX_LATENT_ELEMENTS\)/);
    const queued = await json(s.base, 'POST', '/prompt', { workflow: latent({ width: 4096, height: 4096, batch: 64, channels: 64, downscale: 1 }) });
    assert.equal(queued.status, 400);
    assert.equal(queued.body.node_errors.lat.errors[0].type, 'BUDGET_EXCEEDED');
    assert.equal(queued.body.node_errors.lat.errors[0].extra_info.input_name, 'batch');
    const fine = await json(s.base, 'POST', '/api/validate', { workflow: latent({ width: 512, height: 512, batch: 4 }) });
    assert.deepEqual(fine.body, { ok: true, issues: [], node_errors: {} });
    const wide = await json(s.base, 'POST', '/api/validate', { workflow: resize(8192, 8192) });
    assert.deepEqual(budgetIssues(wide.body).map((i: any) => [i.node, i.input]), [['big', 'width']]);
    assert.deepEqual(budgetIssues((await json(s.base, 'POST', '/api/validate', { workflow: resize(4096, 4096) })).body), []);
  } finally {
    await s.close();
  }
});

test('limits are configurable: KOSMOS_G_MAX_PIXELS=10000 refuses a 128×128 resize and takes a 64×64 one', async () => {
  process.env.KOSMOS_G_MAX_PIXELS = '10000';
  const s = await startServer({}, { builtins: true });
  try {
    const refused = await json(s.base, 'POST', '/api/validate', { workflow: resize(128, 128) });
    assert.match((budgetIssues(refused.body)[0] as any)?.message ?? '', /16,384 pixels, above the limit of 10,000 \(KOSMOS_G_MAX_PIXELS\)/);
    assert.deepEqual(budgetIssues((await json(s.base, 'POST', '/api/validate', { workflow: resize(64, 64) })).body), []);
  } finally {
    delete process.env.KOSMOS_G_MAX_PIXELS;
    await s.close();
  }
});

test('a workflow with more nodes than the server takes gets 413 WORKFLOW_TOO_LARGE before validation, in both formats', async () => {
  const s = await startServer({}, { builtins: false, limits: { maxNodes: 10 } });
  try {
    const counters = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `c${i}`, type: 'TestImageOut' }));
    const ok = await json(s.base, 'POST', '/api/validate', { workflow: wf(counters(10)) });
    assert.equal(ok.body.ok, true, JSON.stringify(ok.body));
    for (const body of [
      { workflow: wf(counters(11)) },
      { prompt: Object.fromEntries(counters(11).map((n) => [n.id, { class_type: n.type, inputs: {} }])) },
    ]) {
      for (const route of ['/prompt', '/api/validate', '/api/export']) {
        const r = await json(s.base, 'POST', route, body);
        assert.deepEqual([r.status, r.body.error?.code], [413, 'WORKFLOW_TOO_LARGE'], route);
        assert.match(r.body.error.message, /11 nodes; this server takes at most 10/);
      }
    }
  } finally {
    await s.close();
  }
});
