// A NodeContext for calling training nodes' `execute` directly (no executor).
import type { NodeContext, StepInfo, Progress } from '../../engine/node-def.ts';
import { tempDir } from './fixtures.ts';

export function nodeContext(step?: StepInfo, progress: Progress[] = []): NodeContext {
  const out = tempDir('kg-out-');
  return {
    jobId: 'test', nodeId: 'n', signal: new AbortController().signal,
    log: { info: () => {}, warn: () => {}, error: () => {} },
    progress: (p) => { progress.push(p); },
    throwIfCancelled: () => {},
    scratchDir: async () => out,
    outputDir: async () => out,
    addOutputFile: () => {},
    ...(step ? { step } : {}),
  };
}

/** Call a node definition's execute with loosely typed arguments. */
export async function exec(def: { execute: unknown }, args: Record<string, unknown>, ctx = nodeContext()): Promise<Record<string, any>> {
  return await (def.execute as (a: unknown, c: NodeContext) => unknown)(args, ctx) as Record<string, any>;
}
