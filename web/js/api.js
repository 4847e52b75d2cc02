// The editor is a client of the same HTTP/WebSocket API scripts use. A token given in the page URL (?token=)
// is sent on every request; the server also sets it as a same-site cookie for the page's static files.
const token = new URLSearchParams(location.search).get('token');

function headers(extra = {}) {
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

/** JSON request; resolves to {status, body}; never throws for HTTP errors (the caller shows them). */
export async function request(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: headers(body !== undefined ? { 'content-type': 'application/json' } : {}),
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  let parsed = null;
  try {
    parsed = await res.json();
  } catch {
    parsed = null;
  }
  return { status: res.status, body: parsed };
}

export function viewUrl(file) {
  const q = new URLSearchParams({ filename: file.filename, subfolder: file.subfolder ?? '', type: file.type ?? 'output' });
  if (token) q.set('token', token);
  return `/view?${q}`;
}

/** The image a PATH widget names, as the server previews it (GET /api/preview). */
export function previewUrl(filePath) {
  const q = new URLSearchParams({ path: filePath });
  if (token) q.set('token', token);
  return `/api/preview?${q}`;
}

export function wsUrl(clientId) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = new URLSearchParams({ clientId });
  if (token) q.set('token', token);
  return `${proto}//${location.host}/ws?${q}`;
}

/** Uploads an image (POST /upload/image); resolves to the server's answer {name, subfolder, type, path}. */
export async function uploadImage(file) {
  const form = new FormData();
  form.append('image', file, file.name);
  const res = await fetch('/upload/image', { method: 'POST', headers: headers(), body: form });
  const body = await res.json().catch(() => null);
  if (res.status !== 200) throw new Error(body?.error?.message ?? `upload failed (${res.status})`);
  return body;
}
