// Small helpers for the kosmos tests: the tfjs runner and host-side comparisons.
import assert from 'node:assert/strict';
import type { HostTensor } from '../../models/ops/ops.ts';

export function maxAbsDiff(a: HostTensor, b: HostTensor): number {
  assert.deepEqual(a.shape, b.shape);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i]! - b.data[i]!));
  return m;
}

export function randomImage(batch: number, h: number, w: number, seed: number): Float32Array {
  const out = new Float32Array(batch * 3 * h * w);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 4294967296;
  }
  return out;
}

/** Row `t` of batch `b` of a [B, T, D] tensor. */
export function row(x: HostTensor, b: number, t: number): Float32Array {
  const [, T, D] = x.shape as [number, number, number];
  return (x.data as Float32Array).slice((b * T + t) * D, (b * T + t + 1) * D);
}
