import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../server/cli/main.ts';
import type { CliIO } from '../../server/cli/io.ts';
import { toJsonValue } from '../../server/cli/json-values.ts';

// Only the core pack: these tests are about the CLI, and loading every model pack costs seconds per process.
process.env.KOSMOS_G_BUILTINS = 'core';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'kg-cli-'));

function write(name: string, content: unknown): string {
  const p = path.join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

const arithmetic = write('arith.json', {
  format: 'kosmos-g/workflow',
  version: 1,
  nodes: [
    { id: 'a', type: 'Int', widgets: { value: 6 } },
    { id: 'b', type: 'Float', widgets: { value: 2 } },
    { id: 'm', type: 'Arithmetic', widgets: { op: 'div' }, inputs: { a: { node: 'a', output: 'value' }, b: { node: 'b', output: 'value' } } },
    { id: 'show', type: 'PreviewValue', inputs: { value: { node: 'm', output: 'result' } } },
  ],
});
const invalid = write('invalid.json', {
  format: 'kosmos-g/workflow',
  version: 1,
  nodes: [
    { id: 'a', type: 'Int', widgets: { value: 'six' } },
    { id: 'x', type: 'NoSuchNode' },
    { id: 'show', type: 'PreviewValue' },
  ],
});

async function cli(args: string[], tty = false): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { stdout: (t) => void (out += t), stderr: (t) => void (err += t), tty };
  const code = await main(args, io);
  return { code, out, err };
}

const noStack = (text: string) => assert.doesNotMatch(text, /\n\s+at /, 'no stack trace');

test('run --json prints one object with exactly status, nodes, outputs, errors', async () => {
  const { code, out } = await cli(['run', arithmetic, '--json', '--out', path.join(dir, 'o1')]);
  assert.equal(code, 0);
  const job = JSON.parse(out);
  assert.deepEqual(Object.keys(job), ['status', 'nodes', 'outputs', 'errors']);
  assert.equal(job.status, 'ok');
  assert.deepEqual(Object.keys(job.nodes).sort(), ['a', 'b', 'm', 'show']);
  assert.equal(job.nodes.m.status, 'executed');
  assert.equal(typeof job.nodes.m.seconds, 'number');
  assert.deepEqual(job.outputs, { show: { files: [], values: { value: 3 } } });
  assert.deepEqual(job.errors, []);
});

test('--set overrides widgets, typed by the widget kind; a bad value is exit 2 with code node.input', async () => {
  const ok = await cli(['run', arithmetic, '--json', '--set', 'a.value=9', '--set=b.value=3']);
  assert.equal(JSON.parse(ok.out).outputs.show.values.value, 3);
  const bad = await cli(['run', arithmetic, '--set', 'a.value=nine']);
  assert.equal(bad.code, 2);
  assert.equal(bad.err, 'WIDGET_TYPE a.value: expected a number (INT), got the string "nine"\n');
  const huge = await cli(['run', arithmetic, '--set', 'a.value=1e400']);
  assert.match(huge.err, /^WIDGET_RANGE a\.value: Infinity is not a finite number/);
  const shape = await cli(['run', arithmetic, '--set', 'novalue']);
  assert.equal(shape.code, 2);
  assert.match(shape.err, /^USAGE: run: --set "novalue" must look like NODE_ID\.INPUT=VALUE/);
});

test('--batch runs one job per line sharing the cache; --json prints one object per job', async () => {
  const batch = write('jobs.jsonl', '{"a.value": 8}\n\n{"a.value": 8, "m.op": "mul"}\n{"b.value": 4}\n');
  const { code, out } = await cli(['run', arithmetic, '--batch', batch, '--json']);
  assert.equal(code, 0);
  const jobs = out.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(jobs.map((j) => j.outputs.show.values.value), [4, 16, 1.5]);
  const executed = (j: { nodes: Record<string, { status: string }> }) => Object.keys(j.nodes).filter((id) => j.nodes[id]!.status === 'executed').sort();
  assert.deepEqual(executed(jobs[0]), ['a', 'b', 'm', 'show']);
  assert.deepEqual(executed(jobs[1]), ['m', 'show'], 'only the changed widget and its descendants');
  assert.deepEqual(executed(jobs[2]), ['a', 'b', 'm', 'show']);
});

