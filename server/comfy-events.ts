// Engine events → ComfyUI WebSocket messages ({type, data}), plus our own `kosmos.*` messages. Pure: the hub sends
// what this returns, the queue records it, and the tests check the shapes here.
import type { EngineEvent } from './engine-port.ts';
import type { FileRef } from './store.ts';
import type { OutputFile } from '../engine/node-def.ts';

export interface WsMessage {
  type: string;
  data: Record<string, unknown>;
}

/** Per-job state that a mapping needs across events (the node running now, what has executed so far). */
export interface JobEventState {
  currentNode: string | null;
  currentType: string | null;
  executed: string[];
  errorSent: boolean;
}

export function newJobEventState(): JobEventState {
  return { currentNode: null, currentType: null, executed: [], errorSent: false };
}

/** Files a node produced, split ComfyUI-style: images under `images`, others under `files`. */
export function outputMessage(refs: FileRef[], values?: Record<string, unknown>): Record<string, unknown> {
  const images = refs.filter((r) => r.kind === 'image' || r.mime?.startsWith('image/'));
  const files = refs.filter((r) => !images.includes(r));
  const out: Record<string, unknown> = {};
  if (images.length) out.images = images.map(({ filename, subfolder, type }) => ({ filename, subfolder, type }));
  if (files.length) out.files = files;
  if (values && Object.keys(values).length) out.values = values;
  return out;
}

export function toComfyMessages(e: EngineEvent, state: JobEventState, fileRef: (f: OutputFile) => FileRef | undefined): WsMessage[] {
  const prompt_id = e.jobId;
  const timestamp = Date.now();
  switch (e.type) {
    case 'job_started':
      return [{ type: 'execution_start', data: { prompt_id, timestamp, nodes: e.nodes } }];
    case 'node_cached':
      state.executed.push(e.nodeId);
      return [{ type: 'execution_cached', data: { nodes: [e.nodeId], prompt_id, timestamp } }];
    case 'node_started':
      state.currentNode = e.nodeId;
      state.currentType = e.nodeType;
      return [{ type: 'executing', data: { node: e.nodeId, display_node: e.nodeId, prompt_id, node_type: e.nodeType } }];
    case 'node_progress': {
      const msgs: WsMessage[] = [{ type: 'progress', data: { value: e.value, max: e.max, node: e.nodeId, prompt_id } }];
      if (e.metrics && Object.keys(e.metrics).length) {
        msgs.push({ type: 'kosmos.metrics', data: { prompt_id, node: e.nodeId, step: e.value, max: e.max, metrics: e.metrics, timestamp } });
      }
      return msgs;
    }
    case 'node_done': {
      state.executed.push(e.nodeId);
      const refs = (e.outputs ?? []).map(fileRef).filter((r): r is FileRef => r !== undefined);
      if (refs.length === 0) return [];
      return [{ type: 'executed', data: { node: e.nodeId, display_node: e.nodeId, output: outputMessage(refs), prompt_id } }];
    }
    case 'node_warning':
      return [{ type: 'kosmos.warning', data: { prompt_id, node: e.nodeId, message: e.message, timestamp } }];
    case 'node_error':
      state.errorSent = true;
      return [
        {
          type: 'execution_error',
          data: {
            prompt_id,
            node_id: e.nodeId,
            node_type: e.nodeType,
            executed: [...state.executed],
            exception_message: e.message,
            exception_type: e.code,
            code: e.code,
            traceback: [],
            current_inputs: {},
            current_outputs: {},
            timestamp,
          },
        },
      ];
    case 'job_done': {
      const end: WsMessage = { type: 'executing', data: { node: null, display_node: null, prompt_id } };
      if (e.status === 'ok') return [end, { type: 'execution_success', data: { prompt_id, timestamp } }];
      if (e.status === 'cancelled') {
        return [
          {
            type: 'execution_interrupted',
            data: { prompt_id, node_id: state.currentNode, node_type: state.currentType, executed: [...state.executed], timestamp },
          },
          end,
        ];
      }
      const msgs: WsMessage[] = [];
      if (!state.errorSent) {
        msgs.push({
          type: 'execution_error',
          data: {
            prompt_id,
            node_id: e.error?.node ?? null,
            node_type: null,
            executed: [...state.executed],
            exception_message: e.error?.message ?? 'the job failed',
            exception_type: e.error?.code ?? 'ERROR',
            code: e.error?.code ?? 'ERROR',
            input: e.error?.input ?? null,
            traceback: [],
            current_inputs: {},
            current_outputs: {},
            timestamp,
          },
        });
      }
      msgs.push(end);
      return msgs;
    }
  }
}

/**
 * A preview image as ComfyUI's binary frame 4 (PREVIEW_IMAGE_WITH_METADATA):
 * [u32 BE event type = 4][u32 BE metadata length][metadata JSON][image bytes].
 */
/** ComfyUI's original preview frame: [u32 1][u32 image type: 1 JPEG, 2 PNG][image bytes]. */
export function legacyPreviewFrame(mime: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(1, 0);
  head.writeUInt32BE(mime === 'image/jpeg' ? 1 : 2, 4);
  return Buffer.concat([head, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

export function previewFrame(jobId: string, nodeId: string, mime: string, data: Uint8Array): Buffer {
  const meta = Buffer.from(
    JSON.stringify({ node_id: nodeId, display_node_id: nodeId, prompt_id: jobId, image_type: mime, real_node_id: nodeId, parent_node_id: null }),
  );
  const head = Buffer.alloc(8);
  head.writeUInt32BE(4, 0);
  head.writeUInt32BE(meta.length, 4);
  return Buffer.concat([head, meta, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}
