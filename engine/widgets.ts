// Widget values: the type, range and enum rules shared by workflow validation and definition checks, and the
// widget→input conversion rule (which socket types may feed a widget through a link).
import type { WidgetSpec } from './node-def.ts';

/** The largest seed: seeds are integers in [0, 2^53). */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;

export interface WidgetProblem {
  code: 'WIDGET_TYPE' | 'WIDGET_RANGE' | 'WIDGET_ENUM';
  message: string;
}

/** Check one widget value against its spec; undefined when it is acceptable. */
export function checkWidgetValue(spec: WidgetSpec, value: unknown): WidgetProblem | undefined {
  switch (spec.kind) {
    case 'INT':
    case 'SEED':
    case 'FLOAT': {
      if (typeof value !== 'number') return { code: 'WIDGET_TYPE', message: `expected a number (${spec.kind}), got ${describe(value)}` };
      if (!Number.isFinite(value)) return { code: 'WIDGET_RANGE', message: `${value} is not a finite number` };
      if (spec.kind !== 'FLOAT' && !Number.isInteger(value)) return { code: 'WIDGET_TYPE', message: `expected an integer, got ${value}` };
      if (spec.kind !== 'FLOAT' && !Number.isSafeInteger(value)) return { code: 'WIDGET_RANGE', message: `${value} is beyond the exact integer range (±2^53)` };
      const min = spec.kind === 'SEED' ? 0 : spec.min;
      const max = spec.kind === 'SEED' ? MAX_SEED : spec.max;
      if (min !== undefined && value < min) return { code: 'WIDGET_RANGE', message: `${value} is below the minimum ${min}` };
      if (max !== undefined && value > max) return { code: 'WIDGET_RANGE', message: `${value} is above the maximum ${max}` };
      return undefined;
    }
    case 'STRING':
    case 'PATH':
      return typeof value === 'string' ? undefined : { code: 'WIDGET_TYPE', message: `expected a string, got ${describe(value)}` };
    case 'BOOLEAN':
      return typeof value === 'boolean' ? undefined : { code: 'WIDGET_TYPE', message: `expected true or false, got ${describe(value)}` };
    case 'ENUM':
      if (typeof value !== 'string') return { code: 'WIDGET_TYPE', message: `expected one of ${spec.options.map((o) => JSON.stringify(o)).join(', ')}, got ${describe(value)}` };
      return spec.options.includes(value)
        ? undefined
        : { code: 'WIDGET_ENUM', message: `${JSON.stringify(value)} is not one of ${spec.options.map((o) => JSON.stringify(o)).join(', ')}` };
  }
}

/** Socket types a link into a widget may carry: the widget's own kind; SEED and FLOAT take INT, ENUM and PATH take STRING. */
export function socketTypesForWidget(spec: WidgetSpec): readonly string[] {
  switch (spec.kind) {
    case 'SEED':
      return ['SEED', 'INT'];
    case 'FLOAT':
      return ['FLOAT', 'INT']; // every integer is a float

    case 'ENUM':
    case 'PATH':
      return [spec.kind, 'STRING'];
    default:
      return [spec.kind];
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'a list' : 'an object';
  return `${typeof value} ${String(value)}`;
}
