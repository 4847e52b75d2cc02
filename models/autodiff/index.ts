// Reverse-mode differentiation over the ops interface (docs/ops.md, "Gradients").
import type { Ops } from '../ops/ops.ts';

export { GradOps } from './grad-ops.ts';
export { Var, type TapeEntry } from './var.ts';

/**
 * A scalar loss written once against Ops: the training loop differentiates it with GradOps over whichever backend
 * runs the step (eagerly on tfjs, or traced into one forward + backward ONNX graph).
 */
export type LossFn = <T>(ops: Ops<T>) => T;
