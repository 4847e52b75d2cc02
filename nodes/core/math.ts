// Small arithmetic nodes: enough to build and exercise graphs before the models exist.
import { defineNode } from '../../engine/node-def.ts';
import { KosmosError } from '../../engine/errors.ts';
import { hostTensor, type HostTensor } from '../../models/ops/ops.ts';
import './types.ts';

export const Arithmetic = defineNode({
  type: 'Arithmetic',
  category: 'core/math',
  description: 'a (op) b on numbers. Link Int/Float outputs into a or b to chain them.',
  inputs: {},
  widgets: {
    a: { kind: 'FLOAT', default: 0 },
    b: { kind: 'FLOAT', default: 0 },
    op: { kind: 'ENUM', options: ['add', 'sub', 'mul', 'div', 'min', 'max', 'pow'], default: 'add' },
  },
  outputs: { result: { type: 'FLOAT' } },
  execute: ({ a, b, op }, ctx) => {
    const result = op === 'add' ? a + b : op === 'sub' ? a - b : op === 'mul' ? a * b : op === 'div' ? a / b : op === 'min' ? Math.min(a, b) : op === 'max' ? Math.max(a, b) : a ** b;
    if (!Number.isFinite(result)) throw new KosmosError('MATH_NOT_FINITE', `node "${ctx.nodeId}": ${a} ${op} ${b} is not a finite number`, { exitCode: 1 });
    return { result };
  },
});

export const TensorMath = defineNode({
  type: 'TensorMath',
  category: 'core/tensor',
  description: 'Elementwise a + b, a - b or a * b (b of the same shape or a single value), or a * scale.',
  inputs: { a: { type: 'TENSOR' }, b: { type: 'TENSOR', optional: true } },
  widgets: {
    op: { kind: 'ENUM', options: ['add', 'sub', 'mul', 'scale'], default: 'scale' },
    scale: { kind: 'FLOAT', default: 1 },
  },
  outputs: { tensor: { type: 'TENSOR' } },
  execute: ({ a, b, op, scale }, ctx) => {
    const out = new Float32Array(a.data.length);
    if (op === 'scale') {
      for (let i = 0; i < out.length; i++) out[i] = a.data[i]! * scale;
      return { tensor: hostTensor(out, a.shape) };
    }
    if (b === undefined) throw new KosmosError('MISSING_INPUT', `node "${ctx.nodeId}": op "${op}" needs input b`, { exitCode: 1 });
    const scalar = b.data.length === 1;
    if (!scalar && !sameShape(a, b)) {
      throw new KosmosError('TENSOR_SHAPE', `node "${ctx.nodeId}": shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`, { exitCode: 1 });
    }
    for (let i = 0; i < out.length; i++) {
      const x = a.data[i]!;
      const y = b.data[scalar ? 0 : i]!;
      out[i] = op === 'add' ? x + y : op === 'sub' ? x - y : x * y;
    }
    return { tensor: hostTensor(out, a.shape) };
  },
});

function sameShape(a: HostTensor, b: HostTensor): boolean {
  return a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
}

export const PreviewValue = defineNode({
  type: 'PreviewValue',
  category: 'core/output',
  description: 'Shows any value: the run result (and `kosmos-g run --json`) lists it under this node.',
  inputs: { value: { type: '*' } },
  widgets: {},
  outputs: { value: { type: '*' } },
  output: true,
  execute: ({ value }) => ({ value }),
});

/** One line describing a value for logs and previews. */
export function describeValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
  if (typeof value === 'object' && value !== null) {
    const v = value as { shape?: unknown; batch?: unknown; width?: unknown; height?: unknown };
    if (Array.isArray(v.shape)) return `tensor [${v.shape.join(', ')}]`;
    if (typeof v.batch === 'number') return `image ${String(v.batch)}×${String(v.width)}×${String(v.height)}`;
  }
  return typeof value;
}
