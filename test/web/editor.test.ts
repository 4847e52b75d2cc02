// The editor in a real browser (playwright-core driving Debian's chromium): load it, open a workflow file and a
// PNG carrying one, queue it, watch progress and the output image, save and reload it, see a validation error on
// the right node and widget, cancel from the queue panel. The PNG is dropped on the canvas like a user's file. Screenshots go to test-output/web/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { counterWorkflow, json, waitUntil } from '../server/helpers.ts';
import { pngWithText } from './png-text.ts';
import { SHOTS, editorSession, noChromium } from './browser.ts';

const skip = noChromium;
if (skip) console.log(`# skip: ${skip}`);

const ed = editorSession();
let tmp: string;
before(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'kosmos-web-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Our workflow as the editor currently holds it. */
const current = () => ed.page.evaluate(() => (window as any).kosmos.currentWorkflow());
const essentials = (wf: any) =>
  wf.nodes.map((n: any) => ({ id: n.id, type: n.type, widgets: n.widgets ?? {}, inputs: n.inputs ?? {} })).sort((a: any, b: any) => a.id.localeCompare(b.id));

test('editor: the palette is built from the node catalogue', { skip }, async () => {
  const types = await ed.page.$$eval('#palette .node-type', (els) => els.map((e) => (e as HTMLElement).dataset.type));
  assert.ok(types.includes('TestCounter') && types.includes('TestImageOut'), types.join(','));
  await ed.page.fill('#palette-search', 'counter');
  assert.deepEqual(await ed.page.$$eval('#palette .node-type', (els) => els.map((e) => (e as HTMLElement).dataset.type)), ['TestCounter']);
  await ed.page.fill('#palette-search', '');
  // Widgets follow the catalogue's kinds.
  const widgets = await ed.page.evaluate(() => {
    const k = (window as any).kosmos;
    const node = k.addNode('TestCounter');
    const out = node.widgets.map((w: any) => [w.kosmosName, w.type, w.options.min, w.options.max]);
    k.graph.remove(node);
    return out;
  });
  assert.deepEqual(widgets, [['steps', 'number', 1, 100000], ['delayMs', 'number', 0, 60000], ['failAt', 'number', 0, 100000]]);
});

test('editor: open a workflow file, queue it, see progress and the output image', { skip }, async () => {
  const file = path.join(tmp, 'counter.json');
  const wf = counterWorkflow(30, 25, { early: true }) as { nodes: Record<string, unknown>[]; groups?: unknown[] };
  wf.nodes[0]!.title = 'slow counter';
  wf.groups = [{ title: 'outputs', bounding: [280, -60, 260, 200], color: '#335' }];
  writeFileSync(file, JSON.stringify(wf));
  await ed.page.setInputFiles('#file-open', file);
  await ed.page.waitForFunction(() => (window as any).kosmos.graph._nodes.length === 3);
  assert.equal(await ed.page.inputValue('#wf-name'), 'counter');
  await ed.page.click('#btn-queue');
  // The counter node is highlighted as running and its progress shows, in the panel and on the node.
  await ed.page.waitForFunction(() => {
    const n = (window as any).kosmos.graph.getNodeById('1');
    return n.kosmos.running && n.kosmos.progress > 0;
  }, null, { timeout: 15_000 });
  await ed.page.waitForFunction(() => /node 1: \d+ \/ 30/.test(document.getElementById('progress-text')!.textContent!));
  await ed.page.screenshot({ path: path.join(SHOTS, 'running.png') });
  await ed.page.waitForFunction(() => document.getElementById('progress-text')!.textContent === 'finished', null, { timeout: 15_000 });
  await ed.page.waitForFunction(() => Array.from(document.querySelectorAll('#outputs img.output')).filter((i) => (i as HTMLImageElement).naturalWidth === 8).length >= 2);
  const onNode = await ed.page.evaluate(() => {
    const n = (window as any).kosmos.graph.getNodeById('2');
    return n.kosmos.images.map((i: HTMLImageElement) => i.naturalWidth);
  });
  assert.deepEqual(onNode, [8]);
  const loss = await ed.page.evaluate(() => (window as any).kosmos.plot.points('loss').map((p: any) => p.y));
  assert.equal(loss.length, 30);
  assert.ok(loss[0] > loss[29]);
  await ed.page.screenshot({ path: path.join(SHOTS, 'done.png') });
  assert.match((await ed.page.textContent('#jobs')) ?? '', /done/);
});

test('editor: save, reload the page, open the saved workflow: the graph is the same', { skip }, async () => {
  const before = await current();
  await ed.page.fill('#wf-name', 'browser test');
  await ed.page.click('#btn-save');
  await ed.page.waitForFunction(() => Array.from(document.querySelectorAll('#saved-workflows option')).some((o) => (o as HTMLOptionElement).value === 'browser test'));
  const stored = await json(ed.server.base, 'GET', '/api/workflows/browser%20test');
  assert.deepEqual(essentials(stored.body), essentials(before));
  await ed.page.reload();
  await ed.page.waitForFunction(() => (window as any).kosmos?.ready === true);
  await ed.page.selectOption('#saved-workflows', 'browser test');
  await ed.page.waitForFunction(() => (window as any).kosmos.state.name === 'browser test');
  const reloaded = await current();
  assert.deepEqual(essentials(reloaded), essentials(before));
  // Titles and groups survive open → save → reload.
  assert.deepEqual(reloaded.groups, [{ title: 'outputs', bounding: [280, -60, 260, 200], color: '#335' }]);
  assert.equal(reloaded.nodes.find((n: any) => n.id === '1').title, 'slow counter');
  assert.deepEqual(reloaded.nodes.map((n: any) => n.pos), before.nodes.map((n: any) => n.pos));
});

test('editor: a PNG carrying a workflow, dropped on the canvas, opens that workflow', { skip }, async () => {
  const wf = counterWorkflow(4, 1, { prefix: 'frompng' });
  const b64 = pngWithText('workflow', JSON.stringify(wf)).toString('base64');
  const dataTransfer = await ed.page.evaluateHandle((data) => {
    const dt = new DataTransfer();
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    dt.items.add(new File([bytes], 'carrier.png', { type: 'image/png' }));
    return dt;
  }, b64);
  await ed.page.dispatchEvent('#graph-area', 'drop', { dataTransfer });
  await ed.page.waitForFunction(() => (window as any).kosmos.state.name === 'carrier');
  const expected = essentials(wf);
  expected.find((n: any) => n.id === '1').widgets.failAt = 0; // the editor writes every widget, defaults included
  assert.deepEqual(essentials(await current()), expected);
});

test('editor: a validation error is drawn on the offending node and widget', { skip }, async () => {
  const file = path.join(tmp, 'broken.json');
  writeFileSync(file, JSON.stringify(counterWorkflow(0, 1)));
  await ed.page.setInputFiles('#file-open', file);
  await ed.page.waitForFunction(() => (window as any).kosmos.state.name === 'broken');
  await ed.page.click('#btn-queue');
  await ed.page.waitForFunction(() => (window as any).kosmos.graph.getNodeById('1').kosmos.error !== null);
  const marks = await ed.page.evaluate(() => {
    const g = (window as any).kosmos.graph;
    const n1 = g.getNodeById('1');
    return {
      error: n1.kosmos.error,
      label: n1.widgets.find((w: any) => w.kosmosName === 'steps').label,
      other: g.getNodeById('2').kosmos.error,
    };
  });
  assert.match(marks.error, /WIDGET_RANGE/);
  assert.equal(marks.label, '⚠ steps');
  assert.equal(marks.other, null);
  assert.match((await ed.page.textContent('#messages li.error')) ?? '', /node 1\.steps/);
  await ed.page.screenshot({ path: path.join(SHOTS, 'validation-error.png') });
});

test('editor: an execution error is drawn on the node that failed', { skip }, async () => {
  const wf = counterWorkflow(5, 1) as { nodes: { widgets: Record<string, unknown> }[] };
  wf.nodes[0]!.widgets.failAt = 3;
  await ed.page.evaluate((w) => (window as any).kosmos.loadWorkflow(w, 'failing'), wf);
  await ed.page.click('#btn-queue');
  await ed.page.waitForFunction(() => (window as any).kosmos.graph.getNodeById('1').kosmos.error !== null, null, { timeout: 15_000 });
  const error = await ed.page.evaluate(() => (window as any).kosmos.graph.getNodeById('1').kosmos.error);
  assert.match(error, /TEST_FAILURE: failing at step 3/);
  assert.equal(await ed.page.evaluate(() => (window as any).kosmos.graph.getNodeById('2').kosmos.error), null);
  await ed.page.screenshot({ path: path.join(SHOTS, 'execution-error.png') });
});

test('editor: a widget converted to an input is fed by a link, exported by name, and runs', { skip }, async () => {
  const wf = await ed.page.evaluate(() => {
    const k = (window as any).kosmos;
    k.loadWorkflow({ format: 'kosmos-g/workflow', version: 1, nodes: [] }, 'converted');
    const counter = k.addNode('TestCounter');
    const out = k.addNode('TestImageOut');
    const int = k.addNode('Int');
    int.widgets.find((w: any) => w.kosmosName === 'value').value = 4;
    const slot = k.convertWidgetToInput(counter, 'steps');
    int.connect(0, counter, slot);
    counter.connect(0, out, 0);
    counter.widgets.find((w: any) => w.kosmosName === 'delayMs').value = 1;
    return k.currentWorkflow();
  });
  const counter = wf.nodes.find((n: any) => n.type === 'TestCounter');
  const int = wf.nodes.find((n: any) => n.type === 'Int');
  assert.deepEqual(counter.inputs.steps, { node: int.id, output: 'value' });
  assert.equal(counter.widgets.steps, undefined, 'a linked widget is not also given a value');
  const r = await json(ed.server.base, 'POST', '/prompt', { workflow: wf });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const job = await waitUntil(async () => {
    const j = (await json(ed.server.base, 'GET', `/api/jobs/${r.body.prompt_id}`)).body;
    return j.status === 'queued' || j.status === 'running' ? undefined : j;
  }, 15_000, 'the converted workflow to run');
  assert.equal(job.status, 'done');
  const outId = wf.nodes.find((n: any) => n.type === 'TestImageOut').id;
  assert.equal(job.outputs[outId].values.value, 4, 'the counter ran the number of steps the Int node gave it');
  // The converted socket survives a reload of the exported file.
  const again = await ed.page.evaluate((w) => {
    const k = (window as any).kosmos;
    k.loadWorkflow(w, 'converted');
    return k.currentWorkflow();
  }, wf);
  assert.deepEqual(essentials(again), essentials(wf));
});

test('editor: an image uploaded into LoadImage\'s path widget runs and previews', { skip }, async () => {
  const { PNG_1x1 } = await import('../server/helpers.ts');
  const result = await ed.page.evaluate(async (b64) => {
    const k = (window as any).kosmos;
    k.loadWorkflow({ format: 'kosmos-g/workflow', version: 1, nodes: [] }, 'upload');
    const load = k.addNode('LoadImage');
    const preview = k.addNode('PreviewImage');
    load.connect(0, preview, 0);
    const hasButton = load.widgets.some((w: any) => w.type === 'button' && /upload image/.test(w.name));
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const answer = await k.uploadToWidget(load, load.widgets.find((w: any) => w.kosmosName === 'image'), new File([bytes], 'dot.png', { type: 'image/png' }));
    return { hasButton, answer, wf: k.currentWorkflow() };
  }, PNG_1x1.toString('base64'));
  assert.equal(result.hasButton, true, 'image PATH widgets get an upload button');
  assert.equal(result.answer.name, 'dot.png');
  const load = result.wf.nodes.find((n: any) => n.type === 'LoadImage');
  assert.equal(load.widgets.image, result.answer.path);
  await ed.page.click('#btn-queue');
  const previewId = result.wf.nodes.find((n: any) => n.type === 'PreviewImage').id;
  await ed.page.waitForFunction((id) => (window as any).kosmos.graph.getNodeById(id).kosmos.images.some((i: HTMLImageElement) => i.naturalWidth > 0), previewId, { timeout: 15_000 });
});

test('editor: cancel a running job from the queue panel', { skip }, async () => {
  await ed.page.evaluate((wf) => (window as any).kosmos.loadWorkflow(wf, 'long'), counterWorkflow(5000, 20));
  await ed.page.click('#btn-queue');
  await ed.page.waitForSelector('#jobs li .status.running');
  await ed.page.click('#jobs li:has(.status.running) button.cancel');
  await ed.page.waitForSelector('#jobs li .status.cancelled', { timeout: 10_000 });
  await ed.page.waitForFunction(() => document.getElementById('progress-text')!.textContent === 'cancelled');
  assert.deepEqual(ed.pageErrors, [], 'no uncaught errors in the page');
});
