// The CLI delivers all of its output before it exits, through a real pipe, on stdout and on stderr: a validation
// with 15,000 errors writes more than 1 MiB, far past a pipe's 64 KiB buffer (exiting without waiting for the
// pipe to drain cut such output at 64 KiB).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const ERRORS = 15_000;
const RUNS = 3;

/** Runs the CLI with piped stdout and stderr, reading them as a consumer would; resolves with all it read. */
function cli(args: string[]): Promise<{ code: number | null; stdout: Buffer; stderr: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'kosmos-g.js'), ...args], {
      env: { ...process.env, KOSMOS_G_BUILTINS: 'core' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }));
  });
}

test(`piped output over 1 MiB arrives whole, ${RUNS} runs each on stdout (--json) and stderr`, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kg-pipe-'));
  try {
    const nodes = Array.from({ length: ERRORS }, (_, i) => ({ id: `n${i}`, type: 'NoSuchNodeTypeAnywhere' }));
    const file = path.join(dir, 'many-errors.json');
    writeFileSync(file, JSON.stringify({ format: 'kosmos-g/workflow', version: 1, nodes }));
    for (let run = 0; run < RUNS; run++) {
      const json = await cli(['validate', file, '--json']);
      assert.equal(json.code, 2);
      assert.ok(json.stdout.length > 1024 * 1024, `${json.stdout.length} bytes`);
      const report = JSON.parse(json.stdout.toString('utf8'));
      assert.equal(report.valid, false);
      assert.equal(report.errors.filter((e: { code: string }) => e.code === 'UNKNOWN_NODE_TYPE').length, ERRORS);

      const text = await cli(['validate', file]);
      assert.equal(text.code, 2);
      assert.ok(text.stderr.length > 1024 * 1024, `${text.stderr.length} bytes`);
      const lines = text.stderr.toString('utf8').split('\n');
      assert.equal(lines.at(-1), '', 'the last line is complete');
      assert.equal(lines.filter((l) => l.startsWith('UNKNOWN_NODE_TYPE ')).length, ERRORS);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
