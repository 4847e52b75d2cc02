// Small helpers the diffusion nodes share: the backend widget, coded errors, and running a model entry on the
// backend its value was loaded for.

import { KosmosError } from '../../engine/errors.ts';
import type { HostTensor } from '../../models/ops/ops.ts';
import type { Module } from '../../models/nn/module.ts';
import { getRunner } from '../../models/runtime/runners.ts';
import type { BackendName, ForwardFn } from '../../models/runtime/runner.ts';
export { BACKEND_WIDGET, asBackend } from '../../models/runtime/backend-choice.ts';

export const CONFIG_WIDGET = {
  kind: 'ENUM',
  options: ['small', 'real', 'from-file'],
  default: 'small',
  description:
    "'real': SD 1.5 sizes; 'small': a tiny model for tests and the embedded default; 'from-file': read config.json next to the weights. With an empty path a seeded random model of this config is built.",
} as const;

export function diffusionError(code: string, message: string): KosmosError {
  return new KosmosError(code, message, { exitCode: 1 });
}

export async function runEntry(
  backend: BackendName,
  model: Module,
  entry: string,
  forward: ForwardFn,
  inputs: HostTensor[],
): Promise<HostTensor[]> {
  const runner = await getRunner(backend);
  return runner.run(model, entry, forward, inputs);
}
