import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { IncomingMessage } from 'node:http';
import { checkRequest, hostAllowed, originAllowed, type SecurityPolicy } from '../../server/security.ts';
import { resolveExisting, resolveWritableDir } from '../../server/paths.ts';
import { boundaryOf, parseMultipart, sniffImage } from '../../server/multipart.ts';

const local: SecurityPolicy = { boundHost: '127.0.0.1', port: 8188 };

function req(method: string, headers: Record<string, string>, url = '/'): IncomingMessage {
  return { method, url, headers } as unknown as IncomingMessage;
}

test('security: Host must be loopback or the bound host (DNS rebinding)', () => {
  assert.equal(hostAllowed('127.0.0.1:8188', local), true);
  assert.equal(hostAllowed('localhost:8188', local), true);
  assert.equal(hostAllowed('[::1]:8188', local), true);
  assert.equal(hostAllowed('evil.example:8188', local), false);
  assert.equal(hostAllowed(undefined, local), false);
  assert.equal(hostAllowed('10.0.0.5:8188', { boundHost: '10.0.0.5', port: 8188, token: 'x'.repeat(16) }), true);
});

test('security: Origin must be this server; null and foreign origins are refused', () => {
  assert.equal(originAllowed(undefined, local), true);
  assert.equal(originAllowed('http://127.0.0.1:8188', local), true);
  assert.equal(originAllowed('http://localhost:8188', local), true);
  assert.equal(originAllowed('null', local), false);
  assert.equal(originAllowed('http://evil.example:8188', local), false);
  assert.equal(originAllowed('http://127.0.0.1:9999', local), false, 'another local port is another origin');
  assert.equal(originAllowed('file://', local), false);
  assert.equal(originAllowed('not a url', local), false);
});

test('security: checkRequest combines Host, token and Origin with stable codes', () => {
  const tok: SecurityPolicy = { ...local, token: 'secret-token-0123456789' };
  const code = (v: ReturnType<typeof checkRequest>) => (v.ok ? 'OK' : `${v.status} ${v.code}`);
  assert.equal(code(checkRequest(req('GET', { host: 'evil.example' }), local)), '403 BAD_HOST');
  assert.equal(code(checkRequest(req('POST', { host: '127.0.0.1:8188', origin: 'null' }), local)), '403 BAD_ORIGIN');
  assert.equal(code(checkRequest(req('GET', { host: '127.0.0.1:8188', origin: 'null' }), local)), 'OK', 'reads are not state changes');
  assert.equal(code(checkRequest(req('GET', { host: '127.0.0.1:8188', origin: 'null' }), local, true)), '403 BAD_ORIGIN', 'ws upgrades are');
  assert.equal(code(checkRequest(req('POST', { host: '127.0.0.1:8188', 'sec-fetch-site': 'cross-site' }), local)), '403 BAD_ORIGIN');
  assert.equal(code(checkRequest(req('GET', { host: '127.0.0.1:8188' }), tok)), '401 TOKEN_REQUIRED');
  assert.equal(code(checkRequest(req('GET', { host: '127.0.0.1:8188', authorization: 'Bearer wrong' }), tok)), '401 TOKEN_INVALID');
  assert.equal(code(checkRequest(req('GET', { host: '127.0.0.1:8188', authorization: 'Bearer secret-token-0123456789' }), tok)), 'OK');
  assert.equal(code(checkRequest(req('GET', { host: '127.0.0.1:8188' }, '/x?token=secret-token-0123456789'), tok)), 'OK');
  assert.equal(code(checkRequest(req('GET', { host: '127.0.0.1:8188', cookie: 'a=b; kosmos_g_token=secret-token-0123456789' }), tok)), 'OK');
});

