// Compiles the CLI into dist/ (one ES module per lazily loaded part, npm packages left as imports) so that
// `kosmos-g` starts in about a second instead of the 3+ s tsx spends loading the TypeScript sources (bench/cli).
// dist/ sits one folder below the repository root like engine/ and server/, so the modules' paths relative to
// their own file (the repository root, web/, package.json) still hold. dist/inputs.json lists the sources and
// when they were compiled: bin/kosmos-g.js falls back to the sources when any of them changed since.
// Run: npx tsx scripts/build-cli.ts [--outdir DIR]   (npm runs it on install: the "prepare" script)
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function buildCli(outdir = path.join(root, 'dist')): Promise<{ outdir: string; inputs: string[] }> {
  const started = Date.now();
  const staging = `${outdir}.partial-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { cli: path.join(root, 'server', 'cli', 'compiled.ts') },
    outdir: staging,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    metafile: true,
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  const inputs = Object.keys(result.metafile.inputs).filter((f) => !f.includes('node_modules/')).sort();
  mkdirSync(staging, { recursive: true });
  writeFileSync(path.join(staging, 'inputs.json'), `${JSON.stringify({ compiledAt: started, inputs }, null, 1)}\n`);
  // Replace the previous build in one step: a launcher never sees half of one.
  const old = `${outdir}.old-${process.pid}`;
  rmSync(old, { recursive: true, force: true });
  try {
    renameSync(outdir, old);
  } catch {
    /* no previous build */
  }
  renameSync(staging, outdir);
  rmSync(old, { recursive: true, force: true });
  return { outdir, inputs };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--outdir');
  const { outdir, inputs } = await buildCli(i > 0 ? path.resolve(process.argv[i + 1]!) : undefined);
  console.log(`compiled the CLI from ${inputs.length} sources into ${path.relative(process.cwd(), outdir) || outdir}`);
}
