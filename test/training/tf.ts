// The tfjs ops the training tests run on: the tfjs training backend's own instance (variables are per ops instance, so
// the loss nodes and the gradient must share it). With no tfjs-node installed this is the wasm backend.
import { tf } from '../../models/backends/tfjs/index.ts';
export { tfjsTrainingOps as trainingOps } from '../../models/training/backends.ts';
export { tf };
