// LoadLoRA / ApplyLoRA (spec §1.8, §5.2): kohya, diffusers and PEFT files (models/lora/ parses them against the
// U-Net's real keys). 'merged' writes W + m·(alpha/rank)·up·down into a copy of the U-Net's weights (the fast
// path: the base U-Net stays untouched and shared); 'unmerged' adds the same delta inside the graph at run time.
// Module names that match nothing are reported by name in the log; a file that matches nothing is an error.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { defineNode } from '../../engine/node-def.ts';
import { mergeLora, parseLora } from '../../models/lora/index.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { UnmergedLora, type LoraPatch } from '../../models/unet/lora-hook.ts';
import { diffusionError } from './common.ts';
import { loraTag } from './denoise.ts';
import { readStateDict } from './weights.ts';
import { moduleBytes, type LoraValue, type UNetValue } from './values.ts';

export const LoadLoRA = defineNode({
  type: 'LoadLoRA',
  category: 'diffusion/loaders',
  description: 'Read a LoRA .safetensors file (kohya, diffusers or PEFT keys)',
  inputs: {},
  widgets: { path: { kind: 'PATH', default: '', mode: 'read', extensions: ['.safetensors'] } },
  outputs: { lora: { type: 'LORA' } },
  async execute({ path: file }) {
    if (!file) throw diffusionError('MISSING_PATH', 'LoadLoRA: no file given');
    if (!existsSync(file)) throw diffusionError('FILE_NOT_FOUND', `LoadLoRA: ${file} does not exist`);
    const tensors = await readStateDict(file);
    let alpha: number | undefined;
    const adapterConfig = path.join(path.dirname(file), 'adapter_config.json');
    if (existsSync(adapterConfig)) {
      const json = JSON.parse(readFileSync(adapterConfig, 'utf8')) as { lora_alpha?: number };
      alpha = json.lora_alpha;
    }
    return { lora: { tensors, source: file, alpha } satisfies LoraValue };
  },
});

export const ApplyLoRA = defineNode({
  type: 'ApplyLoRA',
  category: 'diffusion/loaders',
  description: "Apply a LoRA to a U-Net at a strength: merged into a copy of the weights, or unmerged (added in the graph)",
  inputs: { unet: { type: 'UNET' }, lora: { type: 'LORA' } },
  widgets: {
    strength: { kind: 'FLOAT', default: 1, min: -4, max: 4, step: 0.05, description: 'The multiplier m in W + m·(alpha/rank)·ΔW' },
    mode: { kind: 'ENUM', options: ['merged', 'unmerged'], default: 'merged' },
  },
  outputs: { unet: { type: 'UNET' } },
  execute(args, ctx) {
    const unet = args.unet as UNetValue;
    const lora = args.lora as LoraValue;
    if (unet.external) {
      throw diffusionError('LORA_UNSUPPORTED', `ApplyLoRA: ${unet.source} is an ONNX export; load the U-Net from safetensors to apply a LoRA`);
    }
    const named = unet.model.namedParameters();
    const set = parseLora(lora.tensors, { unetKeys: new Map(named.map(([k, p]) => [k, p.shape])), alpha: lora.alpha });
    const entries = set.entries.filter((e) => e.component === 'unet');
    const skipped = set.entries.length - entries.length;
    for (const u of set.unknown.slice(0, 50)) ctx.log.warn(`ApplyLoRA: ${u.key}: ${u.reason}`);
    if (set.unknown.length > 50) ctx.log.warn(`ApplyLoRA: … and ${set.unknown.length - 50} more unknown keys`);
    if (skipped) ctx.log.info(`ApplyLoRA: ${skipped} text-encoder updates are not applied to the U-Net`);
    if (entries.length === 0) {
      throw diffusionError(
        'LORA_NO_MATCH',
        `ApplyLoRA: ${lora.source} changes no weight of this U-Net (${set.unknown.length} unknown keys, e.g. ${set.unknown
          .slice(0, 3)
          .map((u) => u.key)
          .join(', ')})`,
      );
    }
    if (args.mode === 'unmerged') {
      const patches: LoraPatch[] = entries.map((e) => ({ key: e.targetKey, up: e.up, down: e.down, scale: (args.strength * e.alpha) / e.rank }));
      const hook = unet.lora ? unet.lora.with(patches) : new UnmergedLora(patches);
      const problems = hook.check(unet.model);
      if (problems.length) throw diffusionError('LORA_SHAPE_MISMATCH', `ApplyLoRA: ${problems.slice(0, 5).join('; ')}`);
      return { unet: { ...unet, lora: hook, loraTag: loraTag(hook), source: `${unet.source} + ${lora.source} (unmerged)` } };
    }
    const merged = mergeLora(unet.model.stateDict(), { ...set, entries, unknown: [] }, args.strength);
    const copy = new UNet2DConditionModel(unet.model.config);
    copy.loadStateDict(merged.weights, { where: 'ApplyLoRA merged U-Net' });
    const value: UNetValue = {
      ...unet,
      model: copy,
      source: `${unet.source} + ${lora.source} × ${args.strength}`,
      byteSize: () => moduleBytes(copy),
    };
    return { unet: value };
  },
});
