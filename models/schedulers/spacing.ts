// Which training timesteps a run of n inference steps visits (spec §3.5, diffusers `set_timesteps`). Each
// scheduler class has its own default spacing and its own small variations; they are all here so the lists can
// be compared side by side. Lists run from noisy (high t) to clean (low t).

import { SchedulerError, type TimestepSpacing } from './schedule.ts';

/** numpy's `round`: halves go to the even neighbour. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v - Math.trunc(v)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** numpy `linspace(start, stop, n)` (the last value is exactly `stop`). */
export function linspace(start: number, stop: number, n: number): number[] {
  if (n === 1) return [start];
  const step = (stop - start) / (n - 1);
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? stop : start + i * step));
}

/** numpy `arange(start, stop, step)` for a negative step. */
function arangeDown(start: number, stop: number, step: number): number[] {
  const n = Math.ceil((stop - start) / step);
  return Array.from({ length: n }, (_, i) => start + i * step);
}

export function checkSteps(n: number, trainSteps: number, where: string): void {
  if (!Number.isInteger(n) || n < 1 || n > trainSteps) {
    throw new SchedulerError('BAD_STEPS', `${where}: steps must be an integer in [1, ${trainSteps}], got ${n}`);
  }
}

/**
 * DDIM (and DDPM) integer timesteps. leading: r = T // n, t = reversed(arange(n)·r) + offset; linspace: rounded
 * linspace(0, T−1, n) reversed; trailing: round(arange(T, 0, −T/n)) − 1.
 */
export function ddimTimesteps(n: number, trainSteps: number, spacing: TimestepSpacing, stepsOffset: number): number[] {
  checkSteps(n, trainSteps, 'DDIM timesteps');
  switch (spacing) {
    case 'leading': {
      const r = Math.floor(trainSteps / n);
      return Array.from({ length: n }, (_, i) => (n - 1 - i) * r + stepsOffset);
    }
    case 'linspace':
      return linspace(0, trainSteps - 1, n).map(roundHalfEven).reverse();
    case 'trailing':
      return arangeDown(trainSteps, 0, -trainSteps / n).map((t) => roundHalfEven(t) - 1);
  }
}

/**
 * Euler float timesteps. linspace keeps the floats of linspace(0, T−1, n) (σ is interpolated between table
 * entries); leading and trailing are integers as for DDIM.
 */
export function eulerTimesteps(n: number, trainSteps: number, spacing: TimestepSpacing, stepsOffset: number): number[] {
  checkSteps(n, trainSteps, 'Euler timesteps');
  if (spacing === 'linspace') return linspace(0, trainSteps - 1, n).reverse();
  return ddimTimesteps(n, trainSteps, spacing, stepsOffset);
}

/**
 * DPM-Solver multistep timesteps (diffusers 0.21.4). linspace: round(linspace(0, T−1, n+1)) reversed without its
 * last value (so 0 is never visited: the final step goes *to* 0); leading uses r = T // (n+1); duplicates from
 * rounding are dropped keeping the first occurrence.
 */
export function dpmTimesteps(n: number, trainSteps: number, spacing: TimestepSpacing, stepsOffset: number): number[] {
  checkSteps(n, trainSteps, 'DPM-Solver timesteps');
  let ts: number[];
  switch (spacing) {
    case 'linspace':
      ts = linspace(0, trainSteps - 1, n + 1).map(roundHalfEven).reverse().slice(0, -1);
      break;
    case 'leading': {
      const r = Math.floor(trainSteps / (n + 1));
      ts = Array.from({ length: n + 1 }, (_, i) => (n - i) * r + stepsOffset).slice(0, -1);
      break;
    }
    case 'trailing':
      ts = arangeDown(trainSteps, 0, -trainSteps / n).map((t) => roundHalfEven(t) - 1);
      break;
  }
  return ts.filter((t, i) => ts.indexOf(t) === i);
}

/**
 * PNDM with skip_prk_steps: the PLMS list. With ascending `_t` (leading: arange(n)·r + offset), the list is
 * reversed([_t[:-1], _t[-2], _t[-1]]): n + 1 entries, the second timestep duplicated (981, 961, 961, 941, …).
 */
export function plmsTimesteps(n: number, trainSteps: number, spacing: TimestepSpacing, stepsOffset: number): number[] {
  checkSteps(n, trainSteps, 'PNDM timesteps');
  let asc: number[];
  switch (spacing) {
    case 'leading': {
      const r = Math.floor(trainSteps / n);
      asc = Array.from({ length: n }, (_, i) => i * r + stepsOffset);
      break;
    }
    case 'linspace':
      asc = linspace(0, trainSteps - 1, n).map(roundHalfEven);
      break;
    case 'trailing':
      asc = arangeDown(trainSteps, 0, -trainSteps / n).map((t) => roundHalfEven(t) - 1).reverse();
      break;
  }
  if (asc.length < 2) return [...asc];
  return [...asc.slice(0, -1), asc[asc.length - 2]!, asc[asc.length - 1]!].reverse();
}
