// The 'tfjs' runner: eager execution of a forward function on the tfjs backend (the reference; also what training
// uses through Ops directly). Every tensor made during a run is freed before it returns.

import type { HostTensor } from '../ops/ops.ts';
import type { Module } from '../nn/module.ts';
import type { ForwardFn, Runner } from './runner.ts';
import { sharedTfjsOps, tf, type TfjsKind, type TfjsOps } from '../backends/tfjs/index.ts';
import { inRunContext } from './run-error.ts';

export class TfjsRunner implements Runner {
  readonly backend = 'tfjs' as const;
  constructor(readonly ops: TfjsOps) {}

  async run(model: Module, entry: string, forward: ForwardFn, inputs: HostTensor[]): Promise<HostTensor[]> {
    return inRunContext(model, entry, () => {
      const outs = tf.tidy(() => forward(this.ops, inputs.map((h) => this.ops.fromHost(h))));
      try {
        return outs.map((t) => this.ops.toHost(t));
      } finally {
        tf.dispose(outs);
      }
    });
  }
}

let shared: Promise<TfjsRunner> | undefined;

/** One tfjs runner per process (tfjs has one global engine), on the shared TfjsOps. */
export function tfjsRunner(kind?: TfjsKind): Promise<TfjsRunner> {
  shared ??= sharedTfjsOps(kind).then((ops) => new TfjsRunner(ops));
  return shared;
}
