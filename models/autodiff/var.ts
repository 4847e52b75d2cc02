// The values GradOps works on, and the tape it records them on.

/** A value of the inner backend and whether a gradient must flow to it (it depends on a differentiated parameter). */
export class Var<T> {
  constructor(
    readonly value: T,
    /** Position on the tape's id counter; -1 for a constant (no gradient is ever computed for it). */
    readonly id: number,
  ) {}

  get needsGrad(): boolean {
    return this.id >= 0;
  }
}

/**
 * One recorded op: its differentiable inputs, its outputs, and its vector–Jacobian product, which maps the output
 * gradients (undefined where none reached an output) to one gradient per input (undefined where the input needs
 * none). A VJP is written with the inner backend's ops, so on the ONNX tracer the backward pass is recorded into
 * the same graph as the forward pass.
 */
export interface TapeEntry<T> {
  inputs: readonly Var<T>[];
  outputs: readonly Var<T>[];
  vjp: (grads: readonly (T | undefined)[]) => readonly (T | undefined)[];
}
