// Config files written by Python's json module may hold the bare tokens NaN, Infinity and -Infinity (diffusers
// saves DPMSolverMultistepScheduler's lambda_min_clipped as -Infinity), which JSON.parse rejects. They are read as
// the numbers they stand for; anything else that is not a JSON object is a BAD_JSON error naming the file.

import { LoaderError } from './errors.ts';

const PYTHON_NUMBER = /("(?:[^"\\]|\\.)*")|(-?Infinity|NaN)/g;
const MARK = '__kosmos_py_number__';

export function parseJsonObject(text: string, file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (first) {
    // Quote the bare tokens (strings are matched first and kept as they are), then turn them back into numbers.
    const quoted = text.replace(PYTHON_NUMBER, (m, str: string | undefined) => (str !== undefined ? m : `"${MARK}${m}"`));
    try {
      value = JSON.parse(quoted, (_k, v: unknown) => (typeof v === 'string' && v.startsWith(MARK) ? Number(v.slice(MARK.length)) : v));
    } catch {
      throw new LoaderError('BAD_JSON', `${file}: not valid JSON (${(first as Error).message})`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LoaderError('BAD_JSON', `${file}: expected a JSON object`);
  }
  return value as Record<string, unknown>;
}
