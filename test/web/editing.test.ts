// Everyday editing in a real chromium (Debian's, driven by playwright-core), with real key presses and clicks:
// Delete, copy/paste keeping the links among the pasted nodes, undo/redo of each edit, the shortcuts overlay, a
// context menu without duplicates, seeds that move after each queue with a batch count, loading a past job's
// workflow from the history, opening an output large, a plain image dropped on the canvas becoming a LoadImage
// node, unknown prompt words shown on the tokenizer node, and the metrics plot's labels. Screenshots go to test-output/web/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG_1x1, finishedJob, json } from '../server/helpers.ts';
import { SHOTS, editorSession, noChromium } from './browser.ts';

const skip = noChromium;
if (skip) console.log(`# skip: ${skip}`);
const ed = editorSession();

const wf = (nodes: unknown[]) => ({ format: 'kosmos-g/workflow', version: 1, nodes });
const load = (w: unknown, name = 'test') => ed.page.evaluate(([x, n]) => (window as any).kosmos.loadWorkflow(x, n), [w, name] as const);
/** Node ids, types and links, sorted: what an edit changes. */
const graphState = () =>
  ed.page.evaluate(() =>
    (window as any).kosmos.currentWorkflow().nodes
      .map((n: any) => ({ id: n.id, type: n.type, inputs: n.inputs, pos: n.pos }))
      .sort((a: any, b: any) => a.id.localeCompare(b.id)),
  );

/**
 * Where a node's title bar is on the page, in CSS pixels. Draws a frame first: litegraph finds the node under the
 * pointer by the areas its last frame measured, and a click right after a load would otherwise hit empty canvas.
 */
async function titleOf(id: string): Promise<{ x: number; y: number }> {
  const at = await ed.page.evaluate((nodeId) => {
    const k = (window as any).kosmos;
    k.canvas.draw(true, true);
    const n = k.graph.getNodeById(nodeId);
    const [sx, sy] = k.canvas.ds.convertOffsetToCanvas([n.pos[0] + 30, n.pos[1] - 15]);
    const r = k.canvas.canvas.getBoundingClientRect();
    return { x: r.left + sx / devicePixelRatio, y: r.top + sy / devicePixelRatio };
  }, id);
  return at;
}

/**
 * A click that is never the second half of a double click: litegraph counts two presses at one spot within 300 ms
 * as one, and a double click on empty canvas opens its search box, which then takes the keys. Tests that follow
 * each other quickly click the same node title at the same place, so each click waits out that window.
 */
let lastPress = 0;
async function click(x: number, y: number, options?: { button: 'left' | 'right' }): Promise<void> {
  const wait = lastPress + 400 - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  await ed.page.mouse.click(x, y, options);
  lastPress = Date.now();
}

const twoChains = wf([
  { id: 'a', type: 'Int', widgets: { value: 3 }, pos: [40, 60] },
  { id: 'b', type: 'PreviewValue', inputs: { value: { node: 'a', output: 'value' } }, pos: [340, 60] },
]);

test('keyboard: click a node, Delete removes it; Ctrl+Z brings it back with its link; Ctrl+Shift+Z and Ctrl+Y redo', { skip }, async () => {
  await load(twoChains);
  const original = await graphState();
  const b = await titleOf('b');
  await click(b.x, b.y);
  assert.equal(await ed.page.evaluate(() => document.activeElement?.id), 'graph-canvas', 'a click gives the canvas the keyboard focus');
  await ed.page.keyboard.press('Delete');
  assert.deepEqual((await graphState()).map((n: any) => n.id), ['a']);
  await ed.page.keyboard.press('Control+z');
  assert.deepEqual(await graphState(), original, 'undo restores the node and its link');
  await ed.page.keyboard.press('Control+Shift+z');
  assert.deepEqual((await graphState()).map((n: any) => n.id), ['a']);
  await ed.page.keyboard.press('Control+z');
  await ed.page.keyboard.press('Backspace'); // nothing is selected after an undo: nothing to delete
  assert.deepEqual(await graphState(), original);
  // Moving a node with the mouse is an edit too.
  const a = await titleOf('a');
  await ed.page.mouse.move(a.x, a.y);
  await ed.page.mouse.down();
  await ed.page.mouse.move(a.x + 120, a.y + 200, { steps: 5 });
  await ed.page.mouse.up();
  const moved = await graphState();
  assert.notDeepEqual(moved.find((n: any) => n.id === 'a').pos, original.find((n: any) => n.id === 'a').pos);
  await ed.page.keyboard.press('Control+z');
  assert.deepEqual(await graphState(), original, 'undo puts the moved node back');
  await ed.page.keyboard.press('Control+y');
  assert.deepEqual(await graphState(), moved, 'Ctrl+Y redoes the move');
});