test('paths: reads resolve inside the root; ../, absolute, encoded and symlinked escapes are refused', async () => {
  const base = mkdtempSync(path.join(tmpdir(), 'kosmos-paths-'));
  const root = path.join(base, 'outputs');
  mkdirSync(path.join(root, 'job'), { recursive: true });
  writeFileSync(path.join(root, 'job', 'a.png'), 'x');
  writeFileSync(path.join(base, 'secret.txt'), 'secret');
  symlinkSync(path.join(base, 'secret.txt'), path.join(root, 'job', 'link.png'));
  symlinkSync(base, path.join(root, 'escape'));
  const code = async (sub: string, name: string) => {
    try {
      await resolveExisting(root, sub, name);
      return 'OK';
    } catch (e) {
      return (e as { code: string }).code;
    }
  };
  assert.equal(await code('job', 'a.png'), 'OK');
  assert.equal(await code('', '../secret.txt'), 'BAD_PATH');
  assert.equal(await code('..', 'secret.txt'), 'BAD_PATH');
  assert.equal(await code('job/../..', 'secret.txt'), 'BAD_PATH');
  assert.equal(await code(base, 'secret.txt'), 'BAD_PATH');
  assert.equal(await code('', path.join(base, 'secret.txt')), 'BAD_PATH');
  assert.equal(await code('job', 'link.png'), 'PATH_OUTSIDE_ROOT');
  assert.equal(await code('escape', 'secret.txt'), 'PATH_OUTSIDE_ROOT');
  assert.equal(await code('job', 'missing.png'), 'NOT_FOUND');
  assert.equal(await code('job', 'a\0.png'), 'BAD_PATH');
  // Writing through a symlinked folder is refused too.
  await assert.rejects(resolveWritableDir(root, 'escape', (p) => mkdir(p, { recursive: true })), (e: { code?: string }) => e.code === 'PATH_OUTSIDE_ROOT');
  assert.equal(await resolveWritableDir(root, 'new/sub', (p) => mkdir(p, { recursive: true })), path.join(root, 'new', 'sub'));
  rmSync(base, { recursive: true, force: true });
});

test('multipart: parts are split; malformed bodies throw BAD_MULTIPART', () => {
  const b = 'XyZ';
  const body = Buffer.concat([
    Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`),
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2]),
    Buffer.from(`\r\n--${b}\r\nContent-Disposition: form-data; name="subfolder"\r\n\r\nsub\r\n--${b}--\r\n`),
  ]);
  assert.equal(boundaryOf(`multipart/form-data; boundary=${b}`), b);
  const parts = parseMultipart(body, b);
  assert.deepEqual(parts.map((p) => [p.name, p.filename, p.data.length]), [['image', 'a.png', 10], ['subfolder', undefined, 3]]);
  assert.equal(sniffImage(parts[0]!.data), 'image/png');
  assert.equal(sniffImage(Buffer.from('<svg>')), undefined);
  const code = (f: () => unknown) => {
    try {
      f();
      return 'OK';
    } catch (e) {
      return (e as { code: string }).code;
    }
  };
  assert.equal(code(() => boundaryOf('application/json')), 'BAD_MULTIPART');
  assert.equal(code(() => parseMultipart(Buffer.from('garbage'), b)), 'BAD_MULTIPART');
  assert.equal(code(() => parseMultipart(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="x"\r\n\r\nno end`), b)), 'BAD_MULTIPART');
  assert.equal(code(() => parseMultipart(Buffer.from(`--${b}\r\nContent-Disposition: form-data\r\n\r\nv\r\n--${b}--`), b)), 'BAD_MULTIPART');
});

test('path policy: PATH widgets may read inside cwd, data and extra roots, write only in data; symlinks are followed', async () => {
  const { pathPolicy } = await import('../../server/path-policy.ts');
  const base = mkdtempSync(path.join(tmpdir(), 'kosmos-policy-'));
  const cwd = path.join(base, 'repo');
  const data = path.join(base, 'data');
  const extra = path.join(base, 'models');
  for (const d of [cwd, data, extra, path.join(base, 'secret')]) mkdirSync(d, { recursive: true });
  symlinkSync(path.join(base, 'secret'), path.join(cwd, 'sneaky'));
  const p = pathPolicy({ dataDir: data, cwd, extraReadRoots: [extra] });
  assert.equal(p.check(path.join(cwd, 'workflows/assets/a.png'), 'read'), undefined);
  assert.equal(p.check(path.join(data, 'uploads/a.png'), 'read'), undefined);
  assert.equal(p.check(path.join(extra, 'unet.safetensors'), 'read'), undefined);
  assert.match(p.check('/etc/passwd', 'read') ?? '', /outside the folders this server may read/);
  assert.match(p.check(path.join(cwd, 'sneaky', 'key.pem'), 'read') ?? '', /outside/);
  assert.equal(p.check(path.join(data, 'checkpoints/new.safetensors'), 'write'), undefined);
  assert.equal(p.check(path.join(cwd, 'data/checkpoints/x'), 'write'), undefined);
  assert.match(p.check(path.join(cwd, 'src/evil.ts'), 'write') ?? '', /outside the folders this server may write/);
  rmSync(base, { recursive: true, force: true });
});
