// Choosing a backend by name, as loader nodes do with their `backend` widget: one definition for every pack.
import { BACKENDS, type BackendName } from './runner.ts';

/** The `backend` widget of every model loader: ONNX Runtime by default for inference, tfjs for the eager path. */
export const BACKEND_WIDGET = {
  kind: 'ENUM',
  options: BACKENDS,
  default: 'onnx',
  description: "Where the model runs: 'onnx' (ONNX Runtime, fast inference) or 'tfjs' (eager reference, training)",
} as const;

export class UnknownBackendError extends Error {
  readonly code = 'UNKNOWN_BACKEND';
}

export function asBackend(name: string): BackendName {
  if (!(BACKENDS as readonly string[]).includes(name)) {
    throw new UnknownBackendError(`backend '${name}' is not one of ${BACKENDS.join(', ')}`);
  }
  return name as BackendName;
}
