// Primitive values: a widget's value as an output, so one value can feed several nodes' inputs or widgets.
import { defineNode } from '../../engine/node-def.ts';

export const IntValue = defineNode({
  type: 'Int',
  category: 'core/values',
  description: 'An integer value.',
  inputs: {},
  widgets: { value: { kind: 'INT', default: 0, min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER, step: 1 } },
  outputs: { value: { type: 'INT' } },
  execute: ({ value }) => ({ value }),
});

export const FloatValue = defineNode({
  type: 'Float',
  category: 'core/values',
  description: 'A floating-point value.',
  inputs: {},
  widgets: { value: { kind: 'FLOAT', default: 0, step: 0.01 } },
  outputs: { value: { type: 'FLOAT' } },
  execute: ({ value }) => ({ value }),
});

export const StringValue = defineNode({
  type: 'String',
  category: 'core/values',
  description: 'A text value (multi-line), e.g. a prompt shared by several nodes.',
  inputs: {},
  widgets: { value: { kind: 'STRING', default: '', multiline: true } },
  outputs: { value: { type: 'STRING' } },
  execute: ({ value }) => ({ value }),
});

export const BooleanValue = defineNode({
  type: 'Boolean',
  category: 'core/values',
  description: 'A true/false value.',
  inputs: {},
  widgets: { value: { kind: 'BOOLEAN', default: false } },
  outputs: { value: { type: 'BOOLEAN' } },
  execute: ({ value }) => ({ value }),
});

export const SeedValue = defineNode({
  type: 'Seed',
  category: 'core/values',
  description: 'A random seed (an integer in [0, 2^53)) shared by several samplers.',
  inputs: {},
  widgets: { seed: { kind: 'SEED', default: 0 } },
  outputs: { seed: { type: 'INT' } },
  execute: ({ seed }) => ({ seed }),
});

export const primitiveNodes = [IntValue, FloatValue, StringValue, BooleanValue, SeedValue];
