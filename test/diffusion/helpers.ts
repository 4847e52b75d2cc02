// Shared fixtures for the diffusion tests: seeded host tensors and a comparison that names the worst element.
import assert from 'node:assert/strict';
import { hostTensor, type HostTensor } from '../../models/ops/ops.ts';
import { randn } from '../../models/ops/random.ts';

export function randomHost(shape: number[], seed: number, scale = 1): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = randn(n, seed);
  if (scale !== 1) for (let i = 0; i < n; i++) d[i] *= scale;
  return hostTensor(d, shape);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  const d = maxAbsDiff(a, b);
  assert.ok(d <= tol, `${what}: max |Δ| ${d} > ${tol}`);
}

/** Replace every parameter under `prefix` with seeded noise (e.g. to make zero convs non-zero). */
export function randomize(params: [string, { size: number; set(d: Float32Array): void }][], prefix: string, seed: number, scale = 0.1): void {
  let s = seed;
  for (const [key, p] of params) {
    if (!key.startsWith(prefix)) continue;
    const d = randn(p.size, s++);
    for (let i = 0; i < d.length; i++) d[i] *= scale;
    p.set(d);
  }
}
