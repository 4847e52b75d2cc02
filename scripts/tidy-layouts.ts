// Moves the nodes of the shipped workflows apart as the editor draws them (in Debian's chromium, real node sizes),
// so none overlaps another or a group's title (test/web/layout.test.ts checks it). Rewrites only the "pos", "size"
// and group "bounding" values in the files, keeping their formatting. workflows/default/ is generated: its layout
// comes from default-model/workflows.ts (npx tsx scripts/train-default.ts --write-workflows), never from here.
// Run: npx tsx scripts/tidy-layouts.ts [FILE.json ...]   (default: every workflow under workflows/ but default/)
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '../server/serve.ts';
import { openEditor } from '../test/web/browser.ts';
import { tidy, type Box, type GroupBox, type NodeBox } from './layout/tidy.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function workflows(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) {
      if (p !== path.join(root, 'workflows', 'default')) out.push(...workflows(p));
    } else if (name.endsWith('.json') && JSON.parse(readFileSync(p, 'utf8')).format === 'kosmos-g/workflow') out.push(p);
  }
  return out;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const num = (v: number) => String(Math.round(v));
const pair = (a: number, b: number) => `[${num(a)}, ${num(b)}]`;

/** Replaces the n-th `"key": [...]` value after `from` and before `to` in text. */
function replaceArray(text: string, from: number, to: number, key: string, value: string): string {
  const re = new RegExp(`"${key}"\\s*:\\s*\\[[^\\]]*\\]`, 'g');
  re.lastIndex = from;
  const m = re.exec(text);
  if (m && m.index < to) return text.slice(0, m.index) + `"${key}": ${value}` + text.slice(m.index + m[0].length);
  return text;
}

/** Writes new positions and sizes into the file's text: each node's own "pos"/"size", each group's "bounding". */
function rewrite(text: string, nodes: { id: string; pos: [number, number]; size: [number, number] }[], groups: GroupBox[]): string {
  let out = text;
  for (const n of nodes) {
    const start = out.search(new RegExp(`"id"\\s*:\\s*${escapeRegExp(JSON.stringify(n.id))}`));
    if (start < 0) throw new Error(`node ${n.id} not found in the file's text`);
    const next = out.slice(start + 1).search(/"id"\s*:/);
    const end = next < 0 ? out.length : start + 1 + next;
    const hasPos = /"pos"\s*:/.test(out.slice(start, end));
    if (!hasPos) throw new Error(`node ${n.id} has no "pos" to rewrite`);
    out = replaceArray(out, start, end, 'pos', pair(...n.pos));
    const end2 = (() => {
      const k = out.slice(start + 1).search(/"id"\s*:/);
      return k < 0 ? out.length : start + 1 + k;
    })();
    out = replaceArray(out, start, end2, 'size', pair(...n.size));
  }
  let at = out.indexOf('"groups"');
  for (const g of groups) {
    if (at < 0) break;
    const m = /"bounding"\s*:\s*\[[^\]]*\]/.exec(out.slice(at));
    if (!m) break;
    const value = `"bounding": [${g.bounding.map(num).join(', ')}]`;
    const i = at + m.index;
    out = out.slice(0, i) + value + out.slice(i + m[0].length);
    at = i + value.length;
  }
  return out;
}

async function main(files: string[]): Promise<void> {
  const data = mkdtempSync(path.join(tmpdir(), 'kosmos-tidy-'));
  const server = await serve({ port: 0, data }, { plugins: [path.join(root, 'docs', 'example-pack')], quiet: true });
  const { browser, page } = await openEditor(`http://127.0.0.1:${server.port}`);
  try {
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      const wf = JSON.parse(text);
      await page.evaluate((w) => (window as any).kosmos.loadWorkflow(w, 'tidy'), wf);
      // Image-loading nodes grow to show their image once it has loaded: lay them out at that size.
      await page.waitForFunction(() => (window as any).kosmos.graph._nodes.every((n: any) => !n.kosmosInputImage || n.kosmosInputImage.settled));
      const drawn = await page.evaluate(() => {
        const k = (window as any).kosmos;
        const t = k.LiteGraph.NODE_TITLE_HEIGHT;
        return {
          title: t,
          nodes: k.graph._nodes.map((n: any) => ({ id: String(n.id), box: [n.pos[0], n.pos[1] - t, n.size[0], n.size[1] + t] })),
          groups: (k.graph._groups ?? []).map((g: any) => ({ title: g.title, bounding: [...g._bounding] })),
        };
      });
      const result = tidy(drawn.nodes as NodeBox[], drawn.groups as GroupBox[]);
      const nodes = result.nodes.map((n) => ({ id: n.id, pos: [n.box[0], n.box[1] + drawn.title] as [number, number], size: [n.box[2], n.box[3] - drawn.title] as [number, number] }));
      const next = rewrite(text, nodes, result.groups.map((g) => ({ ...g, bounding: g.bounding.map(Math.round) as Box })));
      if (next !== text) {
        JSON.parse(next); // never write a broken file
        const tmp = `${file}.tmp`;
        writeFileSync(tmp, next);
        renameSync(tmp, file);
        console.log(`tidied ${path.relative(root, file)}`);
      }
    }
  } finally {
    await browser.close();
    await server.close();
    rmSync(data, { recursive: true, force: true });
  }
}

const args = process.argv.slice(2);
await main(args.length > 0 ? args.map((f) => path.resolve(f)) : workflows(path.join(root, 'workflows')));