test('a bad batch line or a bad job stops the batch before anything runs or is written', async () => {
  const out = path.join(dir, 'never');
  const badJson = write('bad.jsonl', '{"a.value": 1}\n{oops\n[1]\n');
  const r1 = await cli(['run', arithmetic, '--batch', badJson, '--out', out]);
  assert.equal(r1.code, 2);
  assert.deepEqual(r1.err.trim().split('\n').map((l) => l.split(':')[0]), ['BATCH_INVALID ' + badJson, 'BATCH_INVALID ' + badJson]);
  assert.match(r1.err, /bad\.jsonl:2: not valid JSON/);
  const badValue = write('badvalue.jsonl', '{"a.value": 1}\n{"a.value": "x"}\n');
  const r2 = await cli(['run', arithmetic, '--batch', badValue, '--out', out, '--json']);
  assert.equal(r2.code, 2);
  const line = JSON.parse(r2.out);
  assert.equal(line.status, 'error');
  assert.match(line.errors[0].message, /job 2/);
  assert.equal(existsSync(out), false, 'nothing written');
});

test('validate: 0 when valid; 2 with every error; --json shape', async () => {
  assert.deepEqual(await cli(['validate', arithmetic]), { code: 0, out: `${arithmetic}: valid\n`, err: '' });
  const text = await cli(['validate', invalid]);
  assert.equal(text.code, 2);
  assert.deepEqual(text.err.trim().split('\n').sort(), [
    'MISSING_INPUT show.value: required input "value" (*) is not connected',
    'UNKNOWN_NODE_TYPE x: no node type "NoSuchNode" is installed',
    'WIDGET_TYPE a.value: expected a number (INT), got the string "six"',
  ]);
  const json = await cli(['validate', invalid, '--json']);
  assert.equal(json.code, 2);
  const parsed = JSON.parse(json.out);
  assert.equal(parsed.valid, false);
  assert.deepEqual(parsed.errors.map((e: { code: string }) => e.code).sort(), ['MISSING_INPUT', 'UNKNOWN_NODE_TYPE', 'WIDGET_TYPE']);
  assert.deepEqual(Object.keys(parsed.errors.find((e: { code: string }) => e.code === 'WIDGET_TYPE')), ['code', 'node', 'input', 'message']);
  assert.deepEqual(JSON.parse((await cli(['validate', arithmetic, '--json'])).out), { valid: true, errors: [] });
});

test('bad files: malformed JSON, wrong format, missing, a folder, deep nesting → exit 2, one line, no stack', async () => {
  const cases: [string, RegExp][] = [
    [write('malformed.json', '{"format": "kosmos-g/workflow", '), /^WORKFLOW_JSON: .*malformed\.json: not valid JSON/],
    [write('format.json', { format: 'other', version: 1, nodes: [] }), /^WORKFLOW_FORMAT format: /],
    [write('unknown-field.json', { format: 'kosmos-g/workflow', version: 1, nodes: [], links: [] }), /^WORKFLOW_SCHEMA: unknown field\(s\) "links"/],
    [write('deep.json', `{"format":"kosmos-g/workflow","version":1,"nodes":[],"extra":{"a":${'['.repeat(5000)}${']'.repeat(5000)}}}`), /^WORKFLOW_TOO_DEEP/],
    [path.join(dir, 'missing.json'), /^FILE_NOT_FOUND: .*missing\.json: no such workflow file/],
    [dir, /^FILE_UNREADABLE: .*is a folder/],
  ];
  for (const [file, pattern] of cases) {
    for (const command of ['run', 'validate']) {
      const r = await cli([command, file]);
      assert.equal(r.code, 2, `${command} ${file}`);
      assert.match(r.err, pattern);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      noStack(r.err);
    }
  }
});

test('flags and commands: unknown ones are exit 2; help is exit 0', async () => {
  assert.equal((await cli(['run', arithmetic, '--frobnicate'])).code, 2);
  assert.match((await cli(['run', arithmetic, '--frobnicate'])).err, /^USAGE: run: unknown flag --frobnicate/);
  assert.equal((await cli(['run'])).code, 2);
  assert.equal((await cli(['explode'])).code, 2);
  assert.equal((await cli(['serve', '--port', 'abc'])).code, 2);
  // Scale-out flags: a worker needs a Redis queue; a Redis beyond this machine needs a worker token.
  assert.match((await cli(['worker'])).err, /^USAGE: worker: --queue redis:\/\/HOST:PORT\/DB is required/);
  const badUrl = await cli(['worker', '--queue', 'http://127.0.0.1:6379']);
  assert.deepEqual([badUrl.code, badUrl.err.split(':')[0]], [2, 'BAD_QUEUE_URL']);
  const remote = await cli(['serve', '--port', '0', '--queue', 'redis://10.9.8.7:6379/0']);
  assert.deepEqual([remote.code, remote.err.split(':')[0]], [2, 'TOKEN_REQUIRED']);
  noStack(remote.err);
  assert.equal((await cli(['validate', arithmetic, '--json=yes'])).code, 2);
  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.out, /kosmos-g run WORKFLOW\.json/);
});

