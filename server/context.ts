// What the route handlers share: the store, the queue, the engine port, the hub and the data folders.
import path from 'node:path';
import type { EnginePort } from './engine-port.ts';
import type { EventHub } from './hub.ts';
import type { QueuePort } from './queue-port.ts';
import type { JobStore } from './store.ts';

export interface Limits {
  /** Largest JSON request body (workflows). */
  jsonBytes: number;
  /** Largest upload request. */
  uploadBytes: number;
  /**
   * Most nodes in a submitted workflow. Validation runs on the request thread: this bounds how long one request
   * can hold it (5,000 nodes validate in about 0.1–0.2 s; real workflows have hundreds).
   */
  maxNodes: number;
}

export const DEFAULT_LIMITS: Limits = { jsonBytes: 4 * 1024 * 1024, uploadBytes: 32 * 1024 * 1024, maxNodes: 5000 };

export interface ServerContext {
  store: JobStore;
  queue: QueuePort;
  engine: EnginePort;
  hub: EventHub;
  dataDir: string;
  uploadsDir: string;
  outputsDir: string;
  limits: Limits;
  /** The workflow the editor opens first (workflows/generate.json when present), or null for the editor's own. */
  defaultWorkflow: () => Promise<{ name: string; workflow: unknown } | null>;
}

export function dataFolders(dataDir: string): { dbFile: string; uploadsDir: string; outputsDir: string; modelsDir: string; settingsFile: string } {
  return {
    dbFile: path.join(dataDir, 'kosmos-g.db'),
    uploadsDir: path.join(dataDir, 'uploads'),
    outputsDir: path.join(dataDir, 'outputs'),
    /** GET /models lists its sub-folders, GET /models/{folder} their files (ComfyUI's models/ layout). */
    modelsDir: path.join(dataDir, 'models'),
    /** The editor's settings (GET/POST /settings): one user, one JSON object. */
    settingsFile: path.join(dataDir, 'settings.json'),
  };
}

/** The feature flags the server announces (GET /features, and the WebSocket's feature_flags answer). */
export function serverFeatures(limits: Limits): Record<string, unknown> {
  return { supports_preview_metadata: true, max_upload_size: limits.uploadBytes };
}
