// The WebSocket hub under abuse: garbage, binary, oversized and flooding clients are closed with a code; the
// server keeps serving everyone else. Upgrades check Origin, Host and the token like HTTP requests.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import http from 'node:http';
import net from 'node:net';
import { connectWs, counterWorkflow, json, startServer, waitUntil, type TestServer } from './helpers.ts';
import { CLOSE, EventHub } from '../../server/hub.ts';

let s: TestServer;
before(async () => {
  s = await startServer({}, { hub: { maxMessageBytes: 1024, maxMessagesPerSecond: 20 } });
});
after(async () => {
  await s.close();
});

const url = () => `ws://127.0.0.1:${s.port}/ws`;

test('ws: each client receives only its own jobs\' execution events; queue status goes to all; watch=all sees both', async () => {
  const a = await connectWs(`${url()}?clientId=a`);
  const b = await connectWs(`${url()}?clientId=b`);
  const dash = await connectWs(`${url()}?clientId=dash&watch=all`);
  const ids = { a: '', b: '' };
  for (const who of ['a', 'b'] as const) {
    ids[who] = (await json(s.base, 'POST', '/prompt', { workflow: counterWorkflow(2, 1), client_id: who })).body.prompt_id;
  }
  for (const [c, id] of [[a, ids.a], [b, ids.b], [dash, ids.a], [dash, ids.b]] as const) {
    await c.waitFor((m) => m.type === 'execution_success' && m.data.prompt_id === id);
  }
  // Once the queue is idle every event about these jobs has been sent; a ping answered on each socket then
  // proves that socket has received all of them (a socket delivers in order).
  await waitUntil(async () => (await json(s.base, 'GET', '/api/status')).body.queue_remaining === 0 || undefined, 10_000, 'an idle queue');
  for (const c of [a, b]) {
    c.ws.send(JSON.stringify({ type: 'ping' }));
    await c.waitFor((m) => m.type === 'pong');
  }
  for (const [c, own, other] of [[a, ids.a, ids.b], [b, ids.b, ids.a]] as const) {
    const jobs = new Set(c.messages.map((m) => m.data?.prompt_id).filter((p) => p !== undefined));
    assert.deepEqual([...jobs], [own], 'only its own job');
    const types = c.messages.filter((m) => m.data?.prompt_id === own).map((m) => m.type);
    for (const t of ['execution_start', 'executing', 'progress', 'executed', 'execution_success']) assert.ok(types.includes(t), t);
    assert.equal(c.messages.filter((m) => m.data?.prompt_id === other).length, 0);
    assert.ok(c.binary.length === 1, `one preview (its own), got ${c.binary.length}`);
  }
  assert.equal(dash.binary.length, 2, 'the watcher gets both previews');
  // Queue status reaches everyone: the greeting, then changes, ending with the empty queue.
  assert.ok(a.messages.filter((m) => m.type === 'status').length >= 2);
  await b.waitFor((m) => m.type === 'status' && m.data.status.exec_info.queue_remaining === 0 && b.messages.indexOf(m) > 0);
  // feature_flags is answered like ComfyUI's.
  a.ws.send(JSON.stringify({ type: 'feature_flags', data: { supports_preview_metadata: true } }));
  const flags = await a.waitFor((m) => m.type === 'feature_flags');
  assert.equal(flags.data.supports_preview_metadata, true);
  a.ws.close();
  b.ws.close();
  dash.ws.close();
});

test('ws: a client connecting mid-run is told which node is running', async () => {
  const id = (await json(s.base, 'POST', '/prompt', { workflow: counterWorkflow(2000, 5) })).body.prompt_id;
  const first = await connectWs(url());
  await first.waitFor((m) => m.type === 'progress' && m.data.prompt_id === id);
  const late = await connectWs(url());
  const running = await late.waitFor((m) => m.type === 'executing');
  assert.deepEqual([running.data.node, running.data.prompt_id], ['1', id]);
  await json(s.base, 'POST', `/api/jobs/${id}/cancel`);
  await first.waitFor((m) => m.type === 'execution_interrupted' && m.data.prompt_id === id);
  first.ws.close();
  late.ws.close();
});

test('ws: clients that ask for ?previews=json get kosmos.preview with base64 PNG data', async () => {
  const c = await connectWs(`${url()}?previews=json`);
  const id = (await json(s.base, 'POST', '/prompt', { workflow: counterWorkflow(2, 1) })).body.prompt_id;
  const p = await c.waitFor((m) => m.type === 'kosmos.preview' && m.data.prompt_id === id);
  assert.equal(p.data.node, '1');
  assert.equal(p.data.mime, 'image/png');
  assert.deepEqual([...Buffer.from(p.data.data, 'base64').subarray(1, 4)], [0x50, 0x4e, 0x47]);
  assert.equal(c.binary.length, 0, 'no binary frames for a JSON-preview client');
  c.ws.close();
});

