// The tfjs backend: eager tensors with autograd, used for training and as the reference implementation.
//
//   const ops = await createTfjsOps();          // 'auto': tfjs-node(-gpu) when installed, else wasm
//   const y = ops.tidy(() => model.forward(ops, ops.fromHost(x)));
//
// 'auto' can be overridden with KOSMOS_G_TFJS=wasm|cpu|node|webgpu.

import * as tf from '@tensorflow/tfjs';
import { TfjsOps } from './ops.ts';
import { opsName, startTfjsBackend, TFJS_KINDS, type TfjsKind } from './backend.ts';

export { tf, TfjsOps, TFJS_KINDS, type TfjsKind };
export { BackendUnavailableError } from './backend.ts';
export { parameterGrads, type ParameterGrads } from './grads.ts';

export async function createTfjsOps(kind?: TfjsKind): Promise<TfjsOps> {
  const chosen = kind ?? ((process.env.KOSMOS_G_TFJS as TfjsKind | undefined) || 'auto');
  const backend = await startTfjsBackend(chosen);
  return new TfjsOps(opsName(backend));
}

let shared: Promise<TfjsOps> | undefined;

/**
 * The process-wide TfjsOps (created on first call; `kind` only matters then). The tfjs runner uses it, so training
 * code that uses it too shares one set of parameter variables with inference instead of holding two copies.
 */
export function sharedTfjsOps(kind?: TfjsKind): Promise<TfjsOps> {
  shared ??= createTfjsOps(kind);
  return shared;
}
