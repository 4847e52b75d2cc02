// Engine overhead: validate + plan a generated 1,000-node workflow (goal < 50 ms) and per-node execution
// overhead for trivial nodes (goal < 0.1 ms). Not a timed test: it prints a table.
// Run: npx tsx bench/engine/main.ts [nodes]
import { defineNode, definePack } from '../../engine/node-def.ts';
import { Registry } from '../../engine/registry.ts';
import { parseWorkflow, type Workflow } from '../../engine/format.ts';
import { validateWorkflow } from '../../engine/validate.ts';
import { compileWorkflow } from '../../engine/compile.ts';
import { planRun } from '../../engine/plan.ts';
import { Executor } from '../../engine/execute.ts';

const N = Number(process.argv[2] ?? 1000);

const pack = definePack('bench', [
  defineNode({
    type: 'Value',
    category: 'bench',
    description: 'a number',
    inputs: {},
    widgets: { value: { kind: 'FLOAT', default: 0 } },
    outputs: { value: { type: 'FLOAT' } },
    execute: ({ value }) => ({ value }),
  }),
  defineNode({
    type: 'Sum',
    category: 'bench',
    description: 'a + b',
    inputs: { a: { type: 'FLOAT' }, b: { type: 'FLOAT' } },
    widgets: { scale: { kind: 'FLOAT', default: 1, min: -10, max: 10 }, mode: { kind: 'ENUM', options: ['x', 'y'], default: 'x' } },
    outputs: { value: { type: 'FLOAT' } },
    execute: ({ a, b, scale }) => ({ value: (a + b) * scale }),
  }),
  defineNode({
    type: 'Sink',
    category: 'bench',
    description: 'output',
    inputs: { value: { type: 'FLOAT' } },
    widgets: {},
    outputs: { value: { type: 'FLOAT' } },
    output: true,
    execute: ({ value }) => ({ value }),
  }),
]);

/** A layered DAG: 10 value nodes, then Sum nodes each reading two earlier nodes, then one sink. */
function generate(n: number): unknown {
  const nodes: unknown[] = [];
  const link = (i: number) => ({ node: `n${i}`, output: 'value' });
  for (let i = 0; i < n - 1; i++) {
    if (i < 10) nodes.push({ id: `n${i}`, type: 'Value', widgets: { value: i }, pos: [0, i * 80], size: [200, 60] });
    else nodes.push({ id: `n${i}`, type: 'Sum', widgets: { scale: 0.5 }, inputs: { a: link(i - 1), b: link((i * 7919) % i) }, pos: [i * 10, 0], size: [200, 80] });
  }
  nodes.push({ id: 'sink', type: 'Sink', inputs: { value: link(n - 2) } });
  return { format: 'kosmos-g/workflow', version: 1, nodes };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median wall time in ms; also records the median CPU time (less disturbed by other processes on shared cores). */
const cpuOf = new Map<number, number>();
function time(fn: () => void, repeats: number): number {
  const samples: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const wall = median(samples);
  cpuOf.set(wall, median(cpu));
  return wall;
}
const cpu = (wall: number) => `cpu ${(cpuOf.get(wall) ?? NaN).toFixed(2)} ms`;

const registry = new Registry();
registry.add(pack);
const raw = generate(N);
const text = JSON.stringify(raw);
let wf!: Workflow;

const rows: [string, string, string][] = [];
const parseMs = time(() => void (wf = parseWorkflow(text)), 15);
const validateMs = time(() => void validateWorkflow(wf, registry), 15);
const planMs = time(() => {
  const { graph } = compileWorkflow(wf, registry);
  planRun(graph, graph.outputNodes);
}, 15);
const allMs = time(() => {
  const w = parseWorkflow(text);
  validateWorkflow(w, registry);
  const { graph } = compileWorkflow(w, registry);
  planRun(graph, graph.outputNodes);
}, 15);
rows.push([`parse ${N}-node workflow (${(text.length / 1024).toFixed(0)} KiB)`, `${parseMs.toFixed(2)} ms`, cpu(parseMs)]);
rows.push([`validate ${N} nodes`, `${validateMs.toFixed(2)} ms`, cpu(validateMs)]);
rows.push([`compile + plan (keys) ${N} nodes`, `${planMs.toFixed(2)} ms`, cpu(planMs)]);
rows.push([`parse + validate + plan ${N} nodes`, `${allMs.toFixed(2)} ms`, `${cpu(allMs)}; ${allMs < 50 ? 'goal < 50 ms: met' : 'goal < 50 ms: MISSED'}`]);

const executor = new Executor(registry, { log: () => undefined });
const coldSamples: number[] = [];
const warmSamples: number[] = [];
for (let i = 0; i < 7; i++) {
  executor.clearCache();
  let t0 = performance.now();
  const cold = await executor.run(wf, { onEvent: () => undefined });
  coldSamples.push(performance.now() - t0);
  if (cold.status !== 'ok') throw new Error(JSON.stringify(cold.errors));
  t0 = performance.now();
  await executor.run(wf, { onEvent: () => undefined });
  warmSamples.push(performance.now() - t0);
}
const cold = median(coldSamples);
const warm = median(warmSamples);
// Overhead per node: the whole run (validation and planning included) minus nothing: trivial nodes do ~no work.
const perNode = (cold - allMs) / N;
rows.push([`run ${N} trivial nodes, all executed`, `${cold.toFixed(2)} ms`, `${(cold / N).toFixed(4)} ms/node incl. validate+plan`]);
rows.push([`  execution overhead per node (run − validate/plan)`, `${perNode.toFixed(4)} ms`, perNode < 0.1 ? 'goal < 0.1 ms: met' : 'goal < 0.1 ms: MISSED']);
rows.push([`rerun unchanged (all ${N} cached)`, `${warm.toFixed(2)} ms`, `${(warm / N).toFixed(4)} ms/node`]);

const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
console.log(`engine overhead (node ${process.version}, median of repeats, load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)})`);
console.log(`${'measure'.padEnd(w0)}  ${'time'.padStart(w1)}  note`);
for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
