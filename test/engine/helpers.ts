// Tiny node types for engine tests: each counts its executions so tests can see exactly what ran.
import { defineNode, definePack, type NodePack } from '../../engine/node-def.ts';
import { KosmosError } from '../../engine/errors.ts';
import { Registry } from '../../engine/registry.ts';
import { parseWorkflow, type Workflow } from '../../engine/format.ts';

export const calls = new Map<string, number>();
export const disposed: string[] = [];
const count = (type: string): void => void calls.set(type, (calls.get(type) ?? 0) + 1);

export function resetCounts(): void {
  calls.clear();
  disposed.length = 0;
}

/** A value with resources: records its disposal. */
export class Blob {
  constructor(
    readonly name: string,
    readonly bytes: number,
  ) {}
  byteSize(): number {
    return this.bytes;
  }
  dispose(): void {
    disposed.push(this.name);
  }
}

declare module '../../engine/node-def.ts' {
  interface SocketTypes {
    BLOB: Blob;
  }
}

export const testNodes = [
  defineNode({
    type: 'Num',
    category: 'test',
    description: 'a number',
    inputs: {},
    widgets: { value: { kind: 'FLOAT', default: 0, min: -1000, max: 1000 } },
    outputs: { value: { type: 'FLOAT' } },
    execute: ({ value }) => (count('Num'), { value }),
  }),
  defineNode({
    type: 'Add',
    category: 'test',
    description: 'a + b',
    inputs: { a: { type: 'FLOAT' }, b: { type: 'FLOAT', optional: true } },
    widgets: { mode: { kind: 'ENUM', options: ['plain', 'double'], default: 'plain' } },
    outputs: { sum: { type: 'FLOAT' } },
    execute: ({ a, b, mode }) => (count('Add'), { sum: (a + (b ?? 0)) * (mode === 'double' ? 2 : 1) }),
  }),
  defineNode({
    type: 'Out',
    category: 'test',
    description: 'an output',
    inputs: { value: { type: 'FLOAT' } },
    widgets: { label: { kind: 'STRING', default: '' }, flag: { kind: 'BOOLEAN', default: false }, seed: { kind: 'SEED', default: 0 }, steps: { kind: 'INT', default: 1, min: 1, max: 10 } },
    outputs: { value: { type: 'FLOAT' } },
    output: true,
    execute: ({ value }) => (count('Out'), { value }),
  }),
  defineNode({
    type: 'Text',
    category: 'test',
    description: 'a string',
    inputs: {},
    widgets: { text: { kind: 'STRING', default: 'hi' } },
    outputs: { text: { type: 'STRING' } },
    execute: ({ text }) => (count('Text'), { text }),
  }),
  defineNode({
    type: 'Boom',
    category: 'test',
    description: 'throws',
    inputs: { value: { type: 'FLOAT', optional: true } },
    widgets: {},
    outputs: { value: { type: 'FLOAT' } },
    execute: () => {
      count('Boom');
      throw new KosmosError('BOOM', 'the node exploded on purpose');
    },
  }),
  defineNode({
    type: 'Crash',
    category: 'test',
    description: 'throws a plain bug',
    inputs: {},
    widgets: {},
    outputs: { value: { type: 'FLOAT' } },
    execute: () => {
      throw new TypeError('undefined is not a function');
    },
  }),
  defineNode({
    type: 'Slow',
    category: 'test',
    description: 'many small steps, each a cancellation point',
    inputs: { value: { type: 'FLOAT' } },
    widgets: { steps: { kind: 'INT', default: 1000, min: 1, max: 1_000_000 } },
    outputs: { value: { type: 'FLOAT' } },
    execute: async ({ value, steps }, ctx) => {
      count('Slow');
      for (let i = 0; i < steps; i++) {
        await new Promise((r) => setImmediate(r));
        ctx.progress({ value: i + 1, max: steps });
      }
      return { value };
    },
  }),
  defineNode({
    type: 'MakeBlob',
    category: 'test',
    description: 'a value with resources',
    inputs: {},
    widgets: { name: { kind: 'STRING', default: 'blob' }, bytes: { kind: 'INT', default: 100, min: 0, max: 1e9 } },
    outputs: { blob: { type: 'BLOB' } },
    cacheable: true,
    execute: ({ name, bytes }) => (count('MakeBlob'), { blob: new Blob(name, bytes) }),
  }),
  defineNode({
    type: 'FreshBlob',
    category: 'test',
    description: 'a value with resources that is never cached',
    inputs: {},
    widgets: { name: { kind: 'STRING', default: 'fresh' } },
    outputs: { blob: { type: 'BLOB' } },
    cacheable: false,
    execute: ({ name }) => (count('FreshBlob'), { blob: new Blob(name, 10) }),
  }),
  defineNode({
    type: 'BlobSize',
    category: 'test',
    description: 'reads a blob',
    inputs: { blob: { type: 'BLOB' } },
    widgets: {},
    outputs: { value: { type: 'FLOAT' } },
    execute: ({ blob }) => (count('BlobSize'), { value: blob.bytes }),
  }),
  defineNode({
    type: 'TrainBlob',
    category: 'test',
    description: 'changes its blob in place, as a training loop changes a model',
    inputs: { blob: { type: 'BLOB', mutates: true } },
    widgets: {},
    outputs: { value: { type: 'FLOAT' } },
    execute: ({ blob }) => (count('TrainBlob'), ((blob as { trained?: boolean }).trained = true), { value: blob.bytes }),
  }),
  defineNode({
    type: 'PassBlob',
    category: 'test',
    description: 'passes a blob through unchanged',
    inputs: { blob: { type: 'BLOB' } },
    widgets: {},
    outputs: { blob: { type: 'BLOB' } },
    cacheable: false,
    execute: ({ blob }) => (count('PassBlob'), { blob }),
  }),
  defineNode({
    type: 'StepValue',
    category: 'test',
    description: 'per-step: the step number',
    inputs: {},
    widgets: {},
    outputs: { value: { type: 'FLOAT' } },
    perStep: true,
    execute: (_args, ctx) => (count('StepValue'), { value: ctx.step?.step ?? -1 }),
  }),
  defineNode({
    type: 'PickByStep',
    category: 'test',
    description: 'lazy inputs: takes a on even steps and b on odd ones, asking only for the one it takes',
    inputs: { a: { type: 'FLOAT', lazy: true }, b: { type: 'FLOAT', optional: true, lazy: true } },
    widgets: {},
    outputs: { value: { type: 'FLOAT' } },
    execute: async ({ a, b }, ctx) => (count('PickByStep'), { value: (ctx.step?.step ?? 0) % 2 === 1 && b !== undefined ? await b() : await a() }),
  }),
  defineNode({
    type: 'Loop',
    category: 'test',
    description: 'calls its recompute input for each step and sums the results',
    inputs: { loss: { type: 'FLOAT', recompute: true } },
    widgets: { steps: { kind: 'INT', default: 3, min: 1, max: 100 } },
    outputs: { total: { type: 'FLOAT' } },
    output: true,
    execute: async ({ loss, steps }) => {
      count('Loop');
      let total = 0;
      for (let step = 0; step < steps; step++) total += await loss({ step, seed: 1000 + step });
      return { total };
    },
  }),
];

