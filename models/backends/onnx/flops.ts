// Theoretical FLOPs of a traced graph, for benchmarks: 2·m·n·k per matrix product (MatMul, Gemm) and
// 2·(cin/groups·kh·kw) per output element of a convolution. Elementwise work is not counted: it is small next to
// these and bound by memory, not arithmetic.

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
  }
  return flops;
}
