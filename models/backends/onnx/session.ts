// ONNX Runtime sessions: execution provider choice, session options, loading errors, and an LRU of open sessions.
//
// KOSMOS_G_ORT_EP=cpu (default) | webgpu | cuda picks the provider; KOSMOS_G_ORT_THREADS overrides the intra-op
// thread count (default: every core); KOSMOS_G_ORT_SESSIONS the number of sessions kept open (default 8);
// KOSMOS_G_ORT_PROFILE a file prefix for ORT's per-node profile; KOSMOS_G_ORT_ARENA=0 turns ORT's CPU memory arena
// off (activations are then allocated and freed per tensor: a lower peak, some speed); KOSMOS_G_ORT_GRAPH_OPT the
// graph optimisation level.

import { existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';

export type ExecutionProvider = 'cpu' | 'webgpu' | 'cuda';
export const EXECUTION_PROVIDERS: readonly ExecutionProvider[] = ['cpu', 'webgpu', 'cuda'];

export class OnnxError extends Error {
  constructor(
    readonly code: 'EP_UNAVAILABLE' | 'ONNX_INVALID' | 'FILE_NOT_FOUND' | 'ONNX_INPUT_MISMATCH',
    message: string,
  ) {
    super(message);
  }
}

export function requestedProvider(): ExecutionProvider {
  const ep = (process.env.KOSMOS_G_ORT_EP ?? 'cpu').toLowerCase();
  if (!(EXECUTION_PROVIDERS as readonly string[]).includes(ep)) {
    throw new OnnxError('EP_UNAVAILABLE', `KOSMOS_G_ORT_EP='${ep}' is not one of ${EXECUTION_PROVIDERS.join(', ')}`);
  }
  return ep as ExecutionProvider;
}

function ortBinaryDir(): string {
  const req = createRequire(import.meta.url);
  const pkg = path.dirname(req.resolve('onnxruntime-node/package.json'));
  return path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
}

/** Throws an EP_UNAVAILABLE error naming what is missing when the provider cannot run here. */
export function checkProvider(ep: ExecutionProvider): void {
  const listed = ort.listSupportedBackends().find((b) => b.name === ep);
  if (!listed) {
    throw new OnnxError('EP_UNAVAILABLE', `ONNX Runtime execution provider '${ep}' is not built into this onnxruntime-node for ${process.platform}-${process.arch}`);
  }
  if (ep === 'cuda') {
    const dir = ortBinaryDir();
    const needed = ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so'];
    const missing = needed.filter((f) => !existsSync(path.join(dir, f)));
    if (missing.length) {
      throw new OnnxError(
        'EP_UNAVAILABLE',
        `ONNX Runtime 'cuda' provider files are missing from ${dir}: ${missing.join(', ')} ` +
          `(install them with ONNXRUNTIME_NODE_INSTALL=cuda12 npm install where the internet is reachable; CUDA 12 and cuDNN 9 must also be present)`,
      );
    }
  }
}

const GRAPH_OPT_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;

/**
 * KOSMOS_G_ORT_GRAPH_OPT (default 'all'). 'extended' skips the layout transforms (NCHWc convolutions), which copy
 * the convolution weights out of the mapped side file into memory of ORT's own: ~0.2 × the weights less resident.
 */
function graphOptimizationLevel(): (typeof GRAPH_OPT_LEVELS)[number] {
  const level = process.env.KOSMOS_G_ORT_GRAPH_OPT ?? 'all';
  if (!(GRAPH_OPT_LEVELS as readonly string[]).includes(level)) {
    throw new OnnxError('ONNX_INVALID', `KOSMOS_G_ORT_GRAPH_OPT='${level}' is not one of ${GRAPH_OPT_LEVELS.join(', ')}`);
  }
  return level as (typeof GRAPH_OPT_LEVELS)[number];
}

export function sessionOptions(ep: ExecutionProvider): ort.InferenceSession.SessionOptions {
  const threads = Number(process.env.KOSMOS_G_ORT_THREADS) || os.availableParallelism();
  return {
    executionProviders: [ep],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: graphOptimizationLevel(),
    // ORT's memory pattern plans one block for all activations from the first run and allocates it on the second
    // while the arena still holds the first run's blocks: the real U-Net at 64×64 peaked 2 GB higher on its second
    // forward (bench/diffusion/memory.ts). Without it the arena reuses its blocks.
    enableMemPattern: false,
    enableCpuMemArena: process.env.KOSMOS_G_ORT_ARENA !== '0',
    // KOSMOS_G_ORT_PROFILE=<prefix>: ORT writes a per-node timing profile (<prefix>_<date>.json) when a session ends.
    ...(process.env.KOSMOS_G_ORT_PROFILE ? { enableProfiling: true, profileFilePrefix: process.env.KOSMOS_G_ORT_PROFILE } : {}),
  };
}

/** Open a session on a file, turning ORT's load failures into an ONNX_INVALID error that names the file. */
export async function openSession(file: string, ep: ExecutionProvider = requestedProvider()): Promise<ort.InferenceSession> {
  if (!existsSync(file)) throw new OnnxError('FILE_NOT_FOUND', `ONNX model not found: ${file}`);
  checkProvider(ep);
  try {
    return await ort.InferenceSession.create(file, sessionOptions(ep));
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (ep !== 'cpu' && /provider|adapter|device|webgpu|cuda/i.test(msg)) {
      const hint = /adapter/i.test(msg)
        ? 'no WebGPU adapter: a Vulkan driver is needed (libvulkan.so.1 and an ICD: the GPU vendor driver, or SwiftShader from chromium for testing)'
        : msg.split('\n')[0];
      throw new OnnxError('EP_UNAVAILABLE', `ONNX Runtime could not start the '${ep}' provider for ${file}: ${hint}`);
    }
    throw new OnnxError('ONNX_INVALID', `cannot load ONNX model ${file}: ${msg.split('\n')[0]}`);
  }
}

/** Whether the provider can be asked for here (its files are present); `checkProvider` says what is missing. */
export function providerInstalled(ep: ExecutionProvider): boolean {
  try {
    checkProvider(ep);
    return true;
  } catch {
    return false;
  }
}

/**
 * The open session of a cached model file. A damaged file (e.g. truncated by a full disk) is removed and rebuilt once
 * by `rebuild`, which returns the new key and file; any other failure is reported.
 */
export async function cachedSession(
  sessions: SessionCache,
  key: string,
  file: string,
  provider: ExecutionProvider,
  rebuild: () => { key: string; file: string },
): Promise<ort.InferenceSession> {
  try {
    return await sessions.get(key, () => openSession(file, provider));
  } catch (err) {
    if (!(err instanceof OnnxError) || err.code !== 'ONNX_INVALID') throw err;
    rmSync(file, { force: true });
    const again = rebuild();
    return sessions.get(again.key, () => openSession(again.file, provider));
  }
}

/** Sessions kept open, least recently used evicted (and released) first. */
export class SessionCache {
  private readonly entries = new Map<string, Promise<ort.InferenceSession>>();
  /** Runs in flight per session, and sessions closed meanwhile: those are released when their last run ends. */
  private readonly busy = new Map<ort.InferenceSession, number>();
  private readonly retired = new Set<ort.InferenceSession>();
  constructor(readonly capacity = Number(process.env.KOSMOS_G_ORT_SESSIONS) || 8) {}

  async get(key: string, open: () => Promise<ort.InferenceSession>): Promise<ort.InferenceSession> {
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      return entry;
    }
    entry = open();
    this.entries.set(key, entry);
    entry.catch(() => this.entries.delete(key));
    while (this.entries.size > this.capacity) {
      const [oldKey, old] = this.entries.entries().next().value as [string, Promise<ort.InferenceSession>];
      this.entries.delete(oldKey);
      void this.retire(old);
    }
    return entry;
  }

  /** Run `fn` on a session of this cache, which is not released before it ends even if evicted meanwhile. */
  async using<T>(session: ort.InferenceSession, fn: () => Promise<T>): Promise<T> {
    this.busy.set(session, (this.busy.get(session) ?? 0) + 1);
    try {
      return await fn();
    } finally {
      const left = this.busy.get(session)! - 1;
      if (left > 0) this.busy.set(session, left);
      else {
        this.busy.delete(session);
        if (this.retired.delete(session)) await session.release().catch(() => undefined);
      }
    }
  }

  private async retire(entry: Promise<ort.InferenceSession>): Promise<void> {
    const session = await entry.catch(() => undefined);
    if (!session) return;
    if (this.busy.has(session)) this.retired.add(session);
    else await session.release().catch(() => undefined);
  }

  /** Close one session (no-op when it is not open); a run in flight on it finishes first. */
  async evict(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    await this.retire(entry);
  }

  get size(): number {
    return this.entries.size;
  }

  async clear(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((p) => this.retire(p)));
  }
}
