// Security checks shared by HTTP and WebSocket: token, Host (DNS rebinding) and Origin (CSRF / cross-site WS).
import type { IncomingMessage } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { sendError } from './errors.ts';

export interface SecurityPolicy {
  /** Required on every request when set (Authorization: Bearer, ?token=, or the cookie set after ?token=). */
  token?: string;
  /** The host the server is bound to; with a wildcard bind any Host is accepted (the token guards access). */
  boundHost: string;
  /** Filled in once listening: the port clients address. */
  port: number;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);
export const TOKEN_COOKIE = 'kosmos_g_token';

export function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

function hostnameOf(hostHeader: string): string {
  // "[::1]:8188" → "[::1]"; "localhost:8188" → "localhost"
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1);
  return hostHeader.split(':')[0]!;
}

function portOf(hostHeader: string): string | undefined {
  const m = /:(\d+)$/.exec(hostHeader);
  return m?.[1];
}

/** A Host header naming a name other than loopback or the bound host is a DNS-rebinding attempt. */
export function hostAllowed(hostHeader: string | undefined, policy: SecurityPolicy): boolean {
  if (!hostHeader) return false;
  if (isWildcard(policy.boundHost) && policy.token) return true;
  const name = hostnameOf(hostHeader.toLowerCase());
  const bound = policy.boundHost.toLowerCase();
  return isLoopback(name) || name === bound || name === `[${bound}]`;
}

/** An Origin must be an http(s) origin whose host is allowed and whose port is the server's; `null` never is. */
export function originAllowed(origin: string | undefined, policy: SecurityPolicy): boolean {
  if (origin === undefined) return true; // not a browser request (scripts, curl): the token and Host checks apply
  if (origin === 'null') return false;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  if (port !== String(policy.port)) return false;
  const name = url.hostname.toLowerCase();
  const bound = policy.boundHost.toLowerCase();
  if (isLoopback(name) || name === bound || `[${name}]` === bound || name === `[${bound}]`) return true;
  return isWildcard(policy.boundHost) && Boolean(policy.token) && hostnameOf(url.host) === name;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The request target (path and query) as a URL, or undefined when it does not parse (e.g. `//[`). Everything here
 * runs before any route and, for WebSocket upgrades, outside express: a throw would take the process down.
 */
export function requestUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

function cookieToken(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k !== TOKEN_COOKIE) continue;
    const value = v.join('=');
    try {
      return decodeURIComponent(value);
    } catch {
      return value; // malformed percent-encoding: compared as sent, so it is simply the wrong token
    }
  }
  return undefined;
}

/** Which token the request presents, and how. */
export function presentedToken(req: IncomingMessage): { token?: string; via?: 'header' | 'query' | 'cookie' } {
  // The scheme name is case-insensitive (RFC 7235 §2.1): `bearer x` is as good as `Bearer x`.
  const bearer = /^bearer +(.*)$/i.exec(req.headers.authorization ?? '');
  if (bearer) return { token: bearer[1]!.trim(), via: 'header' };
  const q = requestUrl(req)?.searchParams.get('token');
  if (q) return { token: q, via: 'query' };
  const c = cookieToken(req.headers.cookie);
  if (c) return { token: c, via: 'cookie' };
  return {};
}

export type Verdict = { ok: true } | { ok: false; status: number; code: string; message: string };

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The whole check for one request (HTTP or WebSocket upgrade, which is always checked like a state change). */
export function checkRequest(req: IncomingMessage, policy: SecurityPolicy, upgrade = false): Verdict {
  if (requestUrl(req) === undefined) return { ok: false, status: 400, code: 'BAD_REQUEST', message: 'the request target is not a valid path' };
  if (!hostAllowed(req.headers.host, policy)) {
    return { ok: false, status: 403, code: 'BAD_HOST', message: `Host "${req.headers.host ?? ''}" is not this server (DNS rebinding?)` };
  }
  if (policy.token) {
    const { token } = presentedToken(req);
    if (!token) return { ok: false, status: 401, code: 'TOKEN_REQUIRED', message: 'this server requires a token (Authorization: Bearer <token>)' };
    if (!safeEqual(token, policy.token)) return { ok: false, status: 401, code: 'TOKEN_INVALID', message: 'the token is wrong' };
  }
  if (upgrade || STATE_CHANGING.has(req.method ?? 'GET')) {
    const origin = req.headers.origin;
    if (!originAllowed(origin, policy)) {
      return { ok: false, status: 403, code: 'BAD_ORIGIN', message: `Origin "${origin}" may not ${upgrade ? 'open a WebSocket' : 'change state'} here` };
    }
    // Browsers that send no Origin still send Sec-Fetch-Site on cross-site requests.
    if (req.headers['sec-fetch-site'] === 'cross-site') {
      return { ok: false, status: 403, code: 'BAD_ORIGIN', message: 'cross-site requests may not change state' };
    }
  }
  return { ok: true };
}

export function securityMiddleware(policy: SecurityPolicy) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const v = checkRequest(req, policy);
    if (!v.ok) return sendError(res, v.status, v.code, `${req.method} ${req.path}: ${v.message}`);
    // A token given in the URL (the link printed at start-up) becomes a same-site cookie, so the editor's own
    // requests for scripts and styles carry it.
    if (policy.token && presentedToken(req).via === 'query') {
      res.cookie(TOKEN_COOKIE, policy.token, { httpOnly: true, sameSite: 'strict', path: '/' });
    }
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  };
}