test('keyboard: Ctrl+A, Ctrl+C, Ctrl+V pastes copies linked to each other, not to the originals; undo removes them', { skip }, async () => {
  await load(twoChains);
  const original = await graphState();
  const a = await titleOf('a');
  await click(a.x, a.y);
  await ed.page.evaluate(() => (window as any).kosmos.canvas.canvas.focus()); // the click's focus is the first test's
  await ed.page.keyboard.press('Control+a');
  await ed.page.keyboard.press('Control+c');
  await ed.page.mouse.move(a.x + 50, a.y + 300);
  await ed.page.keyboard.press('Control+v');
  const pasted = await graphState();
  assert.equal(pasted.length, 4);
  const fresh = pasted.filter((n: any) => !['a', 'b'].includes(n.id));
  const int = fresh.find((n: any) => n.type === 'Int');
  const preview = fresh.find((n: any) => n.type === 'PreviewValue');
  assert.deepEqual(preview.inputs, { value: { node: int.id, output: 'value' } }, 'the pasted link joins the pasted nodes');
  assert.deepEqual(pasted.filter((n: any) => ['a', 'b'].includes(n.id)), original, 'the originals are untouched');
  // The copies are valid: the server accepts the pasted graph.
  const check = await json(ed.server.base, 'POST', '/api/validate', { workflow: await ed.page.evaluate(() => (window as any).kosmos.currentWorkflow()) });
  assert.equal(check.body.ok, true, JSON.stringify(check.body));
  await ed.page.keyboard.press('Control+z');
  assert.deepEqual(await graphState(), original, 'one undo takes the whole paste back');
  await ed.page.keyboard.press('Control+Shift+Z');
  assert.equal((await graphState()).length, 4);
});

test('keyboard: ? shows the shortcuts, Escape hides them; the context menu lists each entry once, no subgraphs', { skip }, async () => {
  await load(twoChains);
  const a = await titleOf('a');
  await click(a.x, a.y);
  // Make sure the keys go to the canvas, whatever the click focused.
  await ed.page.evaluate(() => (window as any).kosmos.canvas.canvas.focus());
  await ed.page.keyboard.press('?');
  await ed.page.waitForSelector('#shortcuts', { state: 'visible', timeout: 5000 });
  const text = (await ed.page.textContent('#shortcuts')) ?? '';
  for (const key of ['Delete', 'Ctrl+C', 'Ctrl+V', 'Ctrl+Z', 'Ctrl+Y']) assert.ok(text.includes(key), `${key} is listed`);
  await ed.page.screenshot({ path: path.join(SHOTS, 'shortcuts.png') });
  await ed.page.keyboard.press('Escape');
  await ed.page.waitForSelector('#shortcuts', { state: 'hidden', timeout: 5000 });
  await click(a.x, a.y, { button: 'right' });
  await ed.page.waitForSelector('.litecontextmenu');
  const entries = await ed.page.$$eval('.litecontextmenu .litemenu-entry', (els) => els.map((e) => e.textContent?.trim() ?? '').filter((t) => t !== ''));
  await ed.page.screenshot({ path: path.join(SHOTS, 'context-menu.png') });
  await ed.page.keyboard.press('Escape');
  await click(5, 5);
  assert.ok(entries.includes('Convert value to input') && entries.includes('Remove'), entries.join(' | '));
  assert.deepEqual(entries.filter((e, i) => entries.indexOf(e) !== i), [], `no entry twice: ${entries.join(' | ')}`);
  assert.equal(entries.filter((e) => /subgraph/i.test(e)).length, 0);
});

