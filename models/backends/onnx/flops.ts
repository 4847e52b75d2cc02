// Theoretical FLOPs of a traced graph, for benchmarks: 2·m·n·k per matrix product (MatMul, Gemm),
// 2·(cin/groups·kh·kw) per output element of a convolution, and a fused attention's two products. Elementwise work
// is not counted: it is small next to these and bound by memory, not arithmetic.

import type { Graph } from './graph.ts';

export function graphFlops(graph: Graph): number {
  let flops = 0;
  for (const n of graph.nodes) {
    const out = graph.values.get(n.outputs[0]!)?.shape;
    const a = graph.values.get(n.inputs[0]!)?.shape;
    const b = graph.values.get(n.inputs[1] ?? '')?.shape;
    if (!out || !a) continue;
    const size = out.reduce((x, y) => x * y, 1);
    if (n.op === 'MatMul') flops += 2 * size * a[a.length - 1]!;
    else if (n.op === 'Gemm') flops += 2 * size * a[1]!;
    else if (n.op === 'Conv' && b) flops += 2 * size * b[1]! * b[2]! * b[3]!;
    // q·kᵀ and p·v over all heads: 2·B·Tq·Tk·(Ck + Cv), the Tk from the keys input.
    else if (n.op === 'MultiHeadAttention' && b) flops += 2 * a[0]! * a[1]! * b[1]! * (a[2]! + out[2]!);
  }
  return flops;
}
