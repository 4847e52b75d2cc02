// Choosing and starting a tfjs backend. tfjs has one global engine, so the backend is process-wide: the last
// createTfjsOps call decides where new tensors live. Optional packages (tfjs-node, tfjs-node-gpu, the WebGPU
// backend and Dawn) are loaded by dynamic import with non-literal specifiers, so the project builds and runs
// without them and a missing one is a clear error naming the package.

import * as tf from '@tensorflow/tfjs';

export type TfjsKind = 'auto' | 'wasm' | 'cpu' | 'node' | 'webgpu';
export const TFJS_KINDS: readonly TfjsKind[] = ['auto', 'wasm', 'cpu', 'node', 'webgpu'];

export class BackendUnavailableError extends Error {
  readonly code = 'BACKEND_UNAVAILABLE';
}

async function tryImport(specifier: string): Promise<unknown> {
  try {
    return await import(specifier);
  } catch {
    return undefined;
  }
}

/** The wasm module installs process handlers that rethrow with its minified source; keep Node's own behaviour. */
async function withoutNewProcessHandlers<R>(fn: () => Promise<R>): Promise<R> {
  type Listener = (...a: unknown[]) => void;
  const events = ['uncaughtException', 'unhandledRejection'];
  const listeners = (e: string): Listener[] => process.listeners(e as 'uncaughtException') as Listener[];
  const before = events.map((e) => new Set(listeners(e)));
  try {
    return await fn();
  } finally {
    events.forEach((e, i) => {
      for (const l of listeners(e)) {
        if (!before[i]!.has(l)) process.removeListener(e, l);
      }
    });
  }
}

async function startNode(): Promise<boolean> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    if (await tryImport(pkg)) {
      if (await tf.setBackend('tensorflow')) return true;
    }
  }
  return false;
}

async function startWasm(): Promise<void> {
  await withoutNewProcessHandlers(async () => {
    await import('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) throw new BackendUnavailableError('tfjs: the wasm backend failed to initialise');
    await tf.ready();
  });
}

async function startWebgpu(): Promise<void> {
  const nav = globalThis as { navigator?: { gpu?: unknown } };
  if (!nav.navigator?.gpu) {
    const dawn = (await tryImport('webgpu')) as { create?: (flags: string[]) => unknown; globals?: object } | undefined;
    if (!dawn?.create) {
      throw new BackendUnavailableError("tfjs webgpu: no navigator.gpu and the 'webgpu' package (Dawn for Node) is not installed");
    }
    if (dawn.globals) Object.assign(globalThis, dawn.globals);
    Object.defineProperty(globalThis, 'navigator', { value: { ...(nav.navigator ?? {}), gpu: dawn.create([]) }, configurable: true });
  }
  if (!(await tryImport('@tensorflow/tfjs-backend-webgpu'))) {
    throw new BackendUnavailableError("tfjs webgpu: the '@tensorflow/tfjs-backend-webgpu' package is not installed");
  }
  if (!(await tf.setBackend('webgpu'))) {
    throw new BackendUnavailableError('tfjs webgpu: no WebGPU adapter (a Vulkan driver is needed; see docs/ops.md)');
  }
}

/** Start the requested backend; returns the tfjs backend name actually in use. */
export async function startTfjsBackend(kind: TfjsKind): Promise<string> {
  switch (kind) {
    case 'cpu':
      await tf.setBackend('cpu');
      break;
    case 'wasm':
      await startWasm();
      break;
    case 'node':
      if (!(await startNode())) {
        throw new BackendUnavailableError("tfjs node: neither '@tensorflow/tfjs-node-gpu' nor '@tensorflow/tfjs-node' is installed");
      }
      break;
    case 'webgpu':
      await startWebgpu();
      break;
    case 'auto':
      if (!(await startNode())) await startWasm();
      break;
    default:
      throw new BackendUnavailableError(`tfjs: unknown backend kind '${String(kind)}' (one of ${TFJS_KINDS.join(', ')})`);
  }
  await tf.ready();
  return tf.getBackend();
}

/** The project's name for a tfjs backend: 'tfjs-wasm', 'tfjs-cpu', 'tfjs-node', 'tfjs-webgpu'. */
export function opsName(backend: string): string {
  return `tfjs-${backend === 'tensorflow' ? 'node' : backend}`;
}
