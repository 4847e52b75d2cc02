// A small, bounded multipart/form-data parser for /upload/image (the body arrives whole, already size-limited by
// express.raw). Malformed bodies throw HttpError 400; it never reads past the buffer.
import { HttpError } from './errors.ts';

export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

const MAX_PARTS = 16;
const MAX_HEADER_BYTES = 4096;

export function boundaryOf(contentType: string | undefined): string {
  const m = /^multipart\/form-data\s*;.*\bboundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType ?? '');
  const b = m?.[1] ?? m?.[2];
  if (!b) throw new HttpError(400, 'BAD_MULTIPART', 'expected Content-Type multipart/form-data with a boundary');
  return b;
}

function headerParam(header: string, key: string): string | undefined {
  const m = new RegExp(`\\b${key}="([^"]*)"`, 'i').exec(header) ?? new RegExp(`\\b${key}=([^;\\s]+)`, 'i').exec(header);
  return m?.[1];
}

export function parseMultipart(body: Buffer, boundary: string): FormPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: FormPart[] = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new HttpError(400, 'BAD_MULTIPART', 'multipart body has no boundary line');
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break; // closing delimiter
    if (body.subarray(pos, pos + 2).toString() !== '\r\n') throw new HttpError(400, 'BAD_MULTIPART', `malformed boundary at byte ${pos}`);
    pos += 2;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd < 0 || headerEnd - pos > MAX_HEADER_BYTES) throw new HttpError(400, 'BAD_MULTIPART', `part headers at byte ${pos} are missing or too long`);
    const headers = body.subarray(pos, headerEnd).toString('utf8');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    if (next < 0) throw new HttpError(400, 'BAD_MULTIPART', 'multipart body ends inside a part');
    const disposition = /^content-disposition:(.*)$/im.exec(headers)?.[1] ?? '';
    const name = headerParam(disposition, 'name');
    if (!name) throw new HttpError(400, 'BAD_MULTIPART', `part at byte ${pos} has no name`);
    const filename = headerParam(disposition, 'filename');
    const contentType = /^content-type:\s*(.*)$/im.exec(headers)?.[1]?.trim();
    parts.push({ name, ...(filename !== undefined ? { filename } : {}), ...(contentType ? { contentType } : {}), data: body.subarray(headerEnd + 4, next) });
    if (parts.length > MAX_PARTS) throw new HttpError(400, 'BAD_MULTIPART', `more than ${MAX_PARTS} parts`);
    pos = next + 2;
  }
  return parts;
}

/** The image type from its first bytes; uploads that are not PNG, JPEG or WebP are refused. */
export function sniffImage(data: Buffer): 'image/png' | 'image/jpeg' | 'image/webp' | undefined {
  if (data.length >= 8 && data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return 'image/jpeg';
  if (data.length >= 12 && data.subarray(0, 4).toString() === 'RIFF' && data.subarray(8, 12).toString() === 'WEBP') return 'image/webp';
  return undefined;
}
