// The scheduler registry: one entry point for the diffusion nodes. `createScheduler('dpmsolver++', config,
// { steps: 50 })` gives a fresh, stateful instance for one sampling run.

import { DdimScheduler, type DdimOptions } from './ddim.ts';
import { DpmSolverMultistepScheduler, type DpmSolverOptions } from './dpmsolver.ts';
import { EulerDiscreteScheduler } from './euler.ts';
import { PndmScheduler } from './pndm.ts';
import { SchedulerError, type SchedulerConfig } from './schedule.ts';
import { SCHEDULER_NAMES, type Scheduler, type SchedulerName } from './scheduler.ts';

/** Options of every scheduler together; each reads its own (steps defaults to 50, SD 1.5's default). */
export type SchedulerOptions = Partial<Omit<DdimOptions, 'steps'> & Omit<DpmSolverOptions, 'steps'>> & { steps?: number };

export function createScheduler(name: SchedulerName, config: Partial<SchedulerConfig> = {}, options: SchedulerOptions = {}): Scheduler {
  const steps = options.steps ?? 50;
  switch (name) {
    case 'ddim':
      return new DdimScheduler(config, { steps, ...pick(options, ['eta', 'seed']) });
    case 'dpmsolver++':
      return new DpmSolverMultistepScheduler(config, {
        steps,
        ...pick(options, ['solverOrder', 'solverType', 'lowerOrderFinal', 'finalSigma']),
      });
    case 'euler':
      return new EulerDiscreteScheduler(config, { steps });
    case 'pndm':
      return new PndmScheduler(config, { steps });
    default:
      throw new SchedulerError(
        'UNKNOWN_SCHEDULER',
        `unknown scheduler '${String(name)}': expected one of ${SCHEDULER_NAMES.join(', ')}`,
      );
  }
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

export { DdimScheduler } from './ddim.ts';
export { DpmSolverMultistepScheduler } from './dpmsolver.ts';
export { EulerDiscreteScheduler, interpolateSigma, trainingSigmas } from './euler.ts';
export { PndmScheduler } from './pndm.ts';
export { checkSupported, unsupportedSettings, withoutUnsupported } from './applicable.ts';
export { KARRAS_RHO, karrasSigmas, sigmaToTimestep } from './karras.ts';
export { noiseFromOutput, originalFromOutput } from './prediction.ts';
export { SCHEDULER_PRESET_NAMES, SCHEDULER_PRESETS, type SchedulerPreset, type SchedulerPresetName } from './presets.ts';
export {
  addNoise,
  alphasCumprod,
  alphasCumprodForSigmas,
  betas,
  PREDICTION_TYPES,
  resolveConfig,
  SchedulerError,
  SD15_SCHEDULER_CONFIG,
  sigmaOf,
  ZERO_SNR_LAST_ALPHA_BAR,
  type PredictionType,
  type SchedulerConfig,
  type TimestepSpacing,
  type Vec,
} from './schedule.ts';
export { SCHEDULER_NAMES, type Scheduler, type SchedulerName } from './scheduler.ts';
export { ddimTimesteps, dpmTimesteps, eulerTimesteps, linspace, plmsTimesteps, roundHalfEven } from './spacing.ts';
