// Where a training step runs. Both backends differentiate the same loss function (a LossFn written against Ops):
// 'onnx' traces forward + backward into one ONNX graph and runs it with ONNX Runtime (all cores; a GPU through
// its execution providers), 'tfjs' runs it eagerly under tfjs autograd (the reference). Gradients come back to the
// host either way, where the optimiser, clipping, accumulation and checkpoints are shared by both — so a run can
// be resumed on the other backend.
import type { LossFn } from '../autodiff/index.ts';
import type { Parameter } from '../nn/module.ts';
import type { TfjsOps } from '../backends/tfjs/index.ts';
import type { OnnxTrainer } from '../backends/onnx/train-step.ts';
import type { ExecutionProvider } from '../backends/onnx/session.ts';

export const TRAINING_BACKENDS = ['onnx', 'onnx-cuda', 'onnx-webgpu', 'tfjs'] as const;
export type TrainingBackendName = (typeof TRAINING_BACKENDS)[number];

export interface StepResult {
  loss: number;
  grads: Map<Parameter, Float32Array>;
}

export interface TrainingBackend {
  readonly name: TrainingBackendName;
  /** Loss and gradients w.r.t. the trainable ones of `params`. */
  gradients(params: readonly Parameter[], loss: LossFn): Promise<StepResult>;
  /** The loss alone, no gradients (evaluation); `params` are the ones training changes. */
  evaluate(params: readonly Parameter[], loss: LossFn): Promise<number>;
}

const onnxTrainers = new Map<ExecutionProvider, OnnxTrainer>();

// Both backends load on first use (TensorFlow.js, ONNX Runtime): a process that only lists or validates nodes
// never pays for them.
async function onnxBackend(name: TrainingBackendName, provider: ExecutionProvider): Promise<TrainingBackend> {
  const [{ checkProvider }, { OnnxTrainer: Trainer }, { onnxCacheDir }] = await Promise.all([
    import('../backends/onnx/session.ts'),
    import('../backends/onnx/train-step.ts'),
    import('../backends/onnx/runner.ts'),
  ]);
  // Refuse at once, with EP_UNAVAILABLE naming what is missing, rather than at the first step's session.
  checkProvider(provider);
  let trainer = onnxTrainers.get(provider);
  if (!trainer) onnxTrainers.set(provider, (trainer = new Trainer(onnxCacheDir(), provider)));
  const t = trainer;
  return { name, gradients: (params, loss) => t.gradients(params, loss), evaluate: (params, loss) => t.loss(params, loss) };
}

let tfjsOps: Promise<TfjsOps> | undefined;

/** The process's tfjs training ops (KOSMOS_G_TFJS picks the tfjs backend; wasm where tfjs-node is absent). */
export function tfjsTrainingOps(): Promise<TfjsOps> {
  tfjsOps ??= import('../backends/tfjs/index.ts').then((m) => m.createTfjsOps());
  return tfjsOps;
}

async function tfjsBackend(): Promise<TrainingBackend> {
  const ops = await tfjsTrainingOps();
  const { parameterGrads, tf } = await import('../backends/tfjs/index.ts');
  return {
    name: 'tfjs',
    gradients: async (params, loss) => parameterGrads(ops, params, () => loss(ops)),
    evaluate: async (_params, loss) => {
      const t = tf.tidy(() => loss(ops));
      const v = t.dataSync()[0]!;
      t.dispose();
      return v;
    },
  };
}

/** The backend by name; 'onnx' uses KOSMOS_G_ORT_EP's provider (default cpu). */
export async function trainingBackend(name: TrainingBackendName, defaultProvider: ExecutionProvider): Promise<TrainingBackend> {
  switch (name) {
    case 'tfjs':
      return tfjsBackend();
    case 'onnx-cuda':
      return onnxBackend(name, 'cuda');
    case 'onnx-webgpu':
      return onnxBackend(name, 'webgpu');
    case 'onnx':
      return onnxBackend(name, defaultProvider);
  }
}
