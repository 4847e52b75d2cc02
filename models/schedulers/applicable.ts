// Which scheduler implements which optional setting. diffusers' classes take different config keys (Karras σ
// only in the σ-based solvers, clip_sample only in DDIM, no zero-SNR rescaling in PNDM) and `from_config` drops
// the keys a class does not take; here a scheduler built with a setting it cannot honour is an error, and
// `withoutUnsupported` drops such settings explicitly, saying which, for configs read from a model folder.

import { SchedulerError, type SchedulerConfig } from './schedule.ts';
import type { SchedulerName } from './scheduler.ts';

type Optional = 'useKarrasSigmas' | 'rescaleBetasZeroSnr' | 'clipSample';

const SUPPORTED: Record<SchedulerName, readonly Optional[]> = {
  ddim: ['rescaleBetasZeroSnr', 'clipSample'],
  'dpmsolver++': ['useKarrasSigmas', 'rescaleBetasZeroSnr'],
  euler: ['useKarrasSigmas', 'rescaleBetasZeroSnr'],
  pndm: [],
};

const LABEL: Record<Optional, string> = {
  useKarrasSigmas: 'Karras sigmas (use_karras_sigmas)',
  rescaleBetasZeroSnr: 'zero-SNR rescaling (rescale_betas_zero_snr)',
  clipSample: 'clip_sample',
};

const DISPLAY: Record<SchedulerName, string> = { ddim: 'DDIM', 'dpmsolver++': 'DPM-Solver++', euler: 'Euler', pndm: 'PNDM' };

/** The optional settings `config` turns on that scheduler `name` does not implement. */
export function unsupportedSettings(name: SchedulerName, config: Partial<SchedulerConfig>): Optional[] {
  return (Object.keys(LABEL) as Optional[]).filter((k) => config[k] === true && !SUPPORTED[name].includes(k));
}

/** Throws BAD_SCHEDULER_OPTION when `config` turns on a setting scheduler `name` does not implement. */
export function checkSupported(name: SchedulerName, config: Partial<SchedulerConfig>): void {
  const bad = unsupportedSettings(name, config);
  if (bad.length) {
    const which = bad.map((k) => LABEL[k]).join(', ');
    throw new SchedulerError('BAD_SCHEDULER_OPTION', `${DISPLAY[name]} does not implement ${which}; ${supportersOf(bad[0]!)} do`);
  }
}

/** `config` without the settings scheduler `name` does not implement, and a sentence for each one dropped. */
export function withoutUnsupported(name: SchedulerName, config: Partial<SchedulerConfig>): { config: Partial<SchedulerConfig>; dropped: string[] } {
  const bad = unsupportedSettings(name, config);
  const kept = { ...config };
  for (const k of bad) delete kept[k];
  return { config: kept, dropped: bad.map((k) => `${LABEL[k]} is ignored: ${DISPLAY[name]} does not implement it (${supportersOf(k)} do)`) };
}

function supportersOf(k: Optional): string {
  return (Object.keys(SUPPORTED) as SchedulerName[])
    .filter((n) => SUPPORTED[n].includes(k))
    .map((n) => DISPLAY[n])
    .join(' and ');
}
