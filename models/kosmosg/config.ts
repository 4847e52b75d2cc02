// The configs of all KOSMOS-G parts together, with the real and small presets, and inference of a config from a
// checkpoint's tensor shapes (for `config: 'from-file'`).

import { CLIP_VISION_REAL, CLIP_VISION_SMALL, type CLIPVisionConfig } from '../clip/vision-config.ts';
import { CONNECTOR_REAL, CONNECTOR_SMALL, type ConnectorConfig } from '../connector/config.ts';
import { MLLM_REAL, mllmSmall, type MLLMConfig } from '../mllm/config.ts';
import { ALIGNER_REAL, ALIGNER_SMALL, type AlignerConfig } from '../aligner/config.ts';
import type { HostTensor } from '../ops/ops.ts';

export interface KosmosGConfig {
  vision: CLIPVisionConfig;
  connector: ConnectorConfig;
  mllm: MLLMConfig;
  aligner: AlignerConfig;
  /** Build AlignerNet N (stage-2 reconstruction) as well as M. */
  reconstruction: boolean;
}

export const KOSMOS_G_REAL: KosmosGConfig = {
  vision: CLIP_VISION_REAL,
  connector: CONNECTOR_REAL,
  mllm: MLLM_REAL,
  aligner: ALIGNER_REAL,
  reconstruction: false,
};

export function kosmosGSmall(vocabSize = 512, reconstruction = false): KosmosGConfig {
  return { vision: CLIP_VISION_SMALL, connector: CONNECTOR_SMALL, mllm: mllmSmall(vocabSize), aligner: ALIGNER_SMALL, reconstruction };
}

export const KOSMOS_G_SMALL: KosmosGConfig = kosmosGSmall();

/** Checkpoint key prefixes of each part (spec §1.11). */
export const PREFIX = {
  vision: 'img_model.',
  connector: 'img_connector.',
  mllm: 'gpt_model.decoder.',
  aligner: 'aligner.',
} as const;

export class KosmosGConfigError extends Error {
  readonly code = 'KOSMOS_G_CONFIG';
}

type Shapes = (key: string) => number[];

function shapesOf(state: Map<string, HostTensor>, where: string): { shape: Shapes; count: (prefix: string) => number } {
  return {
    shape: (key) => {
      const t = state.get(key);
      if (!t) throw new KosmosGConfigError(`${where}: cannot infer the config, missing ${key}`);
      return t.shape;
    },
    count: (prefix) => {
      let n = 0;
      for (const k of state.keys()) {
        const m = k.startsWith(prefix) ? /^(\d+)\./.exec(k.slice(prefix.length)) : null;
        if (m) n = Math.max(n, Number(m[1]) + 1);
      }
      return n;
    },
  };
}

/** KOSMOS-G uses head_dim 64 everywhere; head counts are not visible in shapes. */
const headsFor = (dim: number, heads?: number) => heads ?? Math.max(1, Math.round(dim / 64));

/** Configs inferred from tensor shapes; `p` is the key prefix of the part in `state` ('' when saved alone). */
export function inferVisionConfig(state: Map<string, HostTensor>, p: string, heads?: number, where = 'weights'): CLIPVisionConfig {
  const { shape, count } = shapesOf(state, where);
  const v = `${p}visual.`;
  const [width, , patch] = shape(`${v}conv1.weight`);
  const grid = Math.round(Math.sqrt(shape(`${v}positional_embedding`)[0]! - 1));
  return {
    imageSize: grid * patch!,
    patchSize: patch!,
    width: width!,
    layers: count(`${v}transformer.resblocks.`),
    heads: headsFor(width!, heads),
    mlpDim: shape(`${v}transformer.resblocks.0.mlp.c_fc.weight`)[0]!,
    eps: 1e-5,
  };
}

export function inferConnectorConfig(state: Map<string, HostTensor>, p: string, heads?: number, where = 'weights'): ConnectorConfig {
  const { shape } = shapesOf(state, where);
  const [latents, dim] = shape(`${p}latent_query`);
  return { visionDim: shape(`${p}dense.weight`)[1]!, dim: dim!, heads: headsFor(dim!, heads), latentQueries: latents! };
}

export function inferMLLMConfig(state: Map<string, HostTensor>, p: string, heads?: number, where = 'weights'): MLLMConfig {
  const { shape, count } = shapesOf(state, where);
  const [vocab, dim] = shape(`${p}embed_tokens.weight`);
  return {
    vocabSize: vocab!,
    embedDim: dim!,
    layers: count(`${p}layers.`),
    heads: headsFor(dim!, heads),
    ffnDim: shape(`${p}layers.0.ffn.fc1.weight`)[0]!,
    padIdx: 1,
    eps: 1e-5,
  };
}

export function inferAlignerConfig(state: Map<string, HostTensor>, p: string, heads?: number, where = 'weights'): AlignerConfig {
  const { shape, count } = shapesOf(state, where);
  const [dim, mllmDim] = shape(`${p}encoder_proj.embed_tokens.weight`);
  return {
    mllmDim: mllmDim!,
    dim: dim!,
    heads: headsFor(dim!, heads),
    ffnDim: shape(`${p}encoder_proj.layers.0.ffn.fc1.weight`)[0]!,
    layers: count(`${p}encoder_proj.layers.`),
    queries: shape(`${p}encoder_query`)[0]!,
    maxPositions: shape(`${p}encoder_proj.embed_positions.weight`)[0]!,
    eps: 1e-5,
  };
}

export type KosmosGHeads = Partial<Record<'vision' | 'connector' | 'mllm' | 'aligner', number>>;

/** Every part's config from a full checkpoint's shapes. */
export function inferKosmosGConfig(state: Map<string, HostTensor>, heads: KosmosGHeads = {}, where = 'checkpoint'): KosmosGConfig {
  return {
    vision: inferVisionConfig(state, PREFIX.vision, heads.vision, where),
    connector: inferConnectorConfig(state, PREFIX.connector, heads.connector, where),
    mllm: inferMLLMConfig(state, PREFIX.mllm, heads.mllm, where),
    aligner: inferAlignerConfig(state, PREFIX.aligner, heads.aligner, where),
    reconstruction: state.has(`${PREFIX.aligner}decoder_query`),
  };
}
