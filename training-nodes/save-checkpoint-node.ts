// SaveCheckpoint: write the wired models' weights to one safetensors file under the reference key names (the MLLM
// under `gpt_model.decoder.`, AlignerNet under `aligner.`, …), atomically, so generation workflows load it by name.
// Wire TrainLoop's checkpoint output into it to save after training. The KOSMOS-G parts' configs go into the
// `kosmos_g_config` metadata, as the loaders' 'from-file' expects, so a trained part reloads at its real size.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { defineNode } from '../engine/node-def.ts';
import type { HostTensor } from '../models/ops/ops.ts';
import { checkpointParameters } from '../models/training/trained-models.ts';
import { saveSafetensors } from '../models/io/safetensors.ts';
import { TrainingInputError } from './inputs.ts';
import { CONFIG_METADATA_KEY, type WeightFile } from '../models/kosmosg/weights.ts';
import { AlignerNet } from '../models/aligner/aligner.ts';
import { CLIPTextModel } from '../models/clip/text-model.ts';
import { CLIPVision } from '../models/clip/vision-model.ts';
import { XConnector } from '../models/connector/connector.ts';
import { MLLM } from '../models/mllm/mllm.ts';
import type { TrainedModel } from '../models/training/trained-models.ts';
import { TrainLoop, wiredModels } from './train-loop-node.ts';

const modelInputs = Object.fromEntries(
  Object.entries(TrainLoop.inputs).filter(([name]) => name !== 'loss'),
) as Omit<typeof TrainLoop.inputs, 'loss'>;

/** The configs of the wired KOSMOS-G parts, under the names LoadKosmosG's 'from-file' reads. */
export function checkpointConfigs(models: TrainedModel[]): WeightFile['configs'] {
  const configs: WeightFile['configs'] = {};
  for (const { module } of models) {
    if (module instanceof MLLM) configs.mllm = module.config;
    else if (module instanceof AlignerNet) {
      configs.aligner = module.config;
      configs.reconstruction = module.hasReconstruction;
    } else if (module instanceof XConnector) configs.connector = module.config;
    else if (module instanceof CLIPVision) configs.vision = module.config;
    else if (module instanceof CLIPTextModel) configs.clipText = module.config;
  }
  return configs;
}

export const SaveCheckpoint = defineNode({
  type: 'SaveCheckpoint',
  category: 'training',
  description: "Save the wired models' weights as one .safetensors file under the reference key names.",
  inputs: { after: { type: 'CHECKPOINT', optional: true, description: 'run after this training loop' }, ...modelInputs },
  widgets: { path: { kind: 'PATH', default: 'model.safetensors', mode: 'write', extensions: ['.safetensors'] } },
  outputs: {},
  output: true,
  cacheable: false,
  execute: async (a, ctx) => {
    const models = wiredModels(a as unknown as Record<string, unknown>);
    if (!models.length) throw new TrainingInputError('TRAIN_INPUT', 'SaveCheckpoint: no model is wired in');
    const params = checkpointParameters(models);
    const tensors = new Map<string, HostTensor>();
    for (const [key, p] of params) tensors.set(key, { data: p.data, shape: [...p.shape], dtype: 'float32' });
    const file = path.isAbsolute(a.path) ? a.path : path.join(await ctx.outputDir(), a.path);
    mkdirSync(path.dirname(file), { recursive: true });
    const step = (a.after as { step?: number } | undefined)?.step;
    const configs = checkpointConfigs(models);
    await saveSafetensors(file, tensors, {
      format: 'pt',
      ...(step !== undefined ? { step: String(step) } : {}),
      ...(Object.keys(configs).length ? { [CONFIG_METADATA_KEY]: JSON.stringify(configs) } : {}),
    });
    ctx.addOutputFile({ path: file, kind: 'checkpoint', mime: 'application/octet-stream' });
    return {};
  },
});