test('nodes --json is the catalogue; plain text lists categories', async () => {
  const json = await cli(['nodes', '--json']);
  assert.equal(json.code, 0);
  const catalogue = JSON.parse(json.out);
  const int = catalogue.nodes.find((n: { type: string }) => n.type === 'Int');
  assert.deepEqual(int.outputs, { value: { type: 'INT' } });
  assert.equal(catalogue.nodes.find((n: { type: string }) => n.type === 'SaveImage').output, true);
  const text = await cli(['nodes']);
  assert.match(text.out, /core\/values\n {2}Boolean/);
});

test('progress on stderr: a bar on a terminal, plain lines otherwise, none with --quiet', async () => {
  const tty = await cli(['run', arithmetic, '--set', 'a.value=100'], true);
  assert.match(tty.err, /\[#+-*\] \d\/4/);
  assert.match(tty.out, /^ok in [\d.]+ s \(4 executed, 0 cached\)\n {2}show\.value = 50\n$/);
  const plain = await cli(['run', arithmetic, '--set', 'a.value=101']);
  assert.equal(plain.out.split('\n')[0]!.startsWith('ok in'), true);
  assert.doesNotMatch(plain.err, /\r/, 'no carriage returns in a log');
  assert.deepEqual(plain.err.split('\n').filter((l) => l.startsWith('[')).map((l) => l.replace(/ (running|cached)$/, '')), [
    '[1/4] a (Int)', '[2/4] b (Float)', '[3/4] m (Arithmetic)', '[4/4] show (PreviewValue)',
  ]);
  const quiet = await cli(['run', arithmetic, '--set', 'a.value=102', '--quiet']);
  assert.equal(quiet.err, '');
});

/** The CLI as a real process with piped stdout and stderr; `onErr` sees stderr as it arrives. */
function spawnCli(args: string[], onErr?: (all: string, child: ReturnType<typeof spawn>) => void, detached = false) {
  const child = spawn(process.execPath, [path.join(root, 'bin', 'kosmos-g.js'), ...args], {
    cwd: dir,
    env: { ...process.env, KOSMOS_G_BUILTINS: 'core' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => {
    stderr += d;
    onErr?.(stderr, child);
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; at: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr, at: Date.now() })),
  );
  return { child, done };
}
const SLOW_PACK = path.join(root, 'test', 'cli', 'fixtures', 'slow-pack');

test('piped: a real process prints a line per node and its steps, then the summary on stdout', async () => {
  const steps = write('steps.json', { format: 'kosmos-g/workflow', version: 1, nodes: [{ id: 'work', type: 'Steps', widgets: { steps: 4, delayMs: 5 } }] });
  const { done } = spawnCli(['run', steps, '--plugin', SLOW_PACK]);
  const r = await done;
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stderr.split('\n');
  assert.ok(lines.includes('[1/1] work (Steps) running'), r.stderr);
  assert.ok(lines.some((l) => /^ +work 4\/4 100% loss=0\.25$/.test(l)), `the last step is always shown: ${r.stderr}`);
  assert.ok(lines.some((l) => /^ +work done in [\d.]+ s$/.test(l)), r.stderr);
  assert.match(r.stdout, /^ok in /);
});

test('Ctrl-C twice: the first asks the job to stop, the second quits at once even if the node ignores it', async () => {
  const ignoring = write('ignoring.json', { format: 'kosmos-g/workflow', version: 1, nodes: [{ id: 'deaf', type: 'IgnoresCancel' }] });
  let sentAt = 0;
  const { done } = spawnCli(['run', ignoring, '--plugin', SLOW_PACK], (all, child) => {
    if (all.includes('started') && sentAt === 0) {
      sentAt = -1;
      child.kill('SIGINT');
    }
    if (all.includes('cancelling') && sentAt === -1) {
      sentAt = Date.now();
      setTimeout(() => child.kill('SIGINT'), 200);
    }
  });
  const r = await done;
  assert.match(r.stderr, /cancelling \(Ctrl-C again to quit at once\)/);
  assert.equal(r.signal, 'SIGINT', `ended by the second Ctrl-C (code ${r.code}): ${r.stderr}`);
  assert.ok(r.at - sentAt < 3000, `quit ${r.at - sentAt} ms after the first Ctrl-C, not after the node's 30 s`);
});

test('Ctrl-C twice from a terminal quits at once even while a node blocks the event loop', async () => {
  const blocking = write('blocking.json', { format: 'kosmos-g/workflow', version: 1, nodes: [{ id: 'busy', type: 'BlocksLoop' }] });
  let sentAt = 0;
  // A terminal sends Ctrl-C to the whole foreground process group: the CLI in its own group, signalled as one.
  const { done } = spawnCli(['run', blocking, '--plugin', SLOW_PACK], (all, child) => {
    if (all.includes('started') && sentAt === 0) {
      sentAt = Date.now();
      setTimeout(() => process.kill(-child.pid!, 'SIGINT'), 300);
      setTimeout(() => process.kill(-child.pid!, 'SIGINT'), 600);
    }
  }, true);
  const r = await done;
  assert.ok(r.at - sentAt < 4000, `quit ${r.at - sentAt} ms after the presses, not after the node's 20 s (${r.code}/${r.signal}): ${r.stderr}`);
  assert.equal(r.signal, 'SIGTERM', `ended by the watchdog: ${r.code}/${r.signal}`);
});

test('exit codes from a real process: 0 ok, 1 a run failed, 2 invalid input', async () => {
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [path.join(root, 'bin', 'kosmos-g.js'), ...args], { cwd: dir }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? -1), stdout, stderr });
      });
    });
  const ok = await run(['run', arithmetic, '--json']);
  const failed = await run(['run', arithmetic, '--set', 'b.value=0', '--json']);
  const bad = await run(['validate', invalid]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(JSON.parse(ok.stdout).status, 'ok');
  assert.equal(failed.code, 1, failed.stderr);
  assert.deepEqual(JSON.parse(failed.stdout).errors, [{ code: 'MATH_NOT_FINITE', node: 'm', message: 'node "m": 6 div 0 is not a finite number' }]);
  assert.equal(bad.code, 2);
  noStack(bad.stderr);
  assert.deepEqual(readdirSync(dir).filter((n) => n === 'out'), [], 'runs without outputs create no folder');
});

