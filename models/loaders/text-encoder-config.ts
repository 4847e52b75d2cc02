// transformers `text_encoder/config.json` (CLIPTextConfig, snake_case) → the project's CLIP text config. Keys
// absent take SD 1.5's values (noted as inferred); keys that change nothing here or are not implemented are
// accounted for like every other config reader's (models/config-keys.ts).
import { CLIP_TEXT_REAL, type CLIPActivation, type CLIPTextConfig } from '../clip/text-config.ts';
import { ignoredSettings, noEffectNotes } from '../config-keys.ts';
import type { ReadConfig } from '../config-keys.ts';
import { LoaderError } from './errors.ts';

const ACTIVATIONS: Record<string, CLIPActivation> = { quick_gelu: 'quick_gelu', gelu: 'gelu', gelu_new: 'gelu_tanh', gelu_pytorch_tanh: 'gelu_tanh' };

const RULES = {
  read: ['vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'max_position_embeddings', 'layer_norm_eps', 'hidden_act'],
  asIs: { attention_dropout: [0], dropout: [0], hidden_dropout: [0] },
  noEffect: {
    architectures: 'metadata',
    model_type: 'metadata',
    transformers_version: 'metadata',
    torch_dtype: 'weights are read as float32',
    projection_dim: 'the text projection is not used by SD (only last_hidden_state)',
    bos_token_id: 'set by the tokenizer',
    eos_token_id: 'set by the tokenizer',
    pad_token_id: 'set by the tokenizer',
    initializer_factor: 'used only to initialise new weights',
    initializer_range: 'used only to initialise new weights',
  },
};

export function readClipTextConfig(json: Record<string, unknown>, where = 'text_encoder/config.json'): ReadConfig<CLIPTextConfig> {
  const inferred: string[] = [];
  const get = (key: string, fallback: number): number => {
    const v = json[key];
    if (v === undefined || v === null) {
      inferred.push(`${key} absent: ${fallback} (SD 1.5)`);
      return fallback;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new LoaderError('BAD_MODEL_CONFIG', `${where}: "${key}" must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const act = json['hidden_act'] ?? 'quick_gelu';
  const hiddenAct = ACTIVATIONS[String(act)];
  if (!hiddenAct) {
    throw new LoaderError('BAD_MODEL_CONFIG', `${where}: hidden_act "${String(act)}" is not supported (${Object.keys(ACTIVATIONS).join(', ')})`);
  }
  const r = CLIP_TEXT_REAL;
  const config: CLIPTextConfig = {
    vocabSize: get('vocab_size', r.vocabSize),
    hiddenSize: get('hidden_size', r.hiddenSize),
    intermediateSize: get('intermediate_size', r.intermediateSize),
    layers: get('num_hidden_layers', r.layers),
    heads: get('num_attention_heads', r.heads),
    maxPositions: get('max_position_embeddings', r.maxPositions),
    eps: get('layer_norm_eps', r.eps),
    ...(hiddenAct !== 'quick_gelu' ? { hiddenAct } : {}),
  };
  if (!(config.heads >= 1) || config.hiddenSize % config.heads !== 0) {
    throw new LoaderError('BAD_MODEL_CONFIG', `${where}: hidden_size ${config.hiddenSize} is not divisible by num_attention_heads ${config.heads}`);
  }
  inferred.push(...noEffectNotes(json, RULES).filter((n) => !/: metadata$/.test(n)));
  return { config, inferred, ignored: ignoredSettings(json, RULES) };
}

export function clipTextConfigFromTransformers(json: Record<string, unknown>, where = 'text_encoder/config.json'): CLIPTextConfig {
  return readClipTextConfig(json, where).config;
}
