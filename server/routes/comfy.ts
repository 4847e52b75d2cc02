// ComfyUI-compatible routes, so existing ComfyUI client libraries can drive kosmos-g. Also mounted under /api/.
import express, { Router, type Request, type Response } from 'express';
import { link, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { ServerContext } from '../context.ts';
import { HttpError } from '../errors.ts';
import { checkSubmission } from '../submit.ts';
import { toObjectInfo } from '../comfy-format.ts';
import { systemStats } from '../system-stats.ts';
import { outputMessage } from '../comfy-events.ts';
import { boundaryOf, parseMultipart, sniffImage } from '../multipart.ts';
import { checkName, resolveExisting, resolveWritableDir } from '../paths.ts';
import type { JobRecord } from '../store.ts';

/** How long after its POST /prompt answer a job submitted to an idle queue starts. */
const START_GRACE_MS = 25;
const PROMPT_ID = /^[A-Za-z0-9_-]{1,64}$/;
const HISTORY_EVENTS = new Set(['execution_start', 'execution_cached', 'execution_success', 'execution_error', 'execution_interrupted']);

/** The ids of the workflow's output nodes (the fifth element of a ComfyUI queue entry). */
function outputNodes(ctx: ServerContext, workflow: unknown): string[] {
  const outputTypes = new Set(ctx.engine.nodeTypes().filter((n) => n.output).map((n) => n.type));
  return ((workflow as { nodes?: { id: string; type: string }[] }).nodes ?? []).filter((n) => outputTypes.has(n.type)).map((n) => String(n.id));
}

function queueEntry(ctx: ServerContext, job: JobRecord): unknown[] {
  return [job.number, job.id, job.workflow, { client_id: job.clientId }, outputNodes(ctx, job.workflow)];
}

export function historyEntry(ctx: ServerContext, job: JobRecord): unknown {
  const outputs: Record<string, unknown> = {};
  for (const [node, out] of Object.entries(job.outputs)) outputs[node] = outputMessage(out.files, out.values);
  const messages = ctx.store
    .events(job.id)
    .filter((e) => HISTORY_EVENTS.has(e.type))
    .map((e) => [e.type, e.data]);
  return {
    prompt: queueEntry(ctx, job),
    outputs,
    status: {
      status_str: job.status === 'done' ? 'success' : job.status,
      completed: job.status === 'done',
      messages,
    },
    meta: Object.fromEntries(Object.keys(outputs).map((n) => [n, { node_id: n, display_node: n, parent_node: null, real_node_id: n }])),
  };
}

function idList(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new HttpError(400, 'BAD_REQUEST', `${where}: expected an array of ids`);
  return value as string[];
}

const UNSAFE_INLINE = new Set(['.html', '.htm', '.js', '.mjs', '.css', '.svg', '.xml', '.xhtml']);
const MIME: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Writes an upload atomically (temp file in the same folder, then into place) and returns the name it got. Without
 * `overwrite`, taken names become `stem (1).ext`, `stem (2).ext`, ...: the temp file is hard-linked to the name,
 * which fails when the name exists, so two uploads of one name at the same moment can never replace each other.
 */
async function storeUpload(dir: string, name: string, data: Buffer, overwrite: boolean): Promise<string> {
  const tmp = path.join(dir, `.upload-${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, data, { flag: 'wx' });
    if (overwrite) {
      await rename(tmp, path.join(dir, name));
      return name;
    }
    const ext = path.extname(name);
    const stem = name.slice(0, name.length - ext.length);
    for (let i = 0; ; i++) {
      const candidate = i === 0 ? name : `${stem} (${i})${ext}`;
      try {
        await link(tmp, path.join(dir, candidate));
        return candidate;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || i >= 10_000) throw error;
      }
    }
  } finally {
    await rm(tmp, { force: true });
  }
}

export function comfyRoutes(ctx: ServerContext): Router {
  const r = Router();

  r.get('/prompt', (_req, res) => {
    res.json({ exec_info: { queue_remaining: ctx.queue.queueRemaining() } });
  });

  r.post('/prompt', (req: Request, res: Response) => {
    const body = req.body as { client_id?: unknown; prompt_id?: unknown } | undefined;
    const checked = checkSubmission(ctx, body);
    if (checked.issues.length) {
      res.status(400).json({
        error: {
          code: 'VALIDATION_FAILED',
          type: 'prompt_outputs_failed_validation',
          message: `the workflow has ${checked.issues.length} problem(s): ${checked.issues.map((i) => `${i.node ? `node ${i.node}` : 'workflow'}${i.input ? `.${i.input}` : ''}: ${i.message}`).join('; ')}`,
          issues: checked.issues,
          details: '',
          extra_info: {},
        },
        node_errors: checked.nodeErrors,
      });
      return;
    }
    let id: string | undefined;
    if (body?.prompt_id !== undefined) {
      if (typeof body.prompt_id !== 'string' || !PROMPT_ID.test(body.prompt_id)) throw new HttpError(400, 'BAD_REQUEST', 'prompt_id: expected 1-64 letters, digits, _ or -');
      if (ctx.store.get(body.prompt_id)) throw new HttpError(409, 'DUPLICATE_PROMPT_ID', `prompt_id ${body.prompt_id} already exists`);
      id = body.prompt_id;
    }
    const clientId = typeof body?.client_id === 'string' ? body.client_id.slice(0, 64) : null;
    // The job starts a moment after this answer has been sent (or the connection dropped): see JobQueue.enqueue.
    // The moment covers the client's own handling of the answer; a loopback client reads our WebSocket frames
    // sooner than its HTTP answer, and ComfyUI itself takes longer than this to start a job.
    const answered = new Promise<void>((resolve) => res.once('close', () => setTimeout(resolve, START_GRACE_MS)));
    const job = ctx.queue.enqueue(checked.workflow, clientId, id, answered);
    res.json({ prompt_id: job.id, number: job.number, node_errors: {} });
  });

  r.get('/queue', (_req, res) => {
    res.json({
      queue_running: ctx.store.list(['running']).map((j) => queueEntry(ctx, j)),
      queue_pending: ctx.store.list(['queued']).map((j) => queueEntry(ctx, j)),
    });
  });

  r.post('/queue', (req, res) => {
    const body = (req.body ?? {}) as { delete?: unknown; clear?: unknown };
    let deleted: string[] = [];
    if (body.clear === true) deleted = ctx.store.list(['queued']).map((j) => j.id);
    if (body.delete !== undefined) deleted = deleted.concat(idList(body.delete, 'delete'));
    const removed = ctx.store.deleteJobs(deleted, ['queued']);
    ctx.queue.forget(removed);
    ctx.queue.announceStatus();
    res.json({ deleted: removed });
  });

  r.post('/interrupt', (req, res) => {
    const body = (req.body ?? {}) as { prompt_id?: unknown };
    const id = typeof body.prompt_id === 'string' ? body.prompt_id : undefined;
    res.json({ interrupted: ctx.queue.interrupt(id) });
  });

  r.get('/history', (req, res) => {
    const max = Math.min(Math.max(Number(req.query.max_items ?? 200) || 200, 1), 10000);
    const offset = Math.max(Number(req.query.offset ?? 0) || 0, 0);
    const jobs = ctx.store.list(['done', 'error', 'cancelled', 'interrupted'], { limit: max, offset, newestFirst: true });
    res.json(Object.fromEntries(jobs.map((j) => [j.id, historyEntry(ctx, j)])));
  });

  r.get('/history/:id', (req, res) => {
    const job = ctx.store.get(String(req.params.id));
    // ComfyUI answers {} for a prompt it does not know (or has not finished); clients poll on that.
    if (!job || job.status === 'queued' || job.status === 'running') return void res.json({});
    res.json({ [job.id]: historyEntry(ctx, job) });
  });

  r.post('/history', (req, res) => {
    const body = (req.body ?? {}) as { delete?: unknown; clear?: unknown };
    const finished = ['done', 'error', 'cancelled', 'interrupted'] as const;
    let removed = 0;
    if (body.clear === true) removed += ctx.store.deleteAll(finished);
    if (body.delete !== undefined) removed += ctx.store.deleteJobs(idList(body.delete, 'delete'), finished).length;
    res.json({ deleted: removed });
  });

  r.get('/object_info', (_req, res) => {
    res.json(toObjectInfo(ctx.engine.nodeTypes()));
  });

  r.get('/object_info/:type', (req, res) => {
    const node = ctx.engine.nodeTypes().find((n) => n.type === req.params.type);
    // ComfyUI answers 200 {} for a type it does not have, and clients probe for extensions this way (the
    // comfyui-sdk reads a non-empty body as "installed"), so do exactly the same.
    if (!node) return void res.json({});
    res.json(toObjectInfo([node]));
  });

  // Read-only routes that ComfyUI clients call while connecting.
  r.get('/system_stats', (_req, res) => {
    res.json(systemStats());
  });

  // No textual-inversion embeddings exist here (prompts are encoded by KOSMOS-G's MLLM).
  r.get('/embeddings', (_req, res) => {
    res.json([]);
  });

  // The editor loads no ComfyUI frontend extensions.
  r.get('/extensions', (_req, res) => {
    res.json([]);
  });

  r.get('/view', async (req, res) => {
    const q = req.query as Record<string, unknown>;
    const filename = typeof q.filename === 'string' ? q.filename : '';
    const subfolder = typeof q.subfolder === 'string' ? q.subfolder : '';
    const type = typeof q.type === 'string' && q.type !== '' ? q.type : 'output';
    if (!filename) throw new HttpError(400, 'BAD_REQUEST', 'view: filename is required');
    // "checkpoints": training checkpoints kept across jobs under <data>/checkpoints (JobReporter.checkpointsRoot).
    const roots: Record<string, string> = { output: ctx.outputsDir, input: ctx.uploadsDir, checkpoints: path.join(ctx.dataDir, 'checkpoints') };
    const root = roots[type];
    if (!root) throw new HttpError(400, 'BAD_REQUEST', `view: type must be "output", "input" or "checkpoints", not "${type}"`);
    const file = await resolveExisting(root, subfolder, filename);
    const ext = path.extname(file).toLowerCase();
    // Never let a file from the data folder run as a page or script in the editor's origin.
    const mime = UNSAFE_INLINE.has(ext) ? 'application/octet-stream' : (MIME[ext] ?? 'application/octet-stream');
    res.setHeader('Content-Type', mime);
    res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
    res.sendFile(file, { dotfiles: 'deny', headers: { 'Content-Type': mime } });
  });

  r.post('/upload/image', express.raw({ type: () => true, limit: ctx.limits.uploadBytes }), async (req, res) => {
    const parts = parseMultipart(req.body as Buffer, boundaryOf(req.headers['content-type']));
    const image = parts.find((p) => p.name === 'image' && p.filename !== undefined);
    if (!image) throw new HttpError(400, 'BAD_MULTIPART', 'upload: expected a file part named "image"');
    const mime = sniffImage(image.data);
    if (!mime) throw new HttpError(415, 'NOT_AN_IMAGE', `upload: ${image.filename} is not a PNG, JPEG or WebP image`);
    const field = (name: string) => parts.find((p) => p.name === name && p.filename === undefined)?.data.toString('utf8');
    const type = field('type') ?? 'input';
    if (type !== 'input') throw new HttpError(400, 'BAD_REQUEST', `upload: type must be "input", not "${type}"`);
    const subfolder = field('subfolder') ?? '';
    const overwrite = field('overwrite') === 'true';
    const name = checkName(path.basename((image.filename ?? '').replace(/\\/g, '/')), 'filename');
    const dir = await resolveWritableDir(ctx.uploadsDir, subfolder, (p) => mkdir(p, { recursive: true }));
    const finalName = await storeUpload(dir, name, image.data, overwrite);
    // `path` (our addition) is what a PATH widget such as LoadImage.image takes: relative to the server's
    // working directory when inside it, else absolute.
    const stored = path.join(dir, finalName);
    const rel = path.relative(process.cwd(), stored);
    res.json({ name: finalName, subfolder, type: 'input', path: rel.startsWith('..') || path.isAbsolute(rel) ? stored : rel.split(path.sep).join('/') });
  });

  return r;
}
