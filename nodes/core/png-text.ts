// PNG text chunks: SaveImage embeds the workflow JSON in an iTXt chunk named "workflow" (UTF-8, uncompressed),
// so dropping the PNG into the editor restores the graph. Chunks are inserted before IEND; CRCs are computed here.

const SIGNATURE = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]);

let CRC_TABLE: Uint32Array | undefined;
function crc32(bytes: Uint8Array): number {
  if (CRC_TABLE === undefined) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

function isPng(png: Uint8Array): boolean {
  return png.length >= 8 && SIGNATURE.every((b, i) => png[i] === b);
}

/** A copy of `png` with iTXt chunks (keyword → UTF-8 text) inserted before IEND. */
export function addPngText(png: Uint8Array, entries: Record<string, string>): Buffer {
  if (!isPng(png)) throw new Error('addPngText: not a PNG');
  const buffer = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  let offset = 8;
  while (offset + 8 <= buffer.length) {
    const length = buffer.readUInt32BE(offset);
    const type = buffer.toString('latin1', offset + 4, offset + 8);
    if (type === 'IEND') break;
    offset += 12 + length;
  }
  const chunks = Object.entries(entries).map(([keyword, text]) =>
    // keyword, NUL, compression flag 0, method 0, empty language tag NUL, empty translated keyword NUL, text
    chunk('iTXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0, 0, 0, 0, 0]), Buffer.from(text, 'utf8')])),
  );
  return Buffer.concat([buffer.subarray(0, offset), ...chunks, buffer.subarray(offset)]);
}

/** Uncompressed tEXt and iTXt entries of a PNG (keyword → text); empty for anything that is not a PNG. */
export function readPngText(png: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isPng(png)) return out;
  const buffer = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  let offset = 8;
  while (offset + 12 <= buffer.length) {
    const length = buffer.readUInt32BE(offset);
    const type = buffer.toString('latin1', offset + 4, offset + 8);
    const end = offset + 8 + length;
    if (end + 4 > buffer.length) break;
    const data = buffer.subarray(offset + 8, end);
    const nul = data.indexOf(0);
    if (type === 'tEXt' && nul > 0) out[data.toString('latin1', 0, nul)] = data.toString('latin1', nul + 1);
    if (type === 'iTXt' && nul > 0 && data[nul + 1] === 0) {
      const lang = data.indexOf(0, nul + 3);
      const translated = lang < 0 ? -1 : data.indexOf(0, lang + 1);
      if (translated >= 0) out[data.toString('latin1', 0, nul)] = data.toString('utf8', translated + 1);
    }
    if (type === 'IEND') break;
    offset = end + 4;
  }
  return out;
}
