export { CancelledError, throwIfAborted } from './cancel.ts';
export { combineGuidance, concatBatch, initialLatents, sampleGuided, SamplingError, toBatch } from './guided.ts';
export type { GuidedSamplingOptions, PredictEps, SamplingStep } from './guided.ts';
