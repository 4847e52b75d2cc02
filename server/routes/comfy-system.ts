// The rest of ComfyUI's routes that clients and its frontend call: POST /free (unload models, free memory),
// GET /models and /models/{folder} (the model folders under <data>/models and their files), the frontend's
// /settings (one user's JSON object, kept in <data>/settings.json), /users (single-user mode) and /features.
// Mounted at / and under /api/ like the other ComfyUI routes.
import { Router } from 'express';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { dataFolders, serverFeatures, type ServerContext } from '../context.ts';
import { HttpError } from '../errors.ts';
import { checkName } from '../paths.ts';

/** Model files under `dir` (relative, `/`-separated, hidden entries skipped), sorted; [] when it does not exist. */
async function modelFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile() && !path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).some((s) => s.startsWith('.')))
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

async function modelFolders(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The stored settings; a missing or unreadable file is no settings. */
async function readSettings(file: string): Promise<Record<string, unknown>> {
  try {
    const parsed: unknown = JSON.parse(await readFile(file, 'utf8'));
    return isRecord(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

/** Temp file then rename: a crash mid-write leaves the previous settings, never half a file. */
async function writeSettings(file: string, settings: Record<string, unknown>): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, JSON.stringify(settings, null, 2));
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** Settings ids are the frontend's dotted names (`Comfy.Locale`); nothing that could be a prototype member. */
const SETTING_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/;

export function comfySystemRoutes(ctx: ServerContext): Router {
  const r = Router();
  const { modelsDir, settingsFile } = dataFolders(ctx.dataDir);
  // One writer at a time, so two POSTs cannot interleave their read-merge-write.
  let settingsWrite: Promise<unknown> = Promise.resolve();
  const updateSettings = (change: (s: Record<string, unknown>) => void) =>
    (settingsWrite = settingsWrite.catch(() => undefined).then(async () => {
      const settings = await readSettings(settingsFile);
      change(settings);
      await writeSettings(settingsFile, settings);
    }));

  r.post('/free', async (req, res) => {
    const body = isRecord(req.body) ? req.body : {};
    // ComfyUI frees nothing unless asked; either flag frees both here (models are among the cached values).
    if (body.unload_models !== true && body.free_memory !== true) return void res.json({ freed: false });
    let report: Awaited<ReturnType<typeof ctx.engine.free>> | undefined;
    const when = await ctx.queue.betweenJobs(async () => {
      report = await ctx.engine.free();
    });
    res.json({ freed: true, when, ...(report !== undefined ? { report } : {}) });
  });

  r.get('/models', async (_req, res) => {
    res.json(await modelFolders(modelsDir));
  });

  r.get('/models/:folder', async (req, res) => {
    const folder = checkName(String(req.params.folder), 'model folder');
    if (!(await modelFolders(modelsDir)).includes(folder)) throw new HttpError(404, 'NOT_FOUND', `no model folder "${folder}" (folders are the sub-folders of ${modelsDir})`);
    res.json(await modelFiles(path.join(modelsDir, folder)));
  });

  r.get('/settings', async (_req, res) => {
    res.json(await readSettings(settingsFile));
  });

  r.post('/settings', async (req, res) => {
    if (!isRecord(req.body)) throw new HttpError(400, 'BAD_REQUEST', 'settings: expected a JSON object');
    const bad = Object.keys(req.body).find((k) => !SETTING_ID.test(k));
    if (bad !== undefined) throw new HttpError(400, 'BAD_SETTING_ID', `settings: "${bad}" is not a setting id (letters, digits, _ . -)`);
    const changes = Object.entries(req.body);
    await updateSettings((s) => changes.forEach(([k, v]) => (s[k] = v)));
    res.json({ saved: changes.length });
  });

  r.get('/settings/:id', async (req, res) => {
    const id = String(req.params.id);
    if (!SETTING_ID.test(id)) throw new HttpError(400, 'BAD_SETTING_ID', `"${id}" is not a setting id`);
    const settings = await readSettings(settingsFile);
    res.json(Object.hasOwn(settings, id) ? settings[id] : null);
  });

  r.post('/settings/:id', async (req, res) => {
    const id = String(req.params.id);
    if (!SETTING_ID.test(id)) throw new HttpError(400, 'BAD_SETTING_ID', `"${id}" is not a setting id`);
    await updateSettings((s) => void (s[id] = req.body ?? null));
    res.json({ saved: 1 });
  });

  // Single-user mode, in ComfyUI's words: the frontend then uses the server's storage without a login.
  r.get('/users', (_req, res) => {
    res.json({ storage: 'server', migrated: true });
  });

  r.get('/features', (_req, res) => {
    res.json(serverFeatures(ctx.limits));
  });

  return r;
}
