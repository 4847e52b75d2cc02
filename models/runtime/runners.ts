// getRunner(backend): the one place inference code asks for a Runner. 'tfjs' runs eagerly; 'onnx' traces the
// forward function into an ONNX graph and runs it with ONNX Runtime (see ../backends/onnx/).

import { BACKENDS, type BackendName, type Runner } from './runner.ts';

/** The ONNX backend's module once some caller asked for it (it loads ONNX Runtime, so only on demand). */
let onnx: Promise<typeof import('../backends/onnx/runner.ts')> | undefined;
/** The tfjs runner's module, likewise on demand: TensorFlow.js takes about half a second to load. */
let tfjs: Promise<typeof import('./tfjs-runner.ts')> | undefined;

export async function getRunner(backend: BackendName): Promise<Runner> {
  switch (backend) {
    case 'tfjs':
      return (await (tfjs ??= import('./tfjs-runner.ts'))).tfjsRunner();
    case 'onnx': {
      const { onnxRunner } = await (onnx ??= import('../backends/onnx/runner.ts'));
      return onnxRunner();
    }
    default:
      throw Object.assign(new Error(`getRunner: unknown backend '${String(backend)}' (one of ${BACKENDS.join(', ')})`), {
        code: 'UNKNOWN_BACKEND',
      });
  }
}

/** Closes what the runners hold open (the ONNX runner's sessions; traces on disk stay). Safe at any time. */
export async function releaseRunners(): Promise<void> {
  if (onnx === undefined) return;
  const { onnxRunner } = await onnx;
  await (await onnxRunner()).sessions.clear();
}
