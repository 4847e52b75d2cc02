// The documented example pack loads as a plugin and its example workflow runs; every example workflow in
// workflows/examples validates against the core pack (+ the example pack).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from '../../engine/registry.ts';
import { Executor } from '../../engine/execute.ts';
import { parseWorkflow } from '../../engine/format.ts';
import examplePack from '../../docs/example-pack/index.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const examples = path.join(root, 'workflows', 'examples');

test('docs/example-pack loads as a plugin and its workflow runs', async () => {
  const registry = await Registry.load({ builtins: ['core'], env: false, plugins: [path.join(root, 'docs', 'example-pack')] });
  assert.deepEqual(registry.loadErrors, []);
  assert.equal(registry.packOf('ExampleTextJoin'), 'example');
  assert.deepEqual(examplePack.nodes.map((n) => n.type), ['ExampleTextJoin', 'ExampleTextRepeat']);
  const wf = parseWorkflow(readFileSync(path.join(examples, 'example-pack.json'), 'utf8'));
  const result = await new Executor(registry).run(wf);
  assert.equal(result.status, 'ok', JSON.stringify(result.errors));
  assert.deepEqual(result.outputs.show!.values, { value: 'kosmos, gkosmos, gkosmos, g' });
  assert.deepEqual(result.outputs.length!.values, { value: 27 });
  const tooLong = await new Executor(registry).run(wf, { overrides: { 'repeat.times': 1000, 'word.value': 'x'.repeat(2000) } });
  assert.deepEqual(tooLong.errors.map((e) => [e.code, e.node]), [['EXAMPLE_TOO_LONG', 'repeat']]);
});

test('every example workflow is valid', async () => {
  const registry = await Registry.load({ builtins: ['core'], env: false, plugins: [path.join(root, 'docs', 'example-pack')] });
  const files = readdirSync(examples).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 2);
  for (const file of files) {
    const wf = parseWorkflow(readFileSync(path.join(examples, file), 'utf8'), file);
    assert.deepEqual(new Executor(registry, { baseDir: root }).validate(wf), [], file);
  }
});