test('seeds: "increment" after queue with batch 3 runs seeds 5, 6, 7 and leaves 8; a sampling seed randomizes by default', { skip }, async () => {
  await load(wf([
    { id: 'seed', type: 'Seed', widgets: { seed: 5 }, pos: [40, 60] },
    { id: 'show', type: 'PreviewValue', inputs: { value: { node: 'seed', output: 'seed' } }, pos: [360, 60] },
  ]), 'seeds');
  const control = await ed.page.evaluate(() => (window as any).kosmos.graph.getNodeById('seed').widgets.find((w: any) => w.kosmosSeedControl).kosmosSeedControl.value);
  assert.equal(control, 'randomize');
  await ed.page.evaluate(() => {
    (window as any).kosmos.graph.getNodeById('seed').widgets.find((w: any) => w.kosmosSeedControl).kosmosSeedControl.value = 'increment';
  });
  // Set, not typed: keys typed into the field would add to what a failed earlier step left there.
  const setBatch = (n: number) => ed.page.evaluate((v) => { (document.getElementById('batch-count') as HTMLInputElement).value = String(v); }, n);
  await setBatch(3);
  const ids: string[] = await ed.page.evaluate(() => (window as any).kosmos.queue());
  assert.equal(ids.length, 3);
  const seeds = [];
  for (const id of ids) {
    const job = await finishedJob(ed.server.base, id);
    assert.equal(job.status, 'done');
    seeds.push(job.outputs.show.values.value);
  }
  assert.deepEqual(seeds, [5, 6, 7]);
  const now = await ed.page.evaluate(() => (window as any).kosmos.currentWorkflow());
  assert.equal(now.nodes.find((n: any) => n.id === 'seed').widgets.seed, 8);
  assert.deepEqual(now.extra.seedControl, { 'seed.seed': 'increment' }, 'the control is saved with the workflow');
  await setBatch(1);
});

test('history: "load" opens the workflow a past job ran; clicking an output opens it large', { skip }, async () => {
  await load(wf([
    { id: '1', type: 'TestCounter', widgets: { steps: 2, delayMs: 1 }, pos: [40, 60] },
    { id: '2', type: 'TestImageOut', widgets: { prefix: 'hist' }, inputs: { value: { node: '1', output: 'value' } }, pos: [360, 60] },
  ]), 'history source');
  const id: string = await ed.page.evaluate(() => (window as any).kosmos.queue());
  await finishedJob(ed.server.base, id);
  await load(wf([]), 'empty');
  await ed.page.waitForSelector(`#jobs li[data-id="${id}"] button.load`);
  await ed.page.click(`#jobs li[data-id="${id}"] button.load`);
  await ed.page.waitForFunction(() => (window as any).kosmos.graph._nodes.length === 2);
  assert.deepEqual((await graphState()).map((n: any) => n.type), ['TestCounter', 'TestImageOut']);
  await ed.page.click(`#jobs li[data-id="${id}"] button.outputs`);
  await ed.page.waitForSelector('#outputs img.output');
  await ed.page.click('#outputs img.output');
  await ed.page.waitForSelector('#lightbox:not([hidden]) img');
  await ed.page.waitForFunction(() => (document.querySelector('#lightbox img') as HTMLImageElement).naturalWidth > 0);
  const big = await ed.page.$eval('#lightbox img', (img) => img.getBoundingClientRect().width);
  assert.ok(big >= 256, `shown ${big} px wide`);
  await ed.page.keyboard.press('Escape');
  await ed.page.waitForSelector('#lightbox', { state: 'hidden' });
});

