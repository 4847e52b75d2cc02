// The tfjs ops the training tests run on: the tfjs training backend's own instance (variables are per ops instance,
// so a test's own evaluations and the backend's gradients share them). Without tfjs-node this is the wasm backend.
import { tf } from '../../models/backends/tfjs/index.ts';
export { tfjsTrainingOps as trainingOps } from '../../models/training/backends.ts';
export { tf };
