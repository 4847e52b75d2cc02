// Every generation workflow in workflows/ parses, validates against the built-in packs, and runs end to end on
// the models it ships with — the embedded default model or small random ones (2 sampler steps here, to stay
// fast), writing one PNG.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Executor, Registry, parseWorkflow } from '../../engine/index.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = path.join(root, 'workflows');
const GENERATION = ['generate.json', 'multi-entity.json', 'edit.json', 'text-to-image-sd15.json', 'controlnet.json', 'lora.json'];

const registry = await Registry.load({ env: false });
const outputDir = mkdtempSync(path.join(os.tmpdir(), 'kosmos-workflows-'));

test('the six generation workflows are present', () => {
  const files = readdirSync(dir);
  for (const f of GENERATION) assert.ok(files.includes(f), `workflows/${f} is missing`);
});

test('every workflow in workflows/ parses and validates', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'workflow.schema.json');
  assert.ok(files.length >= GENERATION.length);
  const executor = new Executor(registry, { baseDir: root });
  for (const f of files) {
    const wf = parseWorkflow(readFileSync(path.join(dir, f), 'utf8'), `workflows/${f}`);
    assert.deepEqual(executor.validate(wf), [], `workflows/${f}`);
  }
});

for (const f of GENERATION) {
  test(`workflows/${f} runs end to end on its shipped models`, async () => {
    const wf = parseWorkflow(readFileSync(path.join(dir, f), 'utf8'), `workflows/${f}`);
    const executor = new Executor(registry, { baseDir: root });
    const cwd = process.cwd();
    process.chdir(root); // the workflows name their assets relative to the repository root
    try {
      const result = await executor.run(wf, { outputDir, overrides: { 'sched.steps': 2 } });
      assert.equal(result.status, 'ok', JSON.stringify(result.errors));
      assert.equal(result.outputs.save?.files.length, 1);
    } finally {
      process.chdir(cwd);
    }
  });
}
