// Our own routes, under /api/, for what ComfyUI lacks: validation without running, one job's record and
// recorded events, cancelling one job, the node catalogue and named workflows.
import { Router } from 'express';
import type { ServerContext } from '../context.ts';
import { HttpError } from '../errors.ts';
import { checkSubmission } from '../submit.ts';
import type { JobRecord, JobStatus } from '../store.ts';
import { FINISHED } from '../store.ts';
import { previewHandler } from './preview.ts';

const WORKFLOW_NAME = /^[A-Za-z0-9][A-Za-z0-9 _.()-]{0,99}$/;
const STATUSES: readonly JobStatus[] = ['queued', 'running', 'done', 'error', 'cancelled', 'interrupted'];

function jobView(job: JobRecord, withWorkflow: boolean): Record<string, unknown> {
  const { workflow, ...rest } = job;
  return withWorkflow ? { ...rest, workflow } : rest;
}

function workflowName(raw: string | string[] | undefined): string {
  const name = String(raw ?? '');
  if (!WORKFLOW_NAME.test(name)) throw new HttpError(400, 'BAD_NAME', `workflow name "${name}": use 1-100 letters, digits, space, _ . ( ) -`);
  return name;
}

export function apiRoutes(ctx: ServerContext): Router {
  const r = Router();

  r.post('/validate', (req, res) => {
    const checked = checkSubmission(ctx, req.body);
    res.json({ ok: checked.issues.length === 0, issues: checked.issues, node_errors: checked.nodeErrors });
  });

  // ComfyUI's API format of a workflow (the editor's "Export API"); only a valid one.
  r.post('/export', (req, res) => {
    const checked = checkSubmission(ctx, req.body);
    if (checked.issues.length > 0) {
      throw new HttpError(400, 'VALIDATION_FAILED', `the workflow has ${checked.issues.length} problem(s)`, { issues: checked.issues, node_errors: checked.nodeErrors });
    }
    res.json({ format: 'comfy-api', prompt: ctx.engine.toApiPrompt(checked.workflow) });
  });

  r.get('/jobs', (req, res) => {
    const q = req.query as Record<string, unknown>;
    const wanted = typeof q.status === 'string' ? q.status.split(',') : STATUSES;
    const bad = wanted.filter((s) => !STATUSES.includes(s as JobStatus));
    if (bad.length) throw new HttpError(400, 'BAD_REQUEST', `status: unknown value(s) ${bad.join(', ')}`);
    const limit = Math.min(Math.max(Number(q.limit ?? 100) || 100, 1), 1000);
    const offset = Math.max(Number(q.offset ?? 0) || 0, 0);
    const jobs = ctx.store.list(wanted as JobStatus[], { limit, offset, newestFirst: true });
    res.json({ jobs: jobs.map((j) => jobView(j, false)), running: ctx.queue.runningId });
  });

  r.get('/jobs/:id', (req, res) => {
    const job = ctx.store.get(req.params.id);
    if (!job) throw new HttpError(404, 'JOB_NOT_FOUND', `no job ${req.params.id}`);
    res.json(jobView(job, true));
  });

  r.get('/jobs/:id/events', (req, res) => {
    const job = ctx.store.get(req.params.id);
    if (!job) throw new HttpError(404, 'JOB_NOT_FOUND', `no job ${req.params.id}`);
    const after = Math.max(Number((req.query as Record<string, unknown>).after ?? 0) || 0, 0);
    res.json({ id: job.id, status: job.status, events: ctx.store.events(job.id, after) });
  });

  r.post('/jobs/:id/cancel', (req, res) => {
    const result = ctx.queue.cancel(req.params.id);
    if (result === 'not_found') throw new HttpError(404, 'JOB_NOT_FOUND', `no job ${req.params.id}`);
    if (result === 'finished') {
      const job = ctx.store.get(req.params.id)!;
      throw new HttpError(409, 'JOB_FINISHED', `job ${job.id} has already finished (${job.status})`);
    }
    res.json({ id: req.params.id, status: result });
  });

  r.get('/nodes', (_req, res) => {
    res.json({ catalogue: ctx.engine.catalogue(), nodes: ctx.engine.nodeTypes(), loadErrors: ctx.engine.loadErrors() });
  });

  r.get('/workflows', (_req, res) => {
    res.json({ workflows: ctx.store.listWorkflows() });
  });

  r.get('/default-workflow', async (_req, res) => {
    res.json((await ctx.defaultWorkflow()) ?? { name: null, workflow: null });
  });

  r.get('/workflows/:name', (req, res) => {
    const name = workflowName(req.params.name);
    const wf = ctx.store.getWorkflow(name);
    if (wf === undefined) throw new HttpError(404, 'WORKFLOW_NOT_FOUND', `no saved workflow "${name}"`);
    res.json(wf);
  });

  r.put('/workflows/:name', (req, res) => {
    const name = workflowName(req.params.name);
    let wf: unknown;
    try {
      wf = ctx.engine.parseWorkflow(req.body);
    } catch (err) {
      const e = err as { code?: string; message?: string; issues?: unknown };
      if (typeof e.code !== 'string') throw err;
      throw new HttpError(400, e.code, `workflow "${name}": ${e.message}`, { issues: e.issues ?? [] });
    }
    // Editor-only fields (pos, size, groups, extra) are kept exactly as sent: store what the client saved.
    ctx.store.saveWorkflow(name, req.body ?? wf);
    res.json({ name, saved: true });
  });

  r.delete('/workflows/:name', (req, res) => {
    const name = workflowName(req.params.name);
    if (!ctx.store.deleteWorkflow(name)) throw new HttpError(404, 'WORKFLOW_NOT_FOUND', `no saved workflow "${name}"`);
    res.json({ name, deleted: true });
  });

  r.get('/preview', previewHandler(ctx));
  r.get('/workers', (_req, res) => {
    res.json({ queue: ctx.queue.kind, workers: ctx.queue.workers() });
  });

  r.get('/status', (_req, res) => {
    res.json({ queue_remaining: ctx.queue.queueRemaining(), running: ctx.queue.runningId, clients: ctx.hub.clientCount, finished: ctx.store.count(FINISHED) });
  });

  return r;
}
