// transformers `text_encoder/config.json` (CLIPTextConfig, snake_case) → the project's CLIP text config.
import { CLIP_TEXT_REAL, type CLIPTextConfig } from '../clip/text-config.ts';
import { LoaderError } from './errors.ts';

export function clipTextConfigFromTransformers(json: Record<string, unknown>, where = 'text_encoder/config.json'): CLIPTextConfig {
  const get = (key: string, fallback: number): number => {
    const v = json[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new LoaderError('BAD_MODEL_CONFIG', `${where}: "${key}" must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const act = json['hidden_act'];
  if (act !== undefined && act !== 'quick_gelu') {
    throw new LoaderError('BAD_MODEL_CONFIG', `${where}: hidden_act "${String(act)}" is not supported (SD 1.5's CLIP uses quick_gelu)`);
  }
  const r = CLIP_TEXT_REAL;
  return {
    vocabSize: get('vocab_size', r.vocabSize),
    hiddenSize: get('hidden_size', r.hiddenSize),
    intermediateSize: get('intermediate_size', r.intermediateSize),
    layers: get('num_hidden_layers', r.layers),
    heads: get('num_attention_heads', r.heads),
    maxPositions: get('max_position_embeddings', r.maxPositions),
    eps: get('layer_norm_eps', r.eps),
  };
}
