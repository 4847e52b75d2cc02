// CLI start-up, side by side with `node -e 0` (what any Node program pays): `nodes`, `validate` and a `run` up to
// its first node starting (the first progress line on stderr), from the compiled CLI (dist/, what `npm install`
// builds) and from the TypeScript sources through tsx (KOSMOS_G_FROM_SOURCES=1). Goals: validate/nodes < 1.5 s,
// first node of a run < 3 s. Not a timed test: it prints a table. Medians of a few repeats, wall clock.
// Run: npx tsx bench/cli/main.ts [repeats]   (builds dist/ first when it is missing or stale)
import { spawn } from 'node:child_process';
import { loadavg, cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a plain JavaScript module of the launcher, without type declarations
import { compiledEntry } from '../../bin/compiled.js';
import { buildCli } from '../../scripts/build-cli.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const REPEATS = Number(process.argv[2] ?? 5);
const BIN = path.join(root, 'bin', 'kosmos-g.js');
const GENERATE = path.join(root, 'workflows', 'generate.json');

/** Seconds from spawn until exit, or until `until` matches stderr (then the process is killed). */
function time(args: string[], env: Record<string, string>, until?: RegExp): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    let done = false;
    child.stderr.on('data', (d) => {
      err += d;
      if (until && !done && until.test(err)) {
        done = true;
        resolve((performance.now() - started) / 1000);
        child.kill('SIGKILL');
      }
    });
    child.on('exit', (code) => {
      if (done) return;
      if (until) reject(new Error(`${args.join(' ')} ended (${code}) before ${until}: ${err.slice(-500)}`));
      else if (code !== 0) reject(new Error(`${args.join(' ')} exited ${code}: ${err.slice(-500)}`));
      else resolve((performance.now() - started) / 1000);
    });
  });
}

async function median(args: string[], env: Record<string, string> = {}, until?: RegExp): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < REPEATS; i++) xs.push(await time(args, env, until));
  xs.sort((a, b) => a - b);
  return xs[Math.floor(xs.length / 2)]!;
}

if (compiledEntry(root, ['nodes']) === undefined) {
  const { inputs } = await buildCli();
  console.log(`(built dist/ from ${inputs.length} sources)`);
}
const baseline = await median(['-e', '0']);
const rows: [string, number, number, number][] = [];
const firstNode = /^\[1\/\d+\] /m;
for (const [name, args, until, goal] of [
  ['nodes', [BIN, 'nodes'], undefined, 1.5],
  ['validate generate.json', [BIN, 'validate', GENERATE], undefined, 1.5],
  ['run generate.json → first node', [BIN, 'run', GENERATE, '--out', path.join(root, '.cache', 'bench-cli')], firstNode, 3],
] as const) {
  const compiled = await median([...args], {}, until);
  const sources = await median([...args], { KOSMOS_G_FROM_SOURCES: '1' }, until);
  rows.push([name, compiled, sources, goal]);
}

console.log(`CLI start-up (node ${process.version}, ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}, median of ${REPEATS}, wall clock)`);
const w = 32;
console.log(`${'command'.padEnd(w)}  ${'compiled'.padStart(9)}  ${'sources'.padStart(9)}  ${'node -e 0'.padStart(9)}  ${'compiled ÷ node'.padStart(15)}  goal`);
for (const [name, compiled, sources, goal] of rows) {
  const s = (v: number) => `${v.toFixed(2)} s`.padStart(9);
  console.log(`${name.padEnd(w)}  ${s(compiled)}  ${s(sources)}  ${s(baseline)}  ${`${(compiled / baseline).toFixed(1)}×`.padStart(15)}  < ${goal} s ${compiled < goal ? 'met' : 'NOT met'}`);
}
