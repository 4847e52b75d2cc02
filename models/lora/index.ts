// LoRA: parse kohya / diffusers / PEFT files, resolve module names against a model's real keys, merge or apply
// unmerged. See docs/schedulers.md ("LoRA") for the formats and the scale rule.
export { classifyLoraKey, LoraError, parseLora } from './parse.ts';
export type { LoraEntry, LoraFormat, LoraSet, LoraUnknown, ParseLoraOptions } from './parse.ts';
export { ModuleNameResolver, type LoraComponent } from './resolve.ts';
export { deltaWeight, loraDelta, loraScale, mergeLora, type MergeOptions, type MergeResult, type UnmergedLora } from './merge.ts';
