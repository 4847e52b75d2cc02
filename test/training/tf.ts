// The tfjs ops the training tests run on: wasm, the project's training backend on CPUs.
import { createTfjsOps, tf, type TfjsOps } from '../../models/backends/tfjs/index.ts';

let ops: Promise<TfjsOps> | undefined;
export function trainingOps(): Promise<TfjsOps> {
  ops ??= createTfjsOps('wasm');
  return ops;
}
export { tf };
