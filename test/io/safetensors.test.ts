import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hostTensor } from '../../models/ops/ops.ts';
import {
  floatBitsToBFloat,
  floatBitsToHalf,
  loadSafetensors,
  openSafetensors,
  parseSafetensors,
  readSafetensorsHeader,
  saveSafetensors,
} from '../../models/io/safetensors.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'kg-st-'));
const file = (name: string) => path.join(dir, name);

/** A safetensors file from a header object and raw data bytes (headers may lie: that is the point). */
function rawFile(name: string, header: unknown, data: Uint8Array, headerLength?: number): string {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerLength ?? json.length));
  writeFileSync(file(name), Buffer.concat([len, json, data]));
  return file(name);
}

async function rejects(p: string, pattern: RegExp, code = 'SAFETENSORS_INVALID'): Promise<void> {
  await assert.rejects(loadSafetensors(p), (e: unknown) => {
    const err = e as { code?: string; message: string };
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    assert.ok(err.message.startsWith(p), 'the message names the file');
    return true;
  });
}

test('round trip F32 and I32 with metadata; the file is written atomically', async () => {
  const tensors = new Map([
    ['weight', hostTensor(Float32Array.from([1.5, -2, 3.25, Math.PI, -0, 1e-30]), [2, 3])],
    ['ids', hostTensor(Int32Array.from([0, -1, 2147483647, -2147483648]), [4])],
    ['empty', hostTensor(new Float32Array(0), [0, 5])],
  ]);
  await saveSafetensors(file('a.safetensors'), tensors, { format: 'pt', note: 'ü' });
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('.tmp')), []);
  const header = await readSafetensorsHeader(file('a.safetensors'));
  assert.deepEqual(header.metadata, { format: 'pt', note: 'ü' });
  assert.equal(header.dataStart % 8, 0, 'header padded to 8 bytes');
  assert.deepEqual(header.tensors.get('weight'), { dtype: 'F32', shape: [2, 3], dataOffsets: [0, 24] });
  const loaded = await loadSafetensors(file('a.safetensors'));
  assert.deepEqual([...loaded.keys()], ['weight', 'ids', 'empty']);
  for (const [name, t] of tensors) assert.deepEqual(loaded.get(name), t, name);
  const inMemory = parseSafetensors(readFileSync(file('a.safetensors')));
  assert.deepEqual(inMemory.tensors.get('ids'), tensors.get('ids'));
  // tensor by tensor, only what is asked for
  const reader = await openSafetensors(file('a.safetensors'));
  assert.deepEqual((await reader.read('ids')).data, tensors.get('ids')!.data);
  await assert.rejects(reader.read('nope'), /no tensor "nope"/);
  await reader.close();
  assert.deepEqual([...(await loadSafetensors(file('a.safetensors'), (n) => n === 'ids')).keys()], ['ids']);
});

test('F16 decodes exactly: known values and every bit pattern round-trips', async () => {
  const halves = Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x7c00, 0xfc00, 0x8000, 0x3555, 0x7e00]);
  const p = rawFile('f16.safetensors', { h: { dtype: 'F16', shape: [halves.length], data_offsets: [0, halves.byteLength] } }, new Uint8Array(halves.buffer));
  const got = Array.from((await loadSafetensors(p)).get('h')!.data);
  const expected = [1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, Infinity, -Infinity, -0, 0.333251953125, NaN];
  assert.deepEqual(got, expected);
  assert.ok(Object.is(got[8], -0));

  const all = new Uint16Array(65536).map((_, i) => i);
  const q = rawFile('f16-all.safetensors', { h: { dtype: 'F16', shape: [65536], data_offsets: [0, 131072] } }, new Uint8Array(all.buffer));
  const decoded = (await loadSafetensors(q)).get('h')!.data as Float32Array;
  const bits = new Uint32Array(decoded.buffer, decoded.byteOffset, decoded.length);
  for (let h = 0; h < 65536; h++) {
    const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    if (isNaN) assert.ok(Number.isNaN(decoded[h]));
    else assert.equal(floatBitsToHalf(bits[h]!), h, `half 0x${h.toString(16)}`);
  }
});

