// The Redis queue's pure parts: queue URLs, worker tokens, signatures, routing by node packs, and the paths a
// worker may name for its output files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseQueueUrl } from '../../server/redis/connection.ts';
import { checkToken, sign, verified } from '../../server/redis/signing.ts';
import { pickQueue, profileQueue, requirement, type WorkerInfo } from '../../server/redis/capabilities.ts';
import { insideRoot } from '../../server/redis/wire.ts';

test('queue URLs: redis:// and rediss:// with a database; anything else is BAD_QUEUE_URL', () => {
  assert.deepEqual(parseQueueUrl('redis://10.0.0.5:6380/2'), { url: 'redis://10.0.0.5:6380/2', host: '10.0.0.5', port: 6380, db: 2, tls: false });
  assert.equal(parseQueueUrl('rediss://user:pw@cache.example:6379').tls, true);
  assert.equal(parseQueueUrl('redis://127.0.0.1').port, 6379);
  for (const bad of ['http://127.0.0.1:6379', 'redis://127.0.0.1:6379/99', 'not a url']) {
    assert.throws(() => parseQueueUrl(bad), (e: { code?: string }) => e.code === 'BAD_QUEUE_URL', bad);
  }
});

test('worker tokens: Redis beyond loopback needs one, at least 16 characters', () => {
  assert.doesNotThrow(() => checkToken(parseQueueUrl('redis://127.0.0.1:6379/0'), undefined, 'serve'));
  assert.throws(() => checkToken(parseQueueUrl('redis://10.0.0.5:6379/0'), undefined, 'serve'), (e: { code?: string }) => e.code === 'TOKEN_REQUIRED');
  assert.throws(() => checkToken(parseQueueUrl('redis://127.0.0.1:6379/0'), 'short', 'worker'), (e: { code?: string }) => e.code === 'TOKEN_TOO_SHORT');
});

test('signatures: only the same token verifies the same text', () => {
  const token = 'a-worker-token-of-some-length';
  const s = sign(token, '{"job":"1"}');
  assert.ok(verified(token, '{"job":"1"}', s));
  assert.ok(!verified(token, '{"job":"2"}', s), 'another text');
  assert.ok(!verified('another-token-of-some-length', '{"job":"1"}', s), 'another token');
  assert.ok(!verified(token, '{"job":"1"}', undefined), 'unsigned');
  assert.ok(verified(undefined, 'anything', undefined), 'no token: nothing is checked');
});

test('routing: a job goes to a profile whose workers have all its packs (and a GPU when it asks for CUDA)', () => {
  const worker = (id: string, packs: string[], gpu: string | null): WorkerInfo => ({
    id, host: 'h', pid: 1, packs, nodeTypes: 1, backends: [], gpu, queue: profileQueue(packs, gpu), startedAt: 0, seen: 0, job: null,
  });
  const small = worker('a', ['core'], null);
  const full = [worker('b', ['core', 'diffusion'], null), worker('c', ['core', 'diffusion'], null)];
  const gpu = worker('d', ['core', 'diffusion'], 'nvidia');
  const packOf = (t: string) => ({ Int: 'core', Sampler: 'diffusion' })[t];
  const wf = (nodes: unknown[]) => ({ nodes });
  const coreOnly = requirement(wf([{ type: 'Int' }]), packOf);
  assert.deepEqual(coreOnly, { packs: ['core'], gpu: false });
  assert.equal(pickQueue(coreOnly, [small, ...full]), full[0]!.queue, 'the profile with the most workers');
  const sampling = requirement(wf([{ type: 'Int' }, { type: 'Sampler' }]), packOf);
  assert.equal(pickQueue(sampling, [small]), undefined, 'nobody can run it yet');
  const cuda = requirement(wf([{ type: 'Sampler', widgets: { backend: 'onnx-cuda' } }]), packOf);
  assert.equal(cuda.gpu, true);
  assert.equal(pickQueue(cuda, [small, ...full, gpu]), gpu.queue);
});

test('output paths a worker names: inside the outputs folder only', () => {
  assert.equal(insideRoot('/data/outputs', 'job/a.png'), '/data/outputs/job/a.png');
  for (const bad of ['../x', 'job/../../x', '/etc/passwd', 'job//a', 'a\\b', '']) assert.equal(insideRoot('/data/outputs', bad), undefined, bad);
});