test('ws: garbage text closes with 1007, binary with 1003, oversized with 1009, floods with 1008', async () => {
  const garbage = await connectWs(url());
  garbage.ws.send('this is not json {');
  assert.equal((await garbage.closed).code, CLOSE.invalidPayload);

  const notObject = await connectWs(url());
  notObject.ws.send('[1,2,3]');
  assert.equal((await notObject.closed).code, CLOSE.invalidPayload);

  const binary = await connectWs(url());
  binary.ws.send(Buffer.from([0, 1, 2, 3]));
  assert.equal((await binary.closed).code, CLOSE.unsupportedData);

  const big = await connectWs(url());
  big.ws.send(JSON.stringify({ type: 'x', data: 'y'.repeat(4096) }));
  assert.equal((await big.closed).code, CLOSE.tooBig);

  const flood = await connectWs(url());
  for (let i = 0; i < 200; i++) flood.ws.send(JSON.stringify({ type: 'ping' }));
  assert.equal((await flood.closed).code, CLOSE.policyViolation);

  // A well-behaved client is unaffected and the server still works.
  const calm = await connectWs(url());
  calm.ws.send(JSON.stringify({ type: 'ping' }));
  await calm.waitFor((m) => m.type === 'pong');
  assert.equal((await json(s.base, 'GET', '/prompt')).status, 200);
  calm.ws.close();
});

test('ws: upgrades from a foreign or null Origin, a rebinding Host, or another path are refused', async () => {
  const refused = async (u: string, headers: Record<string, string>) => {
    try {
      const c = await connectWs(u, headers);
      c.ws.close();
      return 'opened';
    } catch (e) {
      return (e as { status?: number }).status;
    }
  };
  assert.equal(await refused(url(), { origin: 'http://evil.example' }), 403);
  assert.equal(await refused(url(), { origin: 'null' }), 403);
  assert.equal(await refused(url(), { host: 'evil.example' }), 403);
  assert.equal(await refused(`ws://127.0.0.1:${s.port}/elsewhere`, {}), 404);
  assert.equal(await refused(url(), { origin: `http://127.0.0.1:${s.port}` }), 'opened');
});

test('ws: a raw socket sending junk instead of a handshake does not crash the server', async () => {
  const net = await import('node:net');
  await new Promise<void>((resolve) => {
    const sock = net.connect(s.port, '127.0.0.1', () => {
      sock.write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: nope\r\n\r\n\x00\x01\x02');
    });
    sock.on('data', () => sock.destroy());
    sock.on('close', () => resolve());
    sock.on('error', () => resolve());
  });
  const ok = new WebSocket(url());
  await new Promise((r) => ok.on('open', r));
  ok.close();
  assert.equal((await json(s.base, 'GET', '/queue')).status, 200);
});

test('ws: a hub whose mayWatchAll refuses answers watch=all with 403 WATCH_FORBIDDEN and still takes plain clients', async () => {
  const hub = new EventHub({ heartbeatMs: 0, mayWatchAll: () => false });
  const server = http.createServer();
  hub.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    await assert.rejects(connectWs(`ws://127.0.0.1:${port}/ws?watch=all`), (e: { status?: number }) => e.status === 403);
    const plain = await connectWs(`ws://127.0.0.1:${port}/ws?clientId=p`);
    hub.sendJobEvent('p', { type: 'executing', data: { node: '1', prompt_id: 'x' } });
    hub.sendJobEvent('q', { type: 'executing', data: { node: '1', prompt_id: 'y' } });
    hub.sendJobEvent(null, { type: 'executing', data: { node: '1', prompt_id: 'z' } });
    plain.ws.send(JSON.stringify({ type: 'ping' }));
    await plain.waitFor((m) => m.type === 'pong');
    assert.deepEqual(plain.messages.filter((m) => m.type === 'executing').map((m) => m.data.prompt_id), ['x', 'z'], "its own job and the one that named no client");
    plain.ws.close();
  } finally {
    await hub.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('ws: a client that stops answering pings is dropped; one that answers stays', async () => {
  const hub = new EventHub({ heartbeatMs: 40 });
  const server = http.createServer();
  hub.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  try {
    const live = await connectWs(`ws://127.0.0.1:${port}/ws`);
    // A peer that completed the handshake and then went silent (its pings are never answered).
    const silent = net.connect(port, '127.0.0.1', () =>
      silent.write(
        `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    );
    silent.on('error', () => undefined);
    await waitUntil(() => hub.clientCount === 2);
    await waitUntil(() => hub.clientCount === 1, 3000);
    await new Promise((r) => setTimeout(r, 200)); // several more heartbeats: the answering client stays
    assert.equal(hub.clientCount, 1);
    assert.equal(live.ws.readyState, WebSocket.OPEN);
    live.ws.close();
    silent.destroy();
  } finally {
    await hub.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
