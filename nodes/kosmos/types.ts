// Socket types of the kosmos pack and the values they carry between nodes.
import type { ImageValue } from '../../models/image.ts';
import type { Conditioning } from '../../models/conditioning.ts';
import type { HostTensor } from '../../models/ops/ops.ts';
import type { Module } from '../../models/nn/module.ts';
import type { BackendName } from '../../models/runtime/runner.ts';
import type { TextTokenizer } from '../../models/tokenizers/tokenizer.ts';
import type { CLIPVision } from '../../models/clip/vision-model.ts';
import type { CLIPTextModel } from '../../models/clip/text-model.ts';
import type { XConnector } from '../../models/connector/connector.ts';
import type { MLLM } from '../../models/mllm/mllm.ts';
import type { AlignerNet } from '../../models/aligner/aligner.ts';
import type { KosmosG } from '../../models/kosmosg/kosmosg.ts';

/** A loaded model: the module, the backend its nodes run it on, where it came from. */
export interface ModelValue<M> {
  model: M;
  backend: BackendName;
  source: string;
  byteSize(): number;
}

/** TOKENS: token ids [B, T] (right-padded), with the image-slot mask for MLLM prompts. */
export interface TokensValue {
  ids: Int32Array;
  shape: [number, number];
  /** 1 where an image feature replaces the token (MLLM prompts), row-major [B, T]. */
  imageMask?: Uint8Array;
  /** Images each row's slots expect, in order. */
  imageCount: number;
  padId: number;
  /** 'mllm' (fairseq ids, no EOS, variable length) or 'clip' (77 ids with BOS/EOS). */
  kind: 'mllm' | 'clip';
}

/** IMAGE_FEATURES: CLIP vision tokens [N, T, width] or connector output [N·latents, dim]. */
export interface ImageFeaturesValue {
  tensor: HostTensor;
  stage: 'clip-vision' | 'connector';
  images: number;
}

/** MLLM_STATES: final-LN hidden states [B, T, D] with the tokens they came from (for padding masks). */
export interface MLLMStatesValue {
  states: HostTensor;
  tokens: Int32Array;
  padId: number;
}

declare module '../../engine/node-def.ts' {
  interface SocketTypes {
    IMAGE: ImageValue;
    TOKENIZER: TextTokenizer;
    TOKENS: TokensValue;
    CLIP_VISION: ModelValue<CLIPVision>;
    CLIP_TEXT: ModelValue<CLIPTextModel>;
    CONNECTOR: ModelValue<XConnector>;
    MLLM: ModelValue<MLLM>;
    ALIGNER: ModelValue<AlignerNet>;
    KOSMOS_G: ModelValue<KosmosG>;
    IMAGE_FEATURES: ImageFeaturesValue;
    MLLM_STATES: MLLMStatesValue;
    CONDITIONING: Conditioning;
  }
}

export function modelValue<M extends Module | KosmosG>(model: M, backend: BackendName, source: string): ModelValue<M> {
  const modules: Module[] = 'parts' in model ? (model as KosmosG).parts().map(([, m]) => m) : [model as Module];
  return {
    model,
    backend,
    source,
    // Every parameter counts, materialised or not: the output cache measures a value once, when it is stored, and
    // a seeded random model allocates its weights only on first use, right after.
    byteSize: () => modules.reduce((n, m) => n + m.parameters().reduce((k, p) => k + p.size * 4, 0), 0),
  };
}
