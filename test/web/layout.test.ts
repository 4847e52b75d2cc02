// Every shipped workflow opens readable in a real chromium: no two nodes overlap at the size the editor draws
// them (title bar included, widgets at their real height), no node covers a group's title bar, and the view
// opens at a zoom where text is drawn at a readable size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../server/helpers.ts';
import { editorSession, noChromium } from './browser.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const skip = noChromium;
if (skip) console.log(`# skip: ${skip}`);

/** Every workflow document under workflows/ (schema and tokenizer files are not workflows). */
function shippedWorkflows(dir = path.join(root, 'workflows')): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...shippedWorkflows(p));
    else if (name.endsWith('.json') && JSON.parse(readFileSync(p, 'utf8')).format === 'kosmos-g/workflow') out.push(p);
  }
  return out;
}

// docs/example-pack's nodes too, so workflows/examples/example-pack.json opens with its real node sizes.
const ed = editorSession(() => startServer({}, { plugins: [path.join(root, 'docs', 'example-pack')] }));

test('shipped workflows: no two nodes overlap as drawn, no node covers a group title, the view is readable', { skip }, async () => {
  const files = shippedWorkflows();
  assert.ok(files.length >= 10, `found ${files.length} workflows`);
  const problems: string[] = [];
  for (const file of files) {
    const wf = JSON.parse(readFileSync(file, 'utf8'));
    await ed.page.evaluate((w) => (window as any).kosmos.loadWorkflow(w, 'layout'), wf);
    // Image-loading nodes grow to show their image once it has loaded: measure them at that size.
    await ed.page.waitForFunction(() => (window as any).kosmos.graph._nodes.every((n: any) => !n.kosmosInputImage || n.kosmosInputImage.settled));
    const drawn = await ed.page.evaluate(() => {
      const k = (window as any).kosmos;
      const t = k.LiteGraph.NODE_TITLE_HEIGHT;
      const nodes = k.graph._nodes.map((n: any) => ({
        id: String(n.id),
        box: [n.pos[0], n.pos[1] - t, n.size[0], n.size[1] + t],
        // The widgets' own height: a node drawn smaller than its widgets spills them onto the node below.
        need: n.computeSize()[1],
        height: n.size[1],
      }));
      const groups = (k.graph._groups ?? []).map((g: any) => ({ title: g.title, bar: [g._bounding[0], g._bounding[1], g._bounding[2], g.titleHeight ?? 34] }));
      return { nodes, groups, scale: k.canvas.ds.scale };
    });
    const rel = path.relative(root, file);
    const hit = (a: number[], b: number[]) => a[0]! < b[0]! + b[2]! && b[0]! < a[0]! + a[2]! && a[1]! < b[1]! + b[3]! && b[1]! < a[1]! + a[3]!;
    for (let i = 0; i < drawn.nodes.length; i++) {
      const a = drawn.nodes[i]!;
      if (a.height + 0.5 < a.need) problems.push(`${rel}: node ${a.id} is ${a.height} high, its widgets need ${a.need}`);
      for (let j = i + 1; j < drawn.nodes.length; j++) {
        const b = drawn.nodes[j]!;
        if (hit(a.box, b.box)) problems.push(`${rel}: nodes ${a.id} and ${b.id} overlap`);
      }
      for (const g of drawn.groups) if (hit(a.box, g.bar)) problems.push(`${rel}: node ${a.id} covers the title of group "${g.title}"`);
    }
    if (drawn.scale < 0.7) problems.push(`${rel}: opens at zoom ${drawn.scale.toFixed(2)}`);
  }
  assert.deepEqual(problems, []);
});
