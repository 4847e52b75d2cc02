// Sampler presets under the names SD front ends use (A1111, ComfyUI): a scheduler and the config settings that
// make it that sampler. "DPM++ 2M Karras" is the most used SD 1.5 setting.

import type { SchedulerConfig } from './schedule.ts';
import type { SchedulerName } from './scheduler.ts';

export interface SchedulerPreset {
  name: SchedulerName;
  config: Partial<SchedulerConfig>;
}

const PRESETS = {
  'DPM++ 2M': { name: 'dpmsolver++', config: { useKarrasSigmas: false } },
  'DPM++ 2M Karras': { name: 'dpmsolver++', config: { useKarrasSigmas: true } },
  Euler: { name: 'euler', config: { useKarrasSigmas: false } },
  'Euler Karras': { name: 'euler', config: { useKarrasSigmas: true } },
  DDIM: { name: 'ddim', config: {} },
  PLMS: { name: 'pndm', config: {} },
} as const satisfies Record<string, SchedulerPreset>;

export type SchedulerPresetName = keyof typeof PRESETS;
export const SCHEDULER_PRESETS: Readonly<Record<SchedulerPresetName, SchedulerPreset>> = PRESETS;
export const SCHEDULER_PRESET_NAMES = Object.keys(SCHEDULER_PRESETS) as SchedulerPresetName[];
