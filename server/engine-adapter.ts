// The real engine behind the server's port: Registry (node packs), parseWorkflow (schema), Executor (validation
// and runs).
import { Executor, Registry, parseWorkflow, type Workflow } from '../engine/index.ts';
import { normaliseCatalogue, type EnginePort, type NormalisedNode } from './engine-port.ts';

export async function loadEngine(options: { dataDir: string; plugins?: string[] }): Promise<EnginePort> {
  const registry = await Registry.load(options.plugins ? { plugins: options.plugins } : {});
  const executor = new Executor(registry, { dataDir: options.dataDir });
  let nodes: NormalisedNode[] | undefined;
  return {
    catalogue: () => registry.catalogue(),
    nodeTypes: () => (nodes ??= normaliseCatalogue(registry.catalogue())),
    parseWorkflow: (raw) => parseWorkflow(raw, 'workflow'),
    validate: (wf) => executor.validate(wf as Workflow),
    run: (wf, opts) => executor.run(wf as Workflow, opts),
    loadErrors: () => [...registry.loadErrors],
  };
}
