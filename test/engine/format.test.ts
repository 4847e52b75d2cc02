import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseWorkflow, LIMITS } from '../../engine/format.ts';
import { migrateWorkflow } from '../../engine/migrate.ts';
import { KosmosError } from '../../engine/errors.ts';
import { SCHEMA_PATH, schemaText } from '../../scripts/gen-schema.ts';

const minimal = { format: 'kosmos-g/workflow', version: 1, nodes: [{ id: '1', type: 'Out', widgets: { label: 'x' }, pos: [0, 0], size: [100, 50] }] };

function codeOf(fn: () => unknown): { code: string; issues: KosmosError['issues'] } {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof KosmosError, `expected a KosmosError, got ${String(error)}`);
    assert.equal(error.exitCode, 2);
    return { code: error.code, issues: error.issues };
  }
  assert.fail('expected an error');
}

test('a minimal workflow parses from text and from a value', () => {
  assert.deepEqual(parseWorkflow(JSON.stringify(minimal)), minimal);
  assert.deepEqual(parseWorkflow(minimal), minimal);
});

test('editor state round-trips: groups, extra, meta, titles, modes', () => {
  const full = {
    ...minimal,
    nodes: [{ ...minimal.nodes[0], title: 'Result', mode: 'bypass', color: '#223', bgcolor: '#335', collapsed: true }],
    groups: [{ title: 'g', bounding: [0, 0, 10, 10], color: '#fff' }],
    extra: { ds: { scale: 1.5, offset: [3, 4] } },
    meta: { name: 'n', description: 'd' },
  };
  assert.deepEqual(parseWorkflow(JSON.stringify(full)), full);
});

test('malformed JSON is WORKFLOW_JSON naming the source', () => {
  const { code, issues } = codeOf(() => parseWorkflow('{"format": ', 'a.json'));
  assert.equal(code, 'WORKFLOW_JSON');
  assert.match(issues[0]!.message, /^a\.json: not valid JSON/);
  assert.equal(codeOf(() => parseWorkflow('{"nodes": NaN}')).code, 'WORKFLOW_JSON');
});

test('wrong format or version', () => {
  assert.equal(codeOf(() => parseWorkflow({ ...minimal, format: 'comfyui' })).code, 'WORKFLOW_FORMAT');
  assert.equal(codeOf(() => parseWorkflow([1, 2])).code, 'WORKFLOW_FORMAT');
  assert.equal(codeOf(() => parseWorkflow('"text"')).code, 'WORKFLOW_FORMAT');
  const newer = codeOf(() => parseWorkflow({ ...minimal, version: 2 }));
  assert.equal(newer.code, 'WORKFLOW_VERSION');
  assert.match(newer.issues[0]!.message, /newer kosmos-g/);
  assert.equal(codeOf(() => parseWorkflow({ ...minimal, version: 1.5 })).code, 'WORKFLOW_VERSION');
  assert.equal(codeOf(() => parseWorkflow({ ...minimal, version: '1' })).code, 'WORKFLOW_VERSION');
});

test('unknown fields are rejected with their path and node', () => {
  const { code, issues } = codeOf(() => parseWorkflow({ ...minimal, nodes: [{ ...minimal.nodes[0], colour: 'red' }], surprise: 1 }));
  assert.equal(code, 'WORKFLOW_SCHEMA');
  const paths = issues.map((i) => i.path).sort();
  assert.deepEqual(paths, ['', 'nodes[0]']);
  const nodeIssue = issues.find((i) => i.path === 'nodes[0]')!;
  assert.equal(nodeIssue.node, '1');
  assert.match(nodeIssue.message, /"colour"/);
});

test('huge numbers (1e400 = Infinity), strings where numbers belong, bad ids', () => {
  const huge = codeOf(() => parseWorkflow(`{"format":"kosmos-g/workflow","version":1,"nodes":[{"id":"1","type":"Out","pos":[1e400,0]}]}`));
  assert.equal(huge.code, 'WORKFLOW_SCHEMA');
  assert.equal(huge.issues[0]!.path, 'nodes[0].pos[0]');
  assert.equal(codeOf(() => parseWorkflow({ ...minimal, nodes: [{ id: '1', type: 'Out', size: ['100', 50] }] })).issues[0]!.path, 'nodes[0].size[0]');
  assert.equal(codeOf(() => parseWorkflow({ ...minimal, nodes: [{ id: 'a.b', type: 'Out' }] })).issues[0]!.path, 'nodes[0].id');
  const widget = codeOf(() => parseWorkflow({ ...minimal, nodes: [{ id: '1', type: 'Out', widgets: { label: { nested: true } } }] }));
  assert.equal(widget.issues[0]!.input, 'label');
  assert.equal(codeOf(() => parseWorkflow({ ...minimal, nodes: [{ id: '1', type: 'Out', inputs: { value: { node: '2' } } }] })).code, 'WORKFLOW_SCHEMA');
});

test('deep nesting is WORKFLOW_TOO_DEEP, as text and as a value', () => {
  const deep = `{"format":"kosmos-g/workflow","version":1,"nodes":[],"extra":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;
  assert.equal(codeOf(() => parseWorkflow(deep)).code, 'WORKFLOW_TOO_DEEP');
  let value: unknown = 1;
  for (let i = 0; i < LIMITS.maxDepth + 5; i++) value = [value];
  assert.equal(codeOf(() => parseWorkflow({ ...minimal, extra: { value } })).code, 'WORKFLOW_TOO_DEEP');
  // brackets inside strings do not count
  assert.doesNotThrow(() => parseWorkflow(JSON.stringify({ ...minimal, meta: { name: '['.repeat(500) } })));
});

test('duplicate node ids', () => {
  const { code, issues } = codeOf(() => parseWorkflow({ ...minimal, nodes: [minimal.nodes[0], minimal.nodes[0]] }));
  assert.equal(code, 'WORKFLOW_DUPLICATE_ID');
  assert.equal(issues[0]!.node, '1');
});

test('migrations run step by step up to the current version', () => {
  const migrations = {
    1: (w: Record<string, unknown>) => ({ ...w, renamed: w.old }),
    2: (w: Record<string, unknown>) => ({ ...w, third: true }),
  };
  const out = migrateWorkflow({ format: 'kosmos-g/workflow', version: 1, old: 'x' }, 'w', migrations, 3) as Record<string, unknown>;
  assert.deepEqual(out, { format: 'kosmos-g/workflow', version: 3, old: 'x', renamed: 'x', third: true });
  assert.throws(() => migrateWorkflow({ format: 'kosmos-g/workflow', version: 1 }, 'w', {}, 2), /no migration from version 1/);
});

test('the checked-in JSON Schema equals the one generated from the zod schema', () => {
  assert.equal(readFileSync(SCHEMA_PATH, 'utf8'), schemaText(), 'workflows/workflow.schema.json is stale: run npx tsx scripts/gen-schema.ts');
  const schema = JSON.parse(schemaText());
  assert.equal(schema.additionalProperties, false);
  assert.deepEqual(schema.required.sort(), ['format', 'nodes', 'version']);
});