export function testPack(): NodePack {
  return definePack('test', testNodes);
}

export function testRegistry(): Registry {
  const registry = new Registry();
  registry.add(testPack());
  return registry;
}

type NodeSketch = { id: string; type: string; widgets?: Record<string, unknown>; inputs?: Record<string, string>; mode?: 'active' | 'bypass' | 'muted' };

/** Build a workflow from sketches; inputs are written `"node.output"`. */
export function wf(nodes: NodeSketch[]): Workflow {
  return parseWorkflow({
    format: 'kosmos-g/workflow',
    version: 1,
    nodes: nodes.map((n) => ({
      id: n.id,
      type: n.type,
      ...(n.widgets ? { widgets: n.widgets } : {}),
      ...(n.inputs ? { inputs: Object.fromEntries(Object.entries(n.inputs).map(([k, v]) => [k, { node: v.split('.')[0], output: v.split('.')[1] }])) } : {}),
      ...(n.mode ? { mode: n.mode } : {}),
    })),
  });
}

/** The chain: x=1, y=2 → sum → double → out. */
export function chain(): Workflow {
  return wf([
    { id: 'x', type: 'Num', widgets: { value: 1 } },
    { id: 'y', type: 'Num', widgets: { value: 2 } },
    { id: 'sum', type: 'Add', inputs: { a: 'x.value', b: 'y.value' } },
    { id: 'double', type: 'Add', widgets: { mode: 'double' }, inputs: { a: 'sum.sum' } },
    { id: 'out', type: 'Out', inputs: { value: 'double.sum' } },
  ]);
}
