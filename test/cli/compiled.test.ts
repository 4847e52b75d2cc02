// The compiled CLI (dist/, scripts/build-cli.ts) stands in for the sources only while it is up to date and no
// plugin is asked for, and then answers exactly as the sources do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
// @ts-expect-error: a plain JavaScript module of the launcher, without type declarations
import { compiledEntry } from '../../bin/compiled.js';
import { buildCli } from '../../scripts/build-cli.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('compiledEntry: used when built and fresh; not when a source is newer, a plugin is asked for, or it is absent', () => {
  const fake = mkdtempSync(path.join(os.tmpdir(), 'kg-compiled-'));
  try {
    const env = {};
    assert.equal(compiledEntry(fake, ['nodes'], env, fake), undefined, 'nothing built');
    mkdirSync(path.join(fake, 'dist'));
    mkdirSync(path.join(fake, 'src'));
    writeFileSync(path.join(fake, 'src', 'a.ts'), '');
    const past = new Date(Date.now() - 60_000);
    utimesSync(path.join(fake, 'src', 'a.ts'), past, past);
    writeFileSync(path.join(fake, 'dist', 'cli.js'), '');
    writeFileSync(path.join(fake, 'dist', 'inputs.json'), JSON.stringify({ compiledAt: Date.now() - 1000, inputs: ['src/a.ts'] }));
    assert.equal(compiledEntry(fake, ['nodes'], env, fake)?.href, `file://${path.join(fake, 'dist', 'cli.js')}`);
    assert.equal(compiledEntry(fake, ['run', 'x.json', '--plugin', 'p'], env, fake), undefined, 'a plugin needs the sources');
    assert.equal(compiledEntry(fake, ['nodes'], { KOSMOS_G_PLUGINS: '/p' }, fake), undefined);
    assert.equal(compiledEntry(fake, ['nodes'], { KOSMOS_G_FROM_SOURCES: '1' }, fake), undefined);
    utimesSync(path.join(fake, 'src', 'a.ts'), new Date(), new Date());
    assert.equal(compiledEntry(fake, ['nodes'], env, fake), undefined, 'a source edited after the build');
    rmSync(path.join(fake, 'src', 'a.ts'));
    assert.equal(compiledEntry(fake, ['nodes'], env, fake), undefined, 'a source removed');
  } finally {
    rmSync(fake, { recursive: true, force: true });
  }
});

function run(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { cwd: root, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? -1), stdout, stderr });
    });
  });
}

test('the compiled CLI answers as the sources do: nodes --json, validate, a run', async () => {
  // Built beside dist/ (one folder below the root, as the modules' relative paths need), never over the dist/ that
  // other tests may be running.
  const outdir = path.join(root, `dist-test-${process.pid}`);
  const out = mkdtempSync(path.join(os.tmpdir(), 'kg-compiled-out-'));
  try {
    const { inputs } = await buildCli(outdir);
    assert.ok(inputs.includes('server/cli/main.ts') && inputs.includes('nodes/core/index.ts'), 'the bundle holds the CLI and the built-in packs');
    const entry = pathToFileURL(path.join(outdir, 'cli.js')).href;
    const compiled = (args: string[]) => run(['--input-type=module', '-e', `const { cli } = await import(${JSON.stringify(entry)}); await cli(${JSON.stringify(args)});`]);
    const sources = (args: string[]) => run([path.join(root, 'bin', 'kosmos-g.js'), ...args], { KOSMOS_G_FROM_SOURCES: '1' });
    const workflow = path.join(root, 'workflows', 'examples', 'arithmetic.json');
    for (const args of [['nodes', '--json'], ['validate', workflow, '--json'], ['run', workflow, '--json', '--quiet', '--out', out]]) {
      const [a, b] = await Promise.all([compiled(args), sources(args)]);
      assert.equal(a.code, b.code, `${args[0]}: ${a.stderr}`);
      const strip = (text: string) => JSON.stringify(JSON.parse(text), (k, v) => (k === 'seconds' ? 0 : v));
      assert.equal(strip(a.stdout), strip(b.stdout), `${args[0]} prints the same`);
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
});
