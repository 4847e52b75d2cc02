// getRunner(backend): the one place inference code asks for a Runner. 'tfjs' runs eagerly; 'onnx' traces the
// forward function into an ONNX graph and runs it with ONNX Runtime (see ../backends/onnx/).

import { BACKENDS, type BackendName, type Runner } from './runner.ts';
import { tfjsRunner } from './tfjs-runner.ts';

export async function getRunner(backend: BackendName): Promise<Runner> {
  switch (backend) {
    case 'tfjs':
      return tfjsRunner();
    case 'onnx': {
      const { onnxRunner } = await import('../backends/onnx/runner.ts');
      return onnxRunner();
    }
    default:
      throw Object.assign(new Error(`getRunner: unknown backend '${String(backend)}' (one of ${BACKENDS.join(', ')})`), {
        code: 'UNKNOWN_BACKEND',
      });
  }
}
