// Reading a workflow embedded in a PNG (tEXt, zTXt or iTXt chunk with keyword "workflow"), in the browser.
const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(bytes) {
  return bytes.length >= 8 && SIGNATURE.every((b, i) => bytes[i] === b);
}

async function inflate(data) {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The text chunks of a PNG, keyword → text. */
export async function pngTextChunks(bytes) {
  if (!isPng(bytes)) throw new Error('not a PNG file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const latin1 = new TextDecoder('latin1');
  const utf8 = new TextDecoder('utf-8');
  const out = {};
  let pos = 8;
  while (pos + 8 <= bytes.length) {
    const length = view.getUint32(pos);
    const type = latin1.decode(bytes.subarray(pos + 4, pos + 8));
    const data = bytes.subarray(pos + 8, pos + 8 + length);
    if (pos + 12 + length > bytes.length) break;
    if (type === 'tEXt' || type === 'zTXt' || type === 'iTXt') {
      const nul = data.indexOf(0);
      const keyword = latin1.decode(data.subarray(0, nul));
      if (type === 'tEXt') out[keyword] = latin1.decode(data.subarray(nul + 1));
      else if (type === 'zTXt') out[keyword] = latin1.decode(await inflate(data.subarray(nul + 2)));
      else {
        const compressed = data[nul + 1] === 1;
        let p = nul + 3;
        p = data.indexOf(0, p) + 1; // language tag
        p = data.indexOf(0, p) + 1; // translated keyword
        const text = data.subarray(p);
        out[keyword] = utf8.decode(compressed ? await inflate(text) : text);
      }
    }
    if (type === 'IEND') break;
    pos += 12 + length;
  }
  return out;
}

/** The workflow JSON carried by a PNG, or throws a readable error. */
export async function workflowFromPng(bytes) {
  const chunks = await pngTextChunks(bytes);
  const text = chunks.workflow ?? chunks['kosmos-g/workflow'];
  if (text === undefined) throw new Error('this PNG carries no "workflow" text chunk');
  return JSON.parse(text);
}
