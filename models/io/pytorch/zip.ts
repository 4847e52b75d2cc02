// A read-only zip reader for PyTorch checkpoints: finds the central directory (ZIP64 too: released checkpoints
// are several GB), and reads single entries on demand with positional reads, so a 5 GB file is never held in
// memory at once. Entries are stored (torch.save) or deflated (zlib).

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32, inflateRawSync } from 'node:zlib';
import { invalid } from './errors.ts';

/** Random access to the bytes of a file or buffer. */
export interface ByteSource {
  readonly size: number;
  /** Exactly `length` bytes at `offset` (throws when out of range), in a fresh, 8-byte aligned buffer. */
  read(offset: number, length: number): Uint8Array;
  close(): void;
}

export function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read(offset, length) {
      if (offset < 0 || offset + length > bytes.length) throw new RangeError(`read past the end (${offset}+${length} > ${bytes.length})`);
      return new Uint8Array(bytes.subarray(offset, offset + length)); // copy: callers may view it as Float32Array
    },
    close() {},
  };
}

export function fileSource(path: string): ByteSource {
  const fd = openSync(path, 'r');
  const size = fstatSync(fd).size;
  return {
    size,
    read(offset, length) {
      if (offset < 0 || offset + length > size) throw new RangeError(`read past the end (${offset}+${length} > ${size})`);
      const out = new Uint8Array(new ArrayBuffer(length));
      let done = 0;
      while (done < length) {
        // readSync reads at most 2 GB at a time.
        const n = readSync(fd, out, done, Math.min(length - done, 1 << 30), offset + done);
        if (n === 0) throw new RangeError(`unexpected end of file at ${offset + done}`);
        done += n;
      }
      return out;
    },
    close() {
      closeSync(fd);
    },
  };
}

export interface ZipEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const U32_MAX = 0xffffffff;

function u64(view: DataView, at: number): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('64-bit field too large');
  return Number(v);
}

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();

  constructor(
    private readonly source: ByteSource,
    readonly where: string,
  ) {
    try {
      this.readCentralDirectory();
    } catch (e) {
      if ((e as { code?: string }).code === 'TORCH_CKPT_INVALID') throw e;
      invalid(where, `not a readable zip archive (${(e as Error).message}); a truncated download?`);
    }
  }

  static open(path: string): ZipReader {
    return new ZipReader(fileSource(path), path);
  }

  static fromBytes(bytes: Uint8Array, where = 'buffer'): ZipReader {
    return new ZipReader(bufferSource(bytes), where);
  }

  close(): void {
    this.source.close();
  }

  private readCentralDirectory(): void {
    const { size } = this.source;
    if (size < 22) invalid(this.where, `${size} bytes is too short for a zip archive`);
    const tailLength = Math.min(size, 22 + 65535);
    const tail = this.source.read(size - tailLength, tailLength);
    const tv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
    let eocd = -1;
    for (let i = tailLength - 22; i >= 0; i--) {
      if (tv.getUint32(i, true) === EOCD) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) invalid(this.where, 'no zip end-of-central-directory record (not a zip, or truncated)');
    let count = tv.getUint16(eocd + 10, true);
    let cdSize = tv.getUint32(eocd + 12, true);
    let cdOffset = tv.getUint32(eocd + 16, true);
    if (count === 0xffff || cdSize === U32_MAX || cdOffset === U32_MAX) {
      const loc = eocd - 20;
      if (loc < 0 || tv.getUint32(loc, true) !== ZIP64_LOCATOR) invalid(this.where, 'ZIP64 locator missing');
      const recOffset = u64(tv, loc + 8);
      const rec = this.source.read(recOffset, 56);
      const rv = new DataView(rec.buffer);
      if (rv.getUint32(0, true) !== ZIP64_EOCD) invalid(this.where, 'ZIP64 end-of-central-directory record missing');
      count = u64(rv, 32);
      cdSize = u64(rv, 40);
      cdOffset = u64(rv, 48);
    }
    if (cdOffset + cdSize > size) invalid(this.where, 'central directory lies past the end of the file (truncated?)');
    const cd = this.source.read(cdOffset, cdSize);
    const v = new DataView(cd.buffer);
    const utf8 = new TextDecoder();
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cdSize || v.getUint32(p, true) !== CENTRAL) invalid(this.where, `central directory entry ${i} is damaged`);
      const method = v.getUint16(p + 10, true);
      const crc = v.getUint32(p + 16, true);
      let compressedSize = v.getUint32(p + 20, true);
      let entrySize = v.getUint32(p + 24, true);
      const nameLen = v.getUint16(p + 28, true);
      const extraLen = v.getUint16(p + 30, true);
      const commentLen = v.getUint16(p + 32, true);
      let localHeaderOffset = v.getUint32(p + 42, true);
      const name = utf8.decode(cd.subarray(p + 46, p + 46 + nameLen));
      // ZIP64 extra field: the 64-bit values of the fields that read 0xFFFFFFFF, in this order.
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = v.getUint16(e, true);
        const len = v.getUint16(e + 2, true);
        if (id === 0x0001) {
          let q = e + 4;
          if (entrySize === U32_MAX) (entrySize = u64(v, q)), (q += 8);
          if (compressedSize === U32_MAX) (compressedSize = u64(v, q)), (q += 8);
          if (localHeaderOffset === U32_MAX) localHeaderOffset = u64(v, q);
        }
        e += 4 + len;
      }
      this.entries.set(name, { name, method, crc32: crc, compressedSize, size: entrySize, localHeaderOffset });
      p = extraEnd + commentLen;
    }
  }

  /** Offset of an entry's data (after its local header). */
  private dataOffset(entry: ZipEntry): number {
    const header = this.source.read(entry.localHeaderOffset, 30);
    const hv = new DataView(header.buffer);
    if (hv.getUint32(0, true) !== LOCAL) invalid(this.where, `${entry.name}: local header damaged`);
    return entry.localHeaderOffset + 30 + hv.getUint16(26, true) + hv.getUint16(28, true);
  }

  /** The bytes of one entry. `verify` checks its CRC-32 (cheap for small entries such as data.pkl). */
  read(name: string, verify = false): Uint8Array {
    const entry = this.entries.get(name);
    if (!entry) invalid(this.where, `zip entry ${name} is missing`);
    let out: Uint8Array;
    try {
      const start = this.dataOffset(entry);
      if (entry.method === 0) {
        out = this.source.read(start, entry.size);
      } else if (entry.method === 8) {
        // Inflate no further than the size the directory declares: a small entry cannot expand into gigabytes.
        const raw = inflateRawSync(this.source.read(start, entry.compressedSize), { maxOutputLength: Math.max(1, entry.size) });
        out = new Uint8Array(new ArrayBuffer(raw.length));
        out.set(raw);
      } else {
        invalid(this.where, `${name}: unsupported zip compression method ${entry.method}`);
      }
    } catch (e) {
      if ((e as { code?: string }).code === 'TORCH_CKPT_INVALID') throw e;
      invalid(this.where, `${name}: cannot read (${(e as Error).message}); the file may be truncated`);
    }
    if (out.length !== entry.size) invalid(this.where, `${name}: expected ${entry.size} bytes, got ${out.length}`);
    if (verify && crc32(out) >>> 0 !== entry.crc32) invalid(this.where, `${name}: CRC-32 mismatch (corrupted file)`);
    return out;
  }
}
