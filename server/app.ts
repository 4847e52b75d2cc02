// The express app: security checks first, bounded JSON bodies, our /api routes, the ComfyUI routes (at / and,
// like ComfyUI, again under /api/), the editor's static files, then JSON 404s and errors.
import express, { type Express, type Request } from 'express';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerContext } from './context.ts';
import { errorMiddleware, sendError } from './errors.ts';
import { securityMiddleware, type SecurityPolicy } from './security.ts';
import { apiRoutes } from './routes/api.ts';
import { comfyRoutes } from './routes/comfy.ts';
import { comfySystemRoutes } from './routes/comfy-system.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const WEB_DIR = path.resolve(here, '..', 'web');

/** The folder holding litegraph.es.js and css/litegraph.css in the pinned @comfyorg/litegraph package. */
export function litegraphDist(): string {
  const require = createRequire(import.meta.url);
  // The package exports only its entry points; its dist folder is the entry's folder.
  return path.dirname(require.resolve('@comfyorg/litegraph'));
}

export function createApp(ctx: ServerContext, policy: SecurityPolicy): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(securityMiddleware(policy));
  // JSON for any content type but multipart: ComfyUI clients often post JSON without a Content-Type. Browsers
  // cannot send such cross-site requests past the Origin check above. Not strict: ComfyUI's frontend posts a
  // single setting as a bare JSON value (`"dark"`); routes that need an object check for one.
  const isJsonBody = (req: Request) => !String(req.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/');
  app.use(express.json({ limit: ctx.limits.jsonBytes, strict: false, type: (req) => isJsonBody(req as Request) && Number(req.headers['content-length'] ?? 1) > 0 }));
  app.use('/api', apiRoutes(ctx));
  app.use('/', comfyRoutes(ctx));
  app.use('/api', comfyRoutes(ctx));
  app.use('/', comfySystemRoutes(ctx));
  app.use('/api', comfySystemRoutes(ctx));
  app.use('/vendor/litegraph', express.static(litegraphDist(), { dotfiles: 'deny', index: false, fallthrough: true }));
  app.use('/', express.static(WEB_DIR, { dotfiles: 'deny', index: 'index.html', setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache') }));
  app.use((req, res) => sendError(res, 404, 'NOT_FOUND', `${req.method} ${req.path}: no such route`));
  app.use(errorMiddleware);
  return app;
}
