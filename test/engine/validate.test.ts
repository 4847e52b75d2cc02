import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateWorkflow } from '../../engine/validate.ts';
import { parseWorkflow } from '../../engine/format.ts';
import { chain, testRegistry, wf } from './helpers.ts';

const registry = testRegistry();
const codes = (w: ReturnType<typeof wf>) => validateWorkflow(w, registry).map((i) => `${i.code} ${i.node ?? ''}${i.input ? `.${i.input}` : ''}`);

test('a sound workflow has no issues', () => {
  assert.deepEqual(validateWorkflow(chain(), registry), []);
});

test('UNKNOWN_NODE_TYPE', () => {
  assert.deepEqual(codes(wf([{ id: '1', type: 'Nope' }, { id: '2', type: 'Out', inputs: { value: '1.value' } }])), ['UNKNOWN_NODE_TYPE 1']);
});

test('MISSING_INPUT for a required socket; optional ones may stay empty', () => {
  assert.deepEqual(codes(wf([{ id: 'a', type: 'Add' }, { id: 'o', type: 'Out', inputs: { value: 'a.sum' } }])), ['MISSING_INPUT a.a']);
});

test('LINK_MISSING_NODE and LINK_MISSING_OUTPUT', () => {
  assert.deepEqual(codes(wf([{ id: 'o', type: 'Out', inputs: { value: 'ghost.value' } }])), ['LINK_MISSING_NODE o.value']);
  assert.deepEqual(codes(wf([{ id: 'n', type: 'Num' }, { id: 'o', type: 'Out', inputs: { value: 'n.nope' } }])), ['LINK_MISSING_OUTPUT o.value']);
});

test('TYPE_MISMATCH names both ends', () => {
  const issues = validateWorkflow(wf([{ id: 't', type: 'Text' }, { id: 'o', type: 'Out', inputs: { value: 't.text' } }]), registry);
  assert.deepEqual(issues.map((i) => i.code), ['TYPE_MISMATCH']);
  assert.match(issues[0]!.message, /expects FLOAT but "t"\.text is STRING/);
});

test('widget→input conversion: a link of the widget kind feeds a widget; others are TYPE_MISMATCH', () => {
  const ok = wf([
    { id: 'n', type: 'Num' },
    { id: 't', type: 'Text' },
    { id: 'o', type: 'Out', inputs: { value: 'n.value', label: 't.text' } },
  ]);
  assert.deepEqual(codes(ok), []);
  const bad = wf([
    { id: 'n', type: 'Num' },
    { id: 'o', type: 'Out', inputs: { value: 'n.value', label: 'n.value' } },
  ]);
  assert.deepEqual(codes(bad), ['TYPE_MISMATCH o.label']);
});

test('WIDGET_TYPE, WIDGET_RANGE, WIDGET_ENUM', () => {
  const issues = codes(
    wf([
      { id: 'n', type: 'Num', widgets: { value: 5000 } },
      { id: 'a', type: 'Add', widgets: { mode: 'triple' }, inputs: { a: 'n.value' } },
      { id: 'o', type: 'Out', widgets: { label: 3, flag: 'yes', seed: -1, steps: 2.5 }, inputs: { value: 'a.sum' } },
    ]),
  );
  assert.deepEqual(issues.sort(), ['WIDGET_ENUM a.mode', 'WIDGET_RANGE n.value', 'WIDGET_RANGE o.seed', 'WIDGET_TYPE o.flag', 'WIDGET_TYPE o.label', 'WIDGET_TYPE o.steps'].sort());
  assert.deepEqual(codes(wf([{ id: 'n', type: 'Num', widgets: { value: '3' } }, { id: 'o', type: 'Out', inputs: { value: 'n.value' } }])), ['WIDGET_TYPE n.value']);
  assert.deepEqual(codes(wf([{ id: 'n', type: 'Num' }, { id: 'o', type: 'Out', widgets: { seed: 2 ** 60 }, inputs: { value: 'n.value' } }])), ['WIDGET_RANGE o.seed']);
});

test('UNKNOWN_INPUT for a widget value or a link under a name the node lacks', () => {
  assert.deepEqual(
    codes(wf([{ id: 'n', type: 'Num', widgets: { colour: 1 } }, { id: 'o', type: 'Out', inputs: { value: 'n.value', extra: 'n.value' } }])).sort(),
    ['UNKNOWN_INPUT n.colour', 'UNKNOWN_INPUT o.extra'],
  );
  const socket = validateWorkflow(wf([{ id: 'n', type: 'Num' }, { id: 'o', type: 'Out', widgets: { value: 3 }, inputs: { value: 'n.value' } }]), registry);
  assert.equal(socket[0]!.code, 'UNKNOWN_INPUT');
  assert.match(socket[0]!.message, /is a socket/);
});

