// Token protection: binding beyond loopback requires one; with one set, every HTTP request and WebSocket
// upgrade must present it (Bearer header, ?token=, or the cookie set from ?token=).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectWs, json, startServer } from './helpers.ts';
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
