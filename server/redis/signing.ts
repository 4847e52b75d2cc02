// Worker tokens: the server and its workers share a secret; every job the server sends and every message a worker
// reports carries an HMAC-SHA256 of its text under that secret. Whoever can write to Redis but lacks the token can
// neither make workers run a workflow nor feed the server outputs. Without a token (Redis on loopback) nothing is
// signed and nothing is checked.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { QueueError, needsToken, type QueueTarget } from './connection.ts';

export function sign(token: string | undefined, text: string): string {
  return token === undefined ? '' : createHmac('sha256', token).update(text).digest('base64url');
}

export function verified(token: string | undefined, text: string, signature: string | undefined): boolean {
  if (token === undefined) return true;
  if (typeof signature !== 'string') return false;
  const want = Buffer.from(sign(token, text));
  const got = Buffer.from(signature);
  return want.length === got.length && timingSafeEqual(want, got);
}

/** Worker tokens are secrets of their own: as long as the server's HTTP token at least. */
export const MIN_TOKEN_LENGTH = 16;

/** A token, when given, is long enough; Redis beyond this machine needs one. */
export function checkToken(target: QueueTarget, token: string | undefined, who: string): void {
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) throw new QueueError('TOKEN_TOO_SHORT', `${who}: a worker token needs at least ${MIN_TOKEN_LENGTH} characters`);
  if (token === undefined && needsToken(target)) {
    throw new QueueError('TOKEN_REQUIRED', `${who}: Redis at ${target.host} is beyond this machine; give a worker token (--worker-token / --token or KOSMOS_G_WORKER_TOKEN)`);
  }
}
