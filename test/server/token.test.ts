// Token protection: binding beyond loopback requires one; with one set, every HTTP request and WebSocket
// upgrade must present it (Bearer header, ?token=, or the cookie set from ?token=).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { connectWs, counterWorkflow, json, raw, startServer } from './helpers.ts';
import { serve } from '../../server/serve.ts';

const TOKEN = 'correct-horse-battery-staple';

test('token: serving beyond loopback without a token is refused before listening', async () => {
  const saved = process.env.KOSMOS_G_TOKEN;
  delete process.env.KOSMOS_G_TOKEN;
  await assert.rejects(serve({ host: '0.0.0.0', port: 0, data: '/nonexistent-never-created' }), (e: { code?: string }) => e.code === 'TOKEN_REQUIRED');
  await assert.rejects(serve({ host: '127.0.0.1', port: 0, token: 'short' }), (e: { code?: string }) => e.code === 'TOKEN_TOO_SHORT');
  if (saved !== undefined) process.env.KOSMOS_G_TOKEN = saved;
});

test('token: HTTP and WebSocket requests without the right token get 401', async () => {
  const s = await startServer({ token: TOKEN });
  try {
    const none = await json(s.base, 'GET', '/queue');
    assert.equal(none.status, 401);
    assert.equal(none.body.error.code, 'TOKEN_REQUIRED');
    const wrong = await json(s.base, 'GET', '/queue', undefined, { authorization: 'Bearer nope' });
    assert.equal(wrong.body.error.code, 'TOKEN_INVALID');
    const editor = await json(s.base, 'GET', '/');
    assert.equal(editor.status, 401, 'the editor page too');
    assert.equal((await json(s.base, 'GET', '/queue', undefined, { authorization: `Bearer ${TOKEN}` })).status, 200);
    const viaQuery = await fetch(`${s.base}/queue?token=${TOKEN}`);
    assert.equal(viaQuery.status, 200);
    const cookie = viaQuery.headers.get('set-cookie')!;
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Strict/i);
    assert.equal((await json(s.base, 'GET', '/queue', undefined, { cookie: cookie.split(';')[0]! })).status, 200);
    await assert.rejects(connectWs(`ws://127.0.0.1:${s.port}/ws`), (e: { status?: number }) => e.status === 401);
    await assert.rejects(connectWs(`ws://127.0.0.1:${s.port}/ws?token=wrong`), (e: { status?: number }) => e.status === 401);
    const ok = await connectWs(`ws://127.0.0.1:${s.port}/ws?token=${TOKEN}`);
    await ok.waitFor((m) => m.type === 'status');
    ok.ws.close();
  } finally {
    await s.close();
  }
});

test('token: the auth scheme is case-insensitive (RFC 7235); watch=all is open to a client holding the token', async () => {
  const s = await startServer({ token: TOKEN });
  try {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      const r = await json(s.base, 'GET', '/queue', undefined, { authorization: `${scheme} ${TOKEN}` });
      assert.equal(r.status, 200, scheme);
    }
    assert.equal((await json(s.base, 'GET', '/queue', undefined, { authorization: `Basic ${TOKEN}` })).body.error.code, 'TOKEN_REQUIRED');
    assert.equal((await json(s.base, 'GET', '/queue', undefined, { authorization: 'bearer nope' })).body.error.code, 'TOKEN_INVALID');
    await assert.rejects(connectWs(`ws://127.0.0.1:${s.port}/ws?watch=all`), (e: { status?: number }) => e.status === 401);
    const dash = await connectWs(`ws://127.0.0.1:${s.port}/ws?clientId=dash&watch=all`, { authorization: `bearer ${TOKEN}` });
    const id = (await json(s.base, 'POST', '/prompt', { workflow: counterWorkflow(1, 0), client_id: 'someone' }, { authorization: `Bearer ${TOKEN}` })).body.prompt_id;
    await dash.waitFor((m) => m.type === 'execution_success' && m.data.prompt_id === id);
    dash.ws.close();
  } finally {
    await s.close();
  }
});

/** The status line the server answers a raw WebSocket upgrade with. */
function upgradeStatus(port: number, target: string, extraHeaders = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`,
      );
    });
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString()));
    socket.on('close', () => resolve(text.split('\r\n')[0] ?? ''));
    socket.on('error', reject);
    socket.setTimeout(3000, () => {
      socket.destroy();
      resolve(`no answer (${text.split('\r\n')[0] ?? ''})`);
    });
  });
}

test('token: a malformed cookie or request target is refused, never an exception that ends the server', async () => {
  const s = await startServer({ token: TOKEN });
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  try {
    const badCookie = 'Cookie: kosmos_g_token=%E0%A4%A\r\n';
    assert.match(await upgradeStatus(s.port, `/ws`, badCookie), /^HTTP\/1\.1 401/);
    assert.match(await upgradeStatus(s.port, '//['), /^HTTP\/1\.1 400/);
    const http = await raw(s.port, 'GET', '/queue', { host: `127.0.0.1:${s.port}`, cookie: 'kosmos_g_token=%E0%A4%A' });
    assert.equal(http.status, 401);
    assert.equal(JSON.parse(http.body).error.code, 'TOKEN_INVALID');
    const target = await raw(s.port, 'GET', '//[', { host: `127.0.0.1:${s.port}` });
    assert.equal(JSON.parse(target.body).error.code, 'BAD_REQUEST');
    assert.deepEqual(uncaught, []);
    assert.equal((await json(s.base, 'GET', '/queue', undefined, { authorization: `Bearer ${TOKEN}` })).status, 200, 'still serving');
  } finally {
    process.off('uncaughtException', onUncaught);
    await s.close();
  }
});