test('drop: a plain image becomes a LoadImage node reading the uploaded file, with a preview', { skip }, async () => {
  await load(wf([]), 'drop');
  const dataTransfer = await ed.page.evaluateHandle((data) => {
    const dt = new DataTransfer();
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    dt.items.add(new File([bytes], 'dot.png', { type: 'image/png' }));
    return dt;
  }, PNG_1x1.toString('base64'));
  await ed.page.dispatchEvent('#graph-area', 'drop', { dataTransfer });
  await ed.page.waitForFunction(() => (window as any).kosmos.graph._nodes.some((n: any) => n.type === 'LoadImage' && n.kosmosInputImage?.naturalWidth > 0));
  const node = (await ed.page.evaluate(() => (window as any).kosmos.currentWorkflow())).nodes[0];
  assert.equal(node.type, 'LoadImage');
  assert.match(node.widgets.image, /dot\.png$/);
  // The node reads the uploaded file: the run succeeds.
  const r = await json(ed.server.base, 'POST', '/prompt', { workflow: wf([node, { id: 'p', type: 'PreviewImage', inputs: { images: { node: node.id, output: 'image' } } }]) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal((await finishedJob(ed.server.base, r.body.prompt_id)).status, 'done');
  await ed.page.screenshot({ path: path.join(SHOTS, 'dropped-image.png') });
});

test('new nodes from the palette land where they overlap no node', { skip }, async () => {
  await load(twoChains);
  for (let i = 0; i < 3; i++) await ed.page.click('#palette .node-type[data-type="Int"]');
  const boxes = await ed.page.evaluate(() => {
    const k = (window as any).kosmos;
    const t = k.LiteGraph.NODE_TITLE_HEIGHT;
    return k.graph._nodes.map((n: any) => [n.pos[0], n.pos[1] - t, n.size[0], n.size[1] + t]);
  });
  assert.equal(boxes.length, 5);
  const hit = (a: number[], b: number[]) => a[0]! < b[0]! + b[2]! && b[0]! < a[0]! + a[2]! && a[1]! < b[1]! + b[3]! && b[1]! < a[1]! + a[3]!;
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) assert.ok(!hit(boxes[i], boxes[j]), `nodes ${i} and ${j} overlap`);
  await ed.page.keyboard.press('Control+z');
  assert.equal((await graphState()).length, 4, 'adding a node is undone like any edit');
});

test('an error message is drawn above the node below it, and Enter in a text dialog is OK', { skip }, async () => {
  await load(wf([
    { id: 'a', type: 'Int', widgets: { value: 1 }, pos: [40, 60] },
    { id: 'b', type: 'String', widgets: { value: 'x' }, pos: [40, 150] },
  ]), 'errors');
  await click(1000, 700); // empty canvas: litegraph's dialogs need a canvas that was used
  const pixel = await ed.page.evaluate(async () => {
    const k = (window as any).kosmos;
    const a = k.graph.getNodeById('a');
    a.kosmos.error = 'a long error message that is drawn below its node';
    k.canvas.setDirty(true, true);
    k.canvas.draw(true, true);
    // Just below node a, where node b's title bar is: the error box, not node b.
    const [sx, sy] = k.canvas.ds.convertOffsetToCanvas([a.pos[0] + 10, a.pos[1] + a.size[1] + 10]);
    return Array.from(k.canvas.canvas.getContext('2d').getImageData(Math.round(sx), Math.round(sy), 1, 1).data) as number[];
  });
  assert.deepEqual(pixel.slice(0, 3).map((v: number) => Math.round(v / 8)), [40, 10, 10].map((v) => Math.round(v / 8)), `the error box's colour, got ${pixel}`);
  // litegraph's dialog for a multi-line text: Enter is OK.
  await ed.page.evaluate(() => {
    const k = (window as any).kosmos;
    k.canvas.prompt('value', 'old', (v: string) => (k.graph.getNodeById('b').widgets[0].value = v), null, true);
  });
  await ed.page.waitForSelector('.graphdialog textarea');
  await ed.page.fill('.graphdialog textarea', 'new text');
  await ed.page.press('.graphdialog textarea', 'Enter');
  await ed.page.waitForSelector('.graphdialog', { state: 'detached' });
  assert.equal(await ed.page.evaluate(() => (window as any).kosmos.graph.getNodeById('b').widgets[0].value), 'new text');
});

test('LoadImage previews the image its path names as soon as a workflow opens; only readable images are served', { skip }, async () => {
  await load(wf([{ id: 'img', type: 'LoadImage', widgets: { image: 'workflows/assets/world/red-circle.png' }, pos: [40, 60] }]), 'preview');
  await ed.page.waitForFunction(() => (window as any).kosmos.graph.getNodeById('img').kosmosInputImage?.naturalWidth > 0);
  const ok = await fetch(`${ed.server.base}/api/preview?path=workflows/assets/world/red-circle.png`);
  assert.equal(ok.headers.get('content-type'), 'image/png');
  assert.equal((await json(ed.server.base, 'GET', '/api/preview?path=/etc/passwd')).body.error.code, 'PATH_FORBIDDEN');
  assert.equal((await json(ed.server.base, 'GET', '/api/preview?path=package.json')).body.error.code, 'NOT_AN_IMAGE');
});

test('unknown words: the Tokenize node shows which words became <unk>, and the messages list says so', { skip }, async () => {
  const tokenizer = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'workflows', 'assets', 'tokenizer');
  await load(wf([
    { id: 'tok', type: 'LoadTokenizer', widgets: { path: tokenizer }, pos: [40, 60] },
    { id: 'ids', type: 'Tokenize', widgets: { text: 'a red zebra' }, inputs: { tokenizer: { node: 'tok', output: 'tokenizer' } }, pos: [380, 60] },
    { id: 'show', type: 'PreviewValue', inputs: { value: { node: 'ids', output: 'tokens' } }, pos: [720, 60] },
  ]), 'unknown words');
  await ed.page.click('#btn-queue');
  await ed.page.waitForFunction(() => (window as any).kosmos.graph.getNodeById('ids').kosmos.warning !== null, null, { timeout: 15_000 });
  assert.match(await ed.page.evaluate(() => (window as any).kosmos.graph.getNodeById('ids').kosmos.warning), /read as <unk>: "zebra"/);
  assert.match((await ed.page.textContent('#messages li.warning')) ?? '', /node ids: .*"zebra"/);
  await ed.page.screenshot({ path: path.join(SHOTS, 'unknown-words.png') });
});

test('plot: every metric labelled with its last value, on its own axis; loss and lr on a log scale', { skip }, async () => {
  const panels = await ed.page.evaluate(() => {
    const { plot } = (window as any).kosmos;
    plot.reset('job');
    for (let step = 1; step <= 50; step++) {
      plot.add('job', step, { loss: 2 / step, lr: 1e-4 * Math.min(1, step / 10), grad_norm: 1 + Math.sin(step), tokens: 64 * step, accuracy: step / 50 });
    }
    return plot.panels();
  });
  assert.deepEqual(panels.map((p: any) => [p.name, p.scale]), [['loss', 'log'], ['lr', 'log'], ['grad_norm', 'linear'], ['tokens', 'linear'], ['accuracy', 'linear']]);
  assert.equal(panels.find((p: any) => p.name === 'lr').label, 'lr 1.00e-4 (log)', 'a small learning rate is not shown as 0.00');
  for (const p of panels) assert.equal(p.ticks.length, 2, `${p.name} has a y-axis with its range`);
  await ed.page.locator('#metrics-plot').screenshot({ path: path.join(SHOTS, 'metrics-plot.png') });
  assert.deepEqual(ed.pageErrors, [], 'no uncaught errors in the page');
});