test('BF16 decodes exactly and F16/BF16 encoding rounds to nearest even', async () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const p = rawFile('bf16.safetensors', { b: { dtype: 'BF16', shape: [256, 256], data_offsets: [0, 131072] } }, new Uint8Array(all.buffer));
  const decoded = (await loadSafetensors(p)).get('b')!;
  assert.deepEqual(decoded.shape, [256, 256]);
  const bits = new Uint32Array((decoded.data as Float32Array).buffer);
  for (let h = 0; h < 65536; h++) assert.equal(bits[h], h << 16 >>> 0);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const half = (x: number) => ((f[0] = x), floatBitsToHalf(u[0]!));
  const bf = (x: number) => ((f[0] = x), floatBitsToBFloat(u[0]!));
  assert.equal(half(1 + 2 ** -11), 0x3c00, 'tie rounds to even (down)');
  assert.equal(half(1 + 3 * 2 ** -11), 0x3c02, 'tie rounds to even (up)');
  assert.equal(half(65520), 0x7c00, 'overflow to infinity');
  assert.equal(half(2 ** -25), 0x0000, 'half the smallest subnormal ties to zero');
  assert.equal(half(1.5 * 2 ** -25), 0x0001);
  assert.equal(bf(1 + 2 ** -8), 0x3f80, 'bf16 tie to even');
  assert.equal(bf(1 + 3 * 2 ** -8), 0x3f82);
  // saving as F16 then loading gives the rounded values
  await saveSafetensors(file('h.safetensors'), new Map([['x', hostTensor(Float32Array.from([0.1, 1 / 3, 1000.7]), [3])]]), undefined, { floatDType: 'F16' });
  const back = (await loadSafetensors(file('h.safetensors'))).get('x')!.data;
  assert.deepEqual(Array.from(back), [0.0999755859375, 0.333251953125, 1000.5]);
});

test('I64, U8, I8, BOOL and F64 are read into int32 / float32', async () => {
  const i64 = new BigInt64Array([5n, -7n, 2147483647n]);
  const data = Buffer.concat([Buffer.from(i64.buffer), Buffer.from([0, 255, 7]), Buffer.from(Int8Array.from([-3]).buffer), Buffer.from(new Float64Array([0.5, 1e300]).buffer)]);
  const p = rawFile(
    'ints.safetensors',
    {
      i: { dtype: 'I64', shape: [3], data_offsets: [0, 24] },
      u: { dtype: 'U8', shape: [3], data_offsets: [24, 27] },
      s: { dtype: 'I8', shape: [1], data_offsets: [27, 28] },
      d: { dtype: 'F64', shape: [2], data_offsets: [28, 44] },
    },
    data,
  );
  const t = await loadSafetensors(p);
  assert.deepEqual(t.get('i'), { data: Int32Array.from([5, -7, 2147483647]), shape: [3], dtype: 'int32' });
  assert.deepEqual(t.get('u')!.data, Int32Array.from([0, 255, 7]));
  assert.deepEqual(t.get('s')!.data, Int32Array.from([-3]));
  assert.deepEqual(Array.from(t.get('d')!.data), [0.5, Infinity]);
  const big = rawFile('i64big.safetensors', { i: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, Buffer.from(new BigInt64Array([1n << 40n]).buffer));
  await rejects(big, /tensor "i": I64 value 1099511627776/, 'SAFETENSORS_RANGE');
});

test('corrupt files are rejected naming the file and tensor', async () => {
  const ok = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  await rejects(rawFile('truncated.safetensors', ok, new Uint8Array(4)), /tensor "w".*truncated/);
  await rejects(rawFile('lying-length.safetensors', ok, new Uint8Array(8), 10_000), /header claims 10000 bytes/);
  await rejects(rawFile('huge-length.safetensors', ok, new Uint8Array(8), 2 ** 40), /not a safetensors file/);
  await rejects(
    rawFile('overlap.safetensors', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12)),
    /tensor "b".*overlap tensor "a"/,
  );
  await rejects(rawFile('out-of-range.safetensors', { w: { dtype: 'F32', shape: [2], data_offsets: [100, 108] } }, new Uint8Array(8)), /tensor "w": data ends at byte 108/);
  await rejects(rawFile('wrong-size.safetensors', { w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor "w": F32 \[3\] needs 12 bytes/);
  await rejects(rawFile('negative.safetensors', { w: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor "w": shape/);
  await rejects(rawFile('dtype.safetensors', { w: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor "w": dtype C64/, 'SAFETENSORS_DTYPE');
  await rejects(rawFile('meta.safetensors', { __metadata__: { n: 1 } }, new Uint8Array(0)), /__metadata__/);
  writeFileSync(file('json.safetensors'), Buffer.concat([Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{"a":')]));
  await rejects(file('json.safetensors'), /not valid JSON/);
  writeFileSync(file('tiny.safetensors'), Buffer.from([1, 2]));
  await rejects(file('tiny.safetensors'), /too short/);
  await rejects(file('absent.safetensors'), /no such file/, 'FILE_NOT_FOUND');
  assert.throws(() => parseSafetensors(new Uint8Array(3), 'upload'), /upload: only 3 bytes/);
});
