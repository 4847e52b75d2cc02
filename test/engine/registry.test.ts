import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from '../../engine/registry.ts';
import { KosmosError } from '../../engine/errors.ts';
import { testPack } from './helpers.ts';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fx = (name: string) => path.join(fixtures, name);

test('plugin isolation: a throwing pack and a duplicate type are reported; the other packs load', async () => {
  const registry = await Registry.load({ builtins: false, env: false, plugins: [fx('alpha-pack'), fx('broken-pack'), fx('beta-pack'), fx('list-pack')] });
  assert.ok(registry.get('AlphaOnly'));
  assert.ok(registry.get('Listed'));
  assert.equal(registry.packOf('Shared'), 'alpha');
  assert.equal(registry.get('BetaOnly'), undefined, 'a pack with a clash is rejected whole');
  assert.equal(registry.loadErrors.length, 2);
  const broken = registry.loadErrors.find((e) => e.pack.endsWith('broken-pack'))!;
  assert.match(broken.message, /missing dependency/);
  const dup = registry.loadErrors.find((e) => e.pack.endsWith('beta-pack'))!;
  assert.match(dup.message, /"Shared" is defined by both pack "alpha" and pack "beta"/);
  assert.equal(registry.packOf('Listed'), 'list-pack');
});

test('add() throws REGISTRY_DUPLICATE_TYPE naming both packs', () => {
  const registry = new Registry();
  registry.add(testPack());
  assert.throws(
    () => registry.add({ name: 'other', nodes: [testPack().nodes[0]!] }),
    (e: unknown) => e instanceof KosmosError && e.code === 'REGISTRY_DUPLICATE_TYPE' && /pack "test" and pack "other"/.test(e.message),
  );
});

test('a broken definition is rejected at load time with a message naming the node', async () => {
  const registry = await Registry.load({ builtins: false, env: false, plugins: [fx('bad-definition-pack')] });
  assert.equal(registry.get('NoExecute'), undefined);
  assert.match(registry.loadErrors[0]!.message, /node "NoExecute".*execute must be a function/);
  const defaults = new Registry();
  assert.throws(() => defaults.add({ name: 'p', nodes: [{ ...testPack().nodes[0]!, widgets: { v: { kind: 'INT', default: 5, max: 1 } } }] }), /default: 5 is above the maximum 1/);
  assert.throws(() => defaults.add({ name: 'p', nodes: [{ ...testPack().nodes[1]!, widgets: { a: { kind: 'INT', default: 0 } } }] }), /both an input and a widget/);
});

test('plugins from KOSMOS_G_PLUGINS and from a config file; a missing folder is reported', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kg-config-'));
  const config = path.join(dir, 'kosmos-g.config.json');
  writeFileSync(config, JSON.stringify({ plugins: [path.relative(dir, fx('alpha-pack'))] }));
  const previous = process.env.KOSMOS_G_PLUGINS;
  process.env.KOSMOS_G_PLUGINS = [fx('list-pack'), path.join(dir, 'missing')].join(path.delimiter);
  try {
    const registry = await Registry.load({ builtins: false, configFile: config });
    assert.ok(registry.get('AlphaOnly'), 'config file plugin (relative to the config file)');
    assert.ok(registry.get('Listed'), 'environment plugin');
    assert.equal(registry.loadErrors.length, 1);
    assert.match(registry.loadErrors[0]!.message, /no pack found/);
  } finally {
    if (previous === undefined) delete process.env.KOSMOS_G_PLUGINS;
    else process.env.KOSMOS_G_PLUGINS = previous;
  }
  writeFileSync(config, '{"plugins": "not-a-list"}');
  const bad = await Registry.load({ builtins: false, env: false, configFile: config });
  assert.match(bad.loadErrors[0]!.message, /"plugins" must be a list/);
});

test('the catalogue is JSON with every node\'s declaration', () => {
  const registry = new Registry();
  registry.add(testPack());
  const catalogue = registry.catalogue();
  const roundTrip = JSON.parse(JSON.stringify(catalogue));
  assert.deepEqual(roundTrip, catalogue);
  const out = catalogue.nodes.find((n) => n.type === 'Out')!;
  assert.equal(out.output, true);
  assert.equal(out.pack, 'test');
  assert.deepEqual(out.inputs, { value: { type: 'FLOAT' } });
  assert.equal(out.widgets.steps!.kind, 'INT');
  assert.deepEqual(catalogue.packs, [{ name: 'test', source: 'test', nodes: testPack().nodes.map((n) => n.type) }]);
});

test('the core built-in pack loads (and only the named built-ins load)', async () => {
  const registry = await Registry.load({ env: false, builtins: ['core'] });
  assert.deepEqual(registry.catalogue().packs.map((p) => p.name), ['core']);
  for (const type of ['Int', 'Float', 'String', 'Boolean', 'Seed', 'LoadImage', 'SaveImage', 'PreviewImage', 'LoadTensor', 'SaveTensor', 'TensorMath']) {
    assert.ok(registry.get(type), `core node ${type}`);
  }
  assert.deepEqual(registry.loadErrors.filter((e) => e.pack.endsWith(path.join('nodes', 'core'))), []);
});
