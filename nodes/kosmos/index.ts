// The kosmos pack: KOSMOS-G's tokenizers, encoders, resampler, MLLM and AlignerNet as graph nodes.
import { definePack } from '../../engine/node-def.ts';
import { releaseRunners } from '../../models/runtime/runners.ts';
import { LoadAligner, LoadCLIPText, LoadCLIPVision, LoadConnector, LoadKosmosG, LoadMLLM } from './loaders.ts';
import { KosmosPrompt, LoadTokenizer, Tokenize } from './tokenizer-nodes.ts';
import { AlignerEncode, AlignerReconstruct, CLIPTextEncode, CLIPVisionEncode, KosmosGEncode, MLLMEncode, Resample } from './encode-nodes.ts';
import { ConditioningAverage } from './conditioning-nodes.ts';
import './types.ts';

export default definePack('kosmos', [
  LoadTokenizer,
  Tokenize,
  KosmosPrompt,
  LoadCLIPVision,
  CLIPVisionEncode,
  LoadConnector,
  Resample,
  LoadMLLM,
  MLLMEncode,
  LoadAligner,
  AlignerEncode,
  AlignerReconstruct,
  LoadCLIPText,
  CLIPTextEncode,
  LoadKosmosG,
  KosmosGEncode,
  ConditioningAverage,
], { release: releaseRunners });
