// GET /api/preview?path=P: the image a PATH widget names (LoadImage's `image`), so the editor can show it on the
// node before anything runs. Only what a workflow could read (the path policy's read roots) and only PNG, JPEG or
// WebP by their bytes; served inert (no script can run from it).
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { Request, Response } from 'express';
import type { ServerContext } from '../context.ts';
import { dataFolders } from '../context.ts';
import { HttpError } from '../errors.ts';
import { sniffImage } from '../multipart.ts';
import { pathPolicy } from '../path-policy.ts';

const MAX_BYTES = 32 * 1024 * 1024;

export function previewHandler(ctx: ServerContext): (req: Request, res: Response) => Promise<void> {
  const { dbFile, settingsFile } = dataFolders(ctx.dataDir);
  const policy = pathPolicy({ dataDir: ctx.dataDir, protectedFiles: [dbFile, settingsFile] });
  return async (req, res) => {
    const raw = typeof req.query.path === 'string' ? req.query.path : '';
    if (raw === '') throw new HttpError(400, 'BAD_REQUEST', 'preview: path is required');
    const file = path.resolve(raw);
    const refused = policy.check(file, 'read');
    if (refused !== undefined) throw new HttpError(403, 'PATH_FORBIDDEN', `preview: ${refused}`);
    let bytes: Buffer;
    try {
      const handle = await open(file, 'r');
      try {
        const { size } = await handle.stat();
        if (size > MAX_BYTES) throw new HttpError(413, 'TOO_LARGE', `preview: ${raw} is larger than ${MAX_BYTES} bytes`);
        bytes = Buffer.alloc(size);
        await handle.read(bytes, 0, size, 0);
      } finally {
        await handle.close();
      }
    } catch (error) {
      if (error instanceof HttpError) throw error;
      throw new HttpError(404, 'FILE_NOT_FOUND', `preview: cannot read ${raw}`);
    }
    const mime = sniffImage(bytes);
    if (mime === undefined) throw new HttpError(415, 'NOT_AN_IMAGE', `preview: ${raw} is not a PNG, JPEG or WebP image`);
    res.setHeader('Content-Type', mime);
    res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
    res.setHeader('Cache-Control', 'no-cache');
    res.end(bytes);
  };
}
