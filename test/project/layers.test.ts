// The layers of the project (README, "Layers"): engine/ is the workflow runtime and knows no model; models/ is
// maths and runs no workflow; node packs join the two; the default-model application (which runs workflows) and
// the server sit on top. An import across a layer the wrong way fails here, naming the file and the import.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(root, dir))) {
    const rel = path.join(dir, name);
    if (statSync(path.join(root, rel)).isDirectory()) out.push(...sources(rel));
    else if (/\.(ts|js|mjs)$/.test(name)) out.push(rel);
  }
  return out;
}

/** Top-level folder of every relative import of a file (static imports, re-exports and dynamic imports). */
function importedFolders(file: string): { spec: string; folder: string }[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  const out: { spec: string; folder: string }[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
    const target = path.relative(root, path.resolve(path.dirname(path.join(root, file)), m[1]!));
    out.push({ spec: m[1]!, folder: target.split(path.sep)[0]! });
  }
  return out;
}

const RULES: Record<string, string[]> = {
  engine: ['models', 'nodes', 'training-nodes', 'server', 'default-model'],
  models: ['engine', 'nodes', 'training-nodes', 'server', 'default-model'],
  nodes: ['server', 'default-model'],
  'training-nodes': ['server', 'default-model'],
  server: ['default-model'],
};

for (const [layer, forbidden] of Object.entries(RULES)) {
  test(`${layer}/ imports nothing of ${forbidden.join(', ')}`, () => {
    const files = sources(layer);
    assert.ok(files.length > 0, `${layer}/ has no sources`);
    const bad = files.flatMap((f) => importedFolders(f).filter((i) => forbidden.includes(i.folder)).map((i) => `${f} imports ${i.spec}`));
    assert.deepEqual(bad, []);
  });
}
