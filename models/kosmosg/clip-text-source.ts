// Where a CLIP text encoder's config comes from with config 'from-file', in order: the config the project stored
// in the safetensors metadata; the transformers `config.json` beside the weights (a diffusers `text_encoder/`
// folder); only then the tensor shapes, which cannot tell the head count or the activation (heads = width/64,
// quick-GELU, eps 1e-5 are assumed, and said so).

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { HostTensor } from '../ops/ops.ts';
import type { CLIPTextConfig } from '../clip/text-config.ts';
import type { ReadConfig } from '../config-keys.ts';
import { parseJsonObject } from '../loaders/json.ts';
import { readClipTextConfig } from '../loaders/text-encoder-config.ts';

/** A transformers config.json of a CLIP text model (not, e.g., a U-Net's config that happens to sit there). */
function isClipTextJson(json: Record<string, unknown>): boolean {
  const arch = Array.isArray(json['architectures']) ? (json['architectures'] as unknown[]) : [];
  if (json['model_type'] === 'clip_text_model' || arch.some((a) => typeof a === 'string' && a.startsWith('CLIPTextModel'))) return true;
  return json['model_type'] === undefined && 'hidden_size' in json && 'num_hidden_layers' in json;
}

/** The config of a CLIP text encoder in `tensors` (bare `text_model.*` keys) read from the file at `file`. */
export function clipTextConfigFromFile(file: string, stored: CLIPTextConfig | undefined, tensors: Map<string, HostTensor>): ReadConfig<CLIPTextConfig> {
  if (stored) return { config: stored, inferred: [`config stored in ${file}`], ignored: [] };
  const beside = path.join(path.dirname(file), 'config.json');
  const notes: string[] = [];
  if (existsSync(beside)) {
    const json = parseJsonObject(readFileSync(beside, 'utf8'), beside);
    if (isClipTextJson(json)) {
      const read = readClipTextConfig(json, beside);
      return { ...read, inferred: [`config read from ${beside}`, ...read.inferred] };
    }
    notes.push(`${beside} is not a CLIP text config (model_type ${JSON.stringify(json['model_type'] ?? null)}): not used`);
  }
  const config = inferCLIPTextConfig(tensors, file);
  notes.push(
    `no config stored in ${file} or beside it: inferred from the tensor shapes — width ${config.hiddenSize}, ${config.layers} layers, ` +
      `${config.heads} heads (assumed 64 wide), quick_gelu and eps ${config.eps} (assumed)`,
  );
  return { config, inferred: notes, ignored: [] };
}

/** A CLIP text config from tensor shapes alone: width, layers, FFN, vocabulary and positions; heads = width/64. */
export function inferCLIPTextConfig(tensors: Map<string, HostTensor>, where = 'weights'): CLIPTextConfig {
  const get = (k: string) => {
    const t = tensors.get(k);
    if (!t) throw Object.assign(new Error(`${where}: cannot infer the CLIP text config, missing ${k}`), { code: 'WEIGHTS_CONFIG' });
    return t.shape;
  };
  const [vocab, hidden] = get('text_model.embeddings.token_embedding.weight');
  let layers = 0;
  for (const k of tensors.keys()) {
    const m = /^text_model\.encoder\.layers\.(\d+)\./.exec(k);
    if (m) layers = Math.max(layers, Number(m[1]) + 1);
  }
  return {
    vocabSize: vocab!,
    hiddenSize: hidden!,
    intermediateSize: get('text_model.encoder.layers.0.mlp.fc1.weight')[0]!,
    layers,
    heads: Math.max(1, Math.round(hidden! / 64)),
    maxPositions: get('text_model.embeddings.position_embedding.weight')[0]!,
    eps: 1e-5,
  };
}
