// Attention heads packed in the channel dimension ([B, T, H·D], what the q/k/v projections produce) and split out
// of it ([B, H, T, D], what `Ops.attention` takes), and multi-head attention written with the two: how every
// backend without a fused kernel computes `Ops.multiHeadAttention`.

import { checkMultiHeadAttention } from '../backends/shapes.ts';
import type { AttentionOptions, Ops } from './ops.ts';

/** [B, T, H·D] → [B, H, T, D]. */
export function splitHeads<T>(ops: Ops<T>, x: T, heads: number): T {
  const [b, t, c] = ops.shape(x) as [number, number, number];
  return ops.transpose(ops.reshape(x, [b, t, heads, c / heads]), [0, 2, 1, 3]);
}

/** [B, H, T, D] → [B, T, H·D]. */
export function mergeHeads<T>(ops: Ops<T>, x: T): T {
  const [b, h, t, d] = ops.shape(x) as [number, number, number, number];
  return ops.reshape(ops.transpose(x, [0, 2, 1, 3]), [b, t, h * d]);
}

/** `ops.attention` over the heads of head-packed q, k, v: split, attend, merge. */
export function attentionOverHeads<T>(ops: Ops<T>, q: T, k: T, v: T, heads: number, options?: AttentionOptions): T {
  checkMultiHeadAttention(ops.shape(q), ops.shape(k), ops.shape(v), heads);
  return mergeHeads(ops, ops.attention(splitHeads(ops, q, heads), splitHeads(ops, k, heads), splitHeads(ops, v, heads), options));
}
