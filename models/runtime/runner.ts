// How inference nodes run a component: give a runner the module, a named entry point (its forward function)
// and host tensors; get host tensors back. The 'tfjs' runner executes eagerly (and is what training uses,
// through Ops directly); the 'onnx' runner traces the forward function into an ONNX graph once per
// (weights, entry, input shapes), caches the .onnx on disk, and runs it with ONNX Runtime.
//
// A forward function must be a pure function of its inputs and the module's parameters written only with Ops:
// no reading tensor values on the host (masks and positions are computed on the host and passed as inputs).

import type { HostTensor, Ops } from '../ops/ops.ts';
import type { Module } from '../nn/module.ts';

export type BackendName = 'onnx' | 'tfjs';
export const BACKENDS: readonly BackendName[] = ['onnx', 'tfjs'];

export type ForwardFn = <T>(ops: Ops<T>, inputs: T[]) => T[];

export interface Runner {
  readonly backend: BackendName;
  /**
   * Run `forward` with `model`'s parameters on host inputs. `entry` names the function (e.g. 'unet', 'mllm'),
   * so a module with several entry points (AlignerNet M and N) caches each trace separately.
   */
  run(model: Module, entry: string, forward: ForwardFn, inputs: HostTensor[]): Promise<HostTensor[]>;
}