test('Ctrl-C cancels the running job: status cancelled, exit 1', async () => {
  const slow = write('slow.json', { format: 'kosmos-g/workflow', version: 1, nodes: [{ id: 'loop', type: 'UntilCancelled' }] });
  const child = spawn(process.execPath, [path.join(root, 'bin', 'kosmos-g.js'), 'run', slow, '--json', '--plugin', path.join(root, 'test', 'cli', 'fixtures', 'slow-pack')], {
    cwd: dir,
    env: { ...process.env, KOSMOS_G_BUILTINS: 'core' },
  });
  let stdout = '';
  let stderr = '';
  let interrupted = false;
  child.stdout.on('data', (d) => (stdout += d));
  const code = await new Promise<number | null>((resolve) => {
    child.stderr.on('data', (d) => {
      stderr += d;
      if (stderr.includes('started') && !interrupted) {
        interrupted = true; // once: a second Ctrl-C quits at once (exit 130)
        child.kill('SIGINT');
      }
    });
    child.on('exit', (c) => resolve(c));
  });
  assert.equal(code, 1, stderr);
  const job = JSON.parse(stdout);
  assert.equal(job.status, 'cancelled');
  assert.deepEqual(job.errors.map((e: { code: string; node: string }) => [e.code, e.node]), [['CANCELLED', 'loop']]);
});

test('--json summarises images and tensors by shape, never dumping their numbers', () => {
  const image = { data: new Float32Array(12), batch: 1, channels: 3, height: 2, width: 2 };
  const tensor = { data: new Int32Array(6), shape: [2, 3], dtype: 'int32' };
  assert.deepEqual(toJsonValue({ image, tensor, n: NaN, s: 'x', list: [1, new Float32Array(4)], fn: () => 1 }), {
    image: { type: 'image', batch: 1, width: 2, height: 2 },
    tensor: { type: 'tensor', shape: [2, 3], dtype: 'int32' },
    n: null,
    s: 'x',
    list: [1, { type: 'array', length: 4 }],
  });
  assert.deepEqual(toJsonValue(new Map()), { type: 'Map' });
});