test('CYCLE names the nodes on it', () => {
  const issues = validateWorkflow(
    wf([
      { id: 'n', type: 'Num' },
      { id: 'a', type: 'Add', inputs: { a: 'n.value', b: 'c.sum' } },
      { id: 'b', type: 'Add', inputs: { a: 'a.sum' } },
      { id: 'c', type: 'Add', inputs: { a: 'b.sum' } },
      { id: 'o', type: 'Out', inputs: { value: 'c.sum' } },
      { id: 'self', type: 'Add', inputs: { a: 'self.sum' } },
    ]),
    registry,
  );
  const cycles = issues.filter((i) => i.code === 'CYCLE');
  assert.equal(cycles.length, 2);
  assert.deepEqual(cycles.map((c) => c.message.match(/"(\w+)"/g)!.sort().join(' ')).sort(), ['"a" "b" "c"', '"self"']);
});

test('NO_OUTPUT_NODE, also when the only output is muted', () => {
  assert.deepEqual(codes(wf([{ id: 'n', type: 'Num' }])), ['NO_OUTPUT_NODE ']);
  assert.deepEqual(codes(wf([{ id: 'n', type: 'Num' }, { id: 'o', type: 'Out', mode: 'muted', inputs: { value: 'n.value' } }])), ['NO_OUTPUT_NODE ']);
});

test('every error at once', () => {
  const issues = validateWorkflow(
    wf([
      { id: 'u', type: 'Unknown' },
      { id: 'n', type: 'Num', widgets: { value: 'x' } },
      { id: 'a', type: 'Add' },
      { id: 'o', type: 'Out', inputs: { value: 'ghost.value' } },
    ]),
    registry,
  );
  assert.deepEqual(issues.map((i) => i.code).sort(), ['LINK_MISSING_NODE', 'MISSING_INPUT', 'UNKNOWN_NODE_TYPE', 'WIDGET_TYPE']);
});

test('a link from a muted node leaves a required input empty; bypass passes the same type through', () => {
  const muted = wf([
    { id: 'n', type: 'Num' },
    { id: 'a', type: 'Add', mode: 'muted', inputs: { a: 'n.value' } },
    { id: 'o', type: 'Out', inputs: { value: 'a.sum' } },
  ]);
  assert.deepEqual(codes(muted), ['MISSING_INPUT o.value']);
  const bypassed = parseWorkflow({ ...muted, nodes: muted.nodes.map((n) => (n.id === 'a' ? { ...n, mode: 'bypass' } : n)) });
  assert.deepEqual(codes(bypassed), []);
});

test('names that are Object.prototype members: RESERVED_NAME at parse time; validation never finds inherited members', async () => {
  const { applyOverrides } = await import('../../engine/overrides.ts');
  const reserved = (nodes: unknown[]) => {
    try {
      parseWorkflow({ format: 'kosmos-g/workflow', version: 1, nodes });
      return [];
    } catch (e) {
      return (e as { issues: { code: string; node?: string; input?: string; path?: string }[] }).issues.map((i) => `${i.code} ${i.node ?? ''}.${i.input ?? ''} ${i.path}`);
    }
  };
  assert.deepEqual(reserved([{ id: 'constructor', type: 'Num' }]), ['RESERVED_NAME . nodes[0].id']);
  assert.deepEqual(reserved([{ id: 'n', type: 'Num', widgets: JSON.parse('{"__proto__": 1}') }]), ['RESERVED_NAME n.__proto__ nodes[0].widgets.__proto__']);
  assert.deepEqual(reserved([{ id: 'o', type: 'Out', inputs: { value: { node: 'toString', output: 'valueOf' } } }]), [
    'RESERVED_NAME o.value nodes[0].inputs.value.node',
    'RESERVED_NAME o.value nodes[0].inputs.value.output',
  ]);
  // A graph built without parsing (a caller's own object) still gets no inherited member as a spec or an output.
  const raw = wf([{ id: 'n', type: 'Num' }, { id: 'o', type: 'Out', inputs: { value: 'n.value' } }]);
  raw.nodes[0]!.widgets = { constructor: 1, hasOwnProperty: 2 };
  raw.nodes[1]!.inputs = { value: { node: 'n', output: 'toString' } };
  assert.deepEqual(codes(raw).sort(), ['LINK_MISSING_OUTPUT o.value', 'UNKNOWN_INPUT n.constructor', 'UNKNOWN_INPUT n.hasOwnProperty']);
  assert.deepEqual(applyOverrides(chain(), { 'x.__proto__': 1 }).issues.map((i) => i.code), ['RESERVED_NAME']);
});
