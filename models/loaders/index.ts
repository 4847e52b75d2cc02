// SD 1.5 weight folders and files: diffusers folders, LDM single-file checkpoints, ONNX export layouts.
export { LoaderError } from './errors.ts';
export { detectDiffusersFolder, loadDiffusersComponent } from './diffusers-folder.ts';
export type { ComponentFiles, DiffusersComponent, DiffusersFolder, TokenizerFiles } from './diffusers-folder.ts';
export { findSchedulerConfigFile, loadSchedulerConfig, schedulerConfigFromDiffusers, type LoadedSchedulerConfig } from './scheduler-config.ts';
export { clipTextConfigFromTransformers, readClipTextConfig } from './text-encoder-config.ts';
export { parseJsonObject } from './json.ts';
export { diagnoseModelPath, type ComponentReport, type DoctorReport } from './doctor.ts';
export { convertLdmCheckpoint, isLdmCheckpoint, loadLdmCheckpoint, type ConvertedCheckpoint } from './ldm-checkpoint.ts';
export { mapLdmUnetKey, mapLdmUnetUnderscoreName } from './ldm-unet.ts';
export { countLdmUpBlocks, mapLdmVaeKey } from './ldm-vae.ts';
export { readOnnxSignature, signatureFromSession } from './onnx-signature.ts';
export {
  detectOnnxPipeline,
  floatFeed,
  halfBitsToFloat,
  latentFromEncoderOutput,
  pipelineLayoutFromSignatures,
  textIdsFeed,
  textEncoderLayout,
  timestepFeed,
  unetLayout,
  vaeDecoderLayout,
  vaeEncoderLayout,
} from './onnx-layout.ts';
export type { OnnxFeed, OnnxPipelineLayout, OnnxRole, TextEncoderLayout, UNetLayout, VaeDecoderLayout, VaeEncoderLayout } from './onnx-layout.ts';
export type { OnnxModelSignature, OnnxValueInfo } from './onnx-signature.ts';
