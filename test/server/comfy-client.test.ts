// An existing ComfyUI client library (@saintno/comfyui-sdk 0.3.1) drives a real kosmos-g server
// on loopback: it connects and probes the server as it would a ComfyUI, reads object_info, queues an API-format
// workflow through its CallWrapper, follows the events through its own callbacks, downloads the image through its
// /view helper, interrupts a job and deletes history. Only the client talks to the server (plus one plain fetch of the
// URL its getPathImage builds).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { CallWrapper, ComfyApi, PromptBuilder } from '@saintno/comfyui-sdk';
import { startServer, waitUntil, type TestServer } from './helpers.ts';

let s: TestServer;
let api: ComfyApi;
/** Everything the client reported through its `log` event, for failure messages. */
const clientLog: string[] = [];
/** Every WebSocket message type the client dispatched. */
const seenTypes = new Set<string>();

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}; client log:\n${clientLog.slice(-20).join('\n')}`)), ms);
    }),
  ]);
}

before(async () => {
  s = await startServer();
  api = new ComfyApi(s.base, 'sdk-test-client', { wsTimeout: 60_000 });
  // The client's typings name the log detail {msg, data}; what it dispatches is {fnName, message, data}.
  api.on('log', (ev) => {
    const d = ev.detail as unknown as { fnName: string; message: string };
    clientLog.push(`${d.fnName}: ${d.message}`);
  });
  api.on('all', (ev) => seenTypes.add(ev.detail.type));
  const connected = new Promise<void>((resolve) => api.on('connected', () => resolve()));
  const failed = new Promise<never>((_, reject) => api.on('connection_error', (ev) => reject(new Error(`connection_error: ${String(ev.detail)}`))));
  api.init(2, 100);
  await withTimeout(Promise.race([Promise.all([api.waitForReady(), connected]), failed]), 10_000, 'the client to connect');
});

after(async () => {
  api?.destroy();
  await s?.close();
});

test('comfyui-sdk connects: WebSocket session, ping, system stats, extensions, embeddings, no false extension detection', async () => {
  assert.equal(api.isReady, true);
  // The greeting's sid becomes the client's id, as with ComfyUI.
  assert.equal(api.id, 'sdk-test-client');
  const stats = await api.getSystemStats();
  assert.equal(stats.system.os, process.platform === 'win32' ? 'nt' : 'posix');
  // init() reads the OS type from /system_stats without awaiting it.
  assert.equal(await waitUntil(() => api.osType, 5000, 'the client to read the OS type'), stats.system.os);
  assert.ok(Array.isArray(stats.devices) && stats.devices.length >= 1);
  assert.equal(typeof stats.devices[0]!.vram_total, 'number');
  assert.deepEqual(await api.getExtensions(), []);
  assert.deepEqual(await api.getEmbeddings(), []);
  // The client detects ComfyUI-Manager and Crystools by probing; neither is here, so neither may look supported.
  assert.equal(api.ext.manager.isSupported, false);
  assert.equal(api.ext.monitor.isSupported, false);
  assert.deepEqual(await api.getCheckpoints(), [], 'no CheckpointLoaderSimple node: the client reads an empty list');
  const status = await api.pollStatus();
  assert.equal(typeof status.exec_info.queue_remaining, 'number');
  const queue = await api.getQueue();
  assert.deepEqual(queue, { queue_running: [], queue_pending: [] });
  assert.ok(seenTypes.has('status'), 'the WebSocket greeting arrived through the client');
});

test('comfyui-sdk reads object_info: our node types with their inputs in ComfyUI shape', async () => {
  const defs = await api.getNodeDefs();
  assert.ok(defs);
  for (const type of ['LoadImage', 'ImageInvert', 'SaveImage', 'TestCounter']) assert.ok(defs[type], `object_info lists ${type}`);
  const save = defs.SaveImage!;
  assert.deepEqual(save.input.required.images, ['IMAGE', {}]);
  assert.deepEqual(save.input.required.filename_prefix, ['STRING', { default: 'kosmos-g' }]);
  assert.equal(save.output_node, true);
  assert.deepEqual(defs.ImageInvert!.output, ['IMAGE']);
  assert.deepEqual(defs.LoadImage!.output, ['IMAGE', 'INT', 'INT']);
  assert.deepEqual(defs.TestCounter!.input.required.steps, ['INT', { default: 3, min: 1, max: 100000 }]);
  const one = await api.getNodeDefs('ImageInvert');
  assert.deepEqual(Object.keys(one ?? {}), ['ImageInvert']);
  assert.equal(await api.getNodeDefs('NoSuchNode'), null, 'an unknown type reads as "not installed"');
});

/** A node in ComfyUI's API format, with the `_meta.title` ComfyUI exports carry. */
function node(class_type: string, inputs: Record<string, unknown>) {
  return { class_type, inputs, _meta: { title: class_type } };
}

/** Polls the queue through the client until `pred` holds. */
async function queueWhere(pred: (q: Awaited<ReturnType<ComfyApi['getQueue']>>) => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!pred(await api.getQueue())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A 6x4 RGB test image whose every pixel differs. */
async function testPng(): Promise<{ png: Buffer; pixels: Buffer }> {
  const pixels = Buffer.alloc(6 * 4 * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 11 + 7) % 256;
  const png = await sharp(pixels, { raw: { width: 6, height: 4, channels: 3 } }).png().toBuffer();
  return { png, pixels };
}

test('comfyui-sdk runs LoadImage → ImageInvert → SaveImage through CallWrapper and downloads the result', async () => {
  const { png, pixels } = await testPng();
  const uploaded = await api.uploadImage(new Uint8Array(png), 'sdk-input.png', { subfolder: 'sdk' });
  assert.ok(uploaded, 'upload succeeded');
  assert.equal(uploaded.info.filename, 'sdk-input.png');
  assert.equal(uploaded.info.subfolder, 'sdk');
  // ComfyUI's LoadImage takes the upload's name as `subfolder/name`; the server maps it to the uploaded file.
  const uploadName = `${uploaded.info.subfolder}/${uploaded.info.filename}`;
  const prompt = {
    '1': node('LoadImage', { image: '' }),
    '2': node('ImageInvert', { image: ['1', 0] }),
    '3': node('SaveImage', { images: ['2', 0], filename_prefix: 'sdk' }),
  };
  const workflow = new PromptBuilder(prompt, ['image'], ['saved'])
    .setInputNode('image', '1.inputs.image')
    .setOutputNode('saved', '3')
    .input('image', uploadName);

  const calls: string[] = [];
  const executing: string[] = [];
  const offExecuting = api.on('executing', (ev) => executing.push(String(ev.detail.node)));
  let failure: Error | undefined;
  const result = await withTimeout(
    new CallWrapper(api, workflow)
      .onPending(() => calls.push('pending'))
      .onOutput((key) => calls.push(`output:${String(key)}`))
      .onFinished(() => calls.push('finished'))
      .onFailed((err) => (failure = err))
      .run(),
    15_000,
    'the workflow to finish',
  );
  offExecuting();
  assert.equal(failure, undefined, `no failure: ${failure?.message} ${JSON.stringify((failure as { cause?: unknown } | undefined)?.cause)}`);
  assert.ok(result, 'run() resolves with the outputs');
  assert.deepEqual(calls, ['pending', 'output:saved', 'finished']);
  assert.deepEqual(executing.slice(0, 3), ['1', '2', '3'], 'executing events name each node in order');

  const images = (result.saved as { images: { filename: string; subfolder: string; type: string }[] }).images;
  assert.equal(images.length, 1);
  assert.equal(images[0]!.type, 'output');
  const blob = await api.getImage(images[0]! as never);
  const { data, info } = await sharp(Buffer.from(await blob.arrayBuffer())).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [6, 4, 3]);
  for (let i = 0; i < pixels.length; i++) assert.ok(Math.abs(data[i]! - (255 - pixels[i]!)) <= 1, `pixel byte ${i} is inverted`);
  // getPathImage is the URL a browser would use: the same file.
  const viaUrl = Buffer.from(await (await fetch(api.getPathImage(images[0]! as never))).arrayBuffer());
  assert.deepEqual(viaUrl, Buffer.from(await blob.arrayBuffer()));

  // The same prompt again: every node is cached (execution_cached, no executed), and the client still resolves,
  // from the history, with the image the cached SaveImage wrote.
  const cached: string[] = [];
  const offCached = api.on('execution_cached', (ev) => cached.push(...ev.detail.nodes));
  const again = await withTimeout(new CallWrapper(api, workflow).run(), 15_000, 'the cached rerun');
  offCached();
  assert.deepEqual(cached.sort(), ['1', '2', '3']);
  assert.ok(again);
  assert.deepEqual((again.saved as { images: unknown[] }).images, images);
});

test('comfyui-sdk follows progress through its callbacks, interrupts a running job and deletes its history', async () => {
  const prompt = {
    '1': node('TestCounter', { steps: 100000, delayMs: 10 }),
    '2': node('TestImageOut', { value: ['1', 0], prefix: 'never' }),
  };
  const workflow = new PromptBuilder(prompt, [], ['out']).setOutputNode('out', '2');
  let promptId: string | undefined;
  let started = false;
  const progress: number[] = [];
  let failure: Error | undefined;
  const previews: Blob[] = [];
  const interrupted = new Promise<void>((resolve) => {
    const wrapper = new CallWrapper(api, workflow)
      .onPending((id) => (promptId = id))
      .onPreview((blob) => void previews.push(blob))
      .onStart(() => (started = true))
      .onProgress((info) => {
        progress.push(info.value);
        // Interrupt once the job is visibly running, through the client's own method.
        if (progress.length === 2) void api.interrupt();
      })
      .onFailed((err) => {
        failure = err;
        resolve();
      });
    void wrapper.run();
  });
  await withTimeout(interrupted, 15_000, 'the interruption to reach the client');
  assert.equal(started, true, 'onStart fired on the first progress event');
  assert.ok(progress.length >= 2 && progress[0] === 1, `progress values ${progress.join(',')}`);
  assert.equal(failure?.name, 'ExecutionInterruptedError');
  // The live preview the counter streams on its first step reaches the client's onPreview as a PNG.
  assert.ok(previews.length >= 1, 'onPreview fired');
  assert.deepEqual([...new Uint8Array(await previews[0]!.arrayBuffer()).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  assert.ok(promptId);

  // The interrupted job is in the history the client reads, and not complete.
  const entry = await api.getHistory(promptId);
  assert.ok(entry, 'history has the interrupted job');
  assert.equal(entry.status.completed, false);
  assert.ok(entry.status.messages.some(([type]) => type === 'execution_interrupted'));
  const before = Object.keys(await api.getHistories());
  assert.ok(before.includes(promptId));

  await api.clearHistory({ delete: [promptId] });
  assert.equal(await api.getHistory(promptId), undefined, 'deleted through clearHistory({delete})');
  assert.deepEqual(Object.keys(await api.getHistories()).sort(), before.filter((id) => id !== promptId).sort(), 'only that job went');
  await api.clearHistory({ clear: true });
  assert.deepEqual(await api.getHistories(), {}, 'cleared through clearHistory({clear})');
});

test('comfyui-sdk removes a queued job with manageQueue and reports validation errors through onFailed', async () => {
  // A long job keeps the queue busy so that the next one stays queued.
  const counter = (steps: number) => ({
    '1': node('TestCounter', { steps, delayMs: 10 }),
    '2': node('TestImageOut', { value: ['1', 0] }),
  });
  const busy = await api.queuePrompt(null, counter(100000));
  await queueWhere((q) => q.queue_running.some((e) => e[1] === busy.prompt_id), 'the first job to run');
  const queued = await api.queuePrompt(null, counter(1));
  let queue = await api.getQueue();
  assert.deepEqual(queue.queue_pending.map((q) => q[1]), [queued.prompt_id]);
  await api.manageQueue({ delete: [queued.prompt_id] });
  queue = await api.getQueue();
  assert.deepEqual(queue.queue_pending, []);
  assert.deepEqual(queue.queue_running.map((q) => q[1]), [busy.prompt_id]);
  await api.interrupt();
  await queueWhere((q) => q.queue_running.length === 0, 'the interrupted job to leave the queue');

  // An invalid workflow: the client surfaces our ComfyUI-shaped node_errors.
  // (The client calls onFailed twice here: first with the server's answer, then with a generic Error.)
  const failures: (Error & { cause?: any })[] = [];
  const bad = new PromptBuilder({ '1': node('ImageInvert', {}) }, [], ['x']).setOutputNode('x', '1');
  const result = await new CallWrapper(api, bad).onFailed((err) => failures.push(err)).run();
  assert.equal(result, false);
  const failure = failures[0];
  assert.equal(failure?.name, 'EnqueueFailedError');
  assert.equal(failure?.cause?.error?.type, 'prompt_outputs_failed_validation');
  assert.equal(failure?.cause?.node_errors?.['1']?.class_type, 'ImageInvert');
});
