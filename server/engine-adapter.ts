// The real engine behind the server's port: Registry (node packs), parseWorkflow (schema), Executor (validation
// and runs).
import { Executor, Registry, parseWorkflow, type Workflow } from '../engine/index.ts';
import { normaliseCatalogue, type EnginePort, type NormalisedNode } from './engine-port.ts';
import { pathPolicy } from './path-policy.ts';
import { dataFolders } from './context.ts';
import { exportApiPrompt } from './comfy-export.ts';

export async function loadEngine(options: { dataDir: string; plugins?: string[]; builtins?: boolean }): Promise<EnginePort> {
  const registry = await Registry.load({ ...(options.plugins ? { plugins: options.plugins } : {}), ...(options.builtins === false ? { builtins: false } : {}) });
  // Workflows from HTTP clients may only name files inside the allowed roots (see path-policy.ts).
  const { dbFile, settingsFile } = dataFolders(options.dataDir);
  const policy = pathPolicy({ dataDir: options.dataDir, protectedFiles: [dbFile, settingsFile] });
  const executor = new Executor(registry, { dataDir: options.dataDir, checkPath: (p, mode) => policy.check(p, mode) });
  let nodes: NormalisedNode[] | undefined;
  return {
    catalogue: () => registry.catalogue(),
    nodeTypes: () => (nodes ??= normaliseCatalogue(registry.catalogue())),
    parseWorkflow: (raw) => parseWorkflow(raw, 'workflow'),
    validate: (wf) => executor.validate(wf as Workflow),
    run: (wf, opts) => executor.run(wf as Workflow, opts),
    loadErrors: () => [...registry.loadErrors],
    free: () => executor.freeMemory(),
    toApiPrompt: (wf) => exportApiPrompt(wf as Workflow, registry),
  };
}
