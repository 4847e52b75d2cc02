// A registry with the core and diffusion packs plus a test-only conditioning source (the KOSMOS-G pack provides
// the real ones), and a compact way to write workflows in tests.
import { definePack, defineNode, Registry, type Workflow } from '../../engine/index.ts';
import core from '../../nodes/core/index.ts';
import diffusion from '../../nodes/diffusion/index.ts';
import type { Conditioning } from '../../models/conditioning.ts';
import { randomHost } from './helpers.ts';

const TestConditioning = defineNode({
  type: 'TestConditioning',
  category: 'test',
  description: 'Seeded random conditioning (cond and uncond)',
  inputs: {},
  widgets: {
    batch: { kind: 'INT', default: 1 },
    length: { kind: 'INT', default: 5 },
    dim: { kind: 'INT', default: 32 },
    uncond: { kind: 'BOOLEAN', default: true },
    seed: { kind: 'SEED', default: 0 },
  },
  outputs: { conditioning: { type: 'CONDITIONING' } },
  execute({ batch, length, dim, uncond, seed }) {
    const c: Conditioning = {
      cond: randomHost([batch, length, dim], seed),
      uncond: uncond ? randomHost([1, length, dim], seed + 1) : undefined,
      source: 'test',
    };
    return { conditioning: c };
  },
});

/** Values captured by the test-only Capture output node, by its `key` widget. */
export const captured = new Map<string, unknown>();

const Capture = defineNode({
  type: 'Capture',
  category: 'test',
  description: 'Keeps the value it receives (tests read it from `captured`)',
  inputs: { value: { type: '*' } },
  widgets: { key: { kind: 'STRING', default: 'x' } },
  outputs: {},
  output: true,
  cacheable: false,
  execute({ value, key }) {
    captured.set(key, value);
    return {};
  },
});

export async function testRegistry(): Promise<Registry> {
  const registry = await Registry.load({ builtins: false, env: false });
  registry.add(core);
  registry.add(diffusion);
  registry.add(definePack('diffusion-test', [TestConditioning, Capture]));
  return registry;
}

type Spec = [id: string, type: string, widgets?: Record<string, string | number | boolean>, inputs?: Record<string, string>];

/** Nodes as [id, type, widgets, { input: 'nodeId.output' }]. */
export function workflow(...nodes: Spec[]): Workflow {
  return {
    format: 'kosmos-g/workflow',
    version: 1,
    nodes: nodes.map(([id, type, widgets, inputs], i) => ({
      id,
      type,
      widgets: widgets ?? {},
      inputs: Object.fromEntries(
        Object.entries(inputs ?? {}).map(([name, link]) => {
          const [node, output] = link.split('.');
          return [name, { node, output }];
        }),
      ),
      pos: [i * 250, 0] as [number, number],
    })),
  } as Workflow;
}
