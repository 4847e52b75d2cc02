// The core pack through the real engine: images in and out (workflow embedded in saved PNGs), tensors in and
// out of safetensors, primitives and arithmetic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import zlib from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { Registry } from '../../engine/registry.ts';
import { Executor } from '../../engine/execute.ts';
import { parseWorkflow } from '../../engine/format.ts';
import corePack from '../../nodes/core/index.ts';
import { fromFile, readPngText, toPng } from '../../nodes/core/image.ts';
import { imageValue } from '../../models/image.ts';
import { hostTensor } from '../../models/ops/ops.ts';
import { loadSafetensors, saveSafetensors } from '../../models/io/safetensors.ts';

const registry = new Registry();
registry.add(corePack);
const dir = mkdtempSync(path.join(os.tmpdir(), 'kg-core-'));

function workflow(nodes: unknown[]) {
  return parseWorkflow({ format: 'kosmos-g/workflow', version: 1, nodes });
}
const link = (node: string, output: string) => ({ node, output });

test('a 2×2 image survives PNG encode/decode exactly at 8 bits', async () => {
  // red, green / blue, white
  const data = Float32Array.from([1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1]);
  const image = imageValue(data, 1, 2, 2);
  const png = await toPng(image, 0, { workflow: '{"x":"ü"}' });
  assert.deepEqual(readPngText(png), { workflow: '{"x":"ü"}' });
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.width, meta.height, meta.channels], [2, 2, 3]);
  const p = path.join(dir, 'tiny.png');
  await sharp(png).toFile(p);
  assert.deepEqual(Array.from((await fromFile(p)).data), Array.from(data));
});

/** A valid PNG of a huge blank 1-bit grey canvas: a few kilobytes on disk, gigabytes as float pixels. */
function pngBomb(side: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(zlib.crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 1; // bit depth 1, colour type 0 (grey)
  const rows = Buffer.alloc(side * (1 + Math.ceil(side / 8))); // filter byte 0 + zero bits per row
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

test('an image declaring more than 8192 × 8192 pixels is refused before decoding (IMAGE_TOO_LARGE)', async () => {
  const p = path.join(dir, 'bomb.png');
  writeFileSync(p, pngBomb(9000));
  assert.ok(readFileSync(p).length < 200_000);
  await assert.rejects(fromFile(p), (e: { code?: string }) => e.code === 'IMAGE_TOO_LARGE');
});

test('LoadImage → ImageInvert → SaveImage writes PNGs with the workflow embedded; PreviewImage writes small ones', async () => {
  const source = path.join(dir, 'source.png');
  await sharp({ create: { width: 600, height: 300, channels: 4, background: { r: 255, g: 0, b: 51, alpha: 1 } } }).png().toFile(source);
  const wf = workflow([
    { id: 'load', type: 'LoadImage', widgets: { image: source } },
    { id: 'inv', type: 'ImageInvert', inputs: { image: link('load', 'image') } },
    { id: 'save', type: 'SaveImage', widgets: { filename_prefix: 'test' }, inputs: { images: link('inv', 'image') } },
    { id: 'preview', type: 'PreviewImage', inputs: { images: link('load', 'image') } },
    { id: 'w', type: 'PreviewValue', inputs: { value: link('load', 'width') } },
  ]);
  const out = path.join(dir, 'out');
  const executor = new Executor(registry);
  const result = await executor.run(wf, { outputDir: out });
  assert.equal(result.status, 'ok', JSON.stringify(result.errors));
  assert.deepEqual(result.outputs.w!.values, { value: 600 });
  const saved = result.outputs.save!.files;
  assert.equal(saved.length, 1);
  assert.equal(path.basename(saved[0]!.path), 'test_00001.png');
  const png = readFileSync(saved[0]!.path);
  assert.deepEqual(JSON.parse(readPngText(png).workflow!), wf, 'dropping the PNG restores the graph');
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, data[0], data[1], data[2]], [600, 300, 0, 255, 204]);
  const preview = readFileSync(result.outputs.preview!.files[0]!.path);
  assert.deepEqual(readPngText(preview), {});
  const pm = await sharp(preview).metadata();
  assert.deepEqual([pm.width, pm.height], [256, 128]);
  // a second run with a changed prefix does not overwrite: numbering continues per prefix
  const again = await executor.run(wf, { outputDir: out, overrides: { 'save.filename_prefix': 'test', 'inv.image': undefined } });
  assert.equal(again.status, 'error', 'an override of an input socket is reported, not applied');
  const renamed = await executor.run(wf, { outputDir: out, overrides: { 'save.filename_prefix': 'other' } });
  assert.equal(path.basename(renamed.outputs.save!.files[0]!.path), 'other_00001.png');
  assert.deepEqual(readdirSync(out).filter((n) => n.includes('.tmp')), []);
});

test('a missing image path fails validation with PATH_NOT_FOUND; a folder prefix is refused', async () => {
  const wf = workflow([
    { id: 'load', type: 'LoadImage', widgets: { image: path.join(dir, 'nope.png') } },
    { id: 'save', type: 'SaveImage', widgets: { filename_prefix: '../escape' }, inputs: { images: link('load', 'image') } },
  ]);
  const executor = new Executor(registry);
  assert.deepEqual(executor.validate(wf).map((i) => [i.code, i.node, i.input]), [['PATH_NOT_FOUND', 'load', 'image']]);
  const policy = new Executor(registry, { checkPath: (p) => (p.startsWith(dir) ? 'outside the allowed folders' : undefined) });
  assert.deepEqual(policy.validate(wf).map((i) => [i.code, i.node, i.input, i.message]), [['PATH_FORBIDDEN', 'load', 'image', 'outside the allowed folders']]);
  const source = path.join(dir, 'source2.png');
  await sharp({ create: { width: 4, height: 4, channels: 3, background: '#000' } }).png().toFile(source);
  const result = await executor.run(wf, { overrides: { 'load.image': source }, outputDir: path.join(dir, 'x') });
  assert.deepEqual(result.errors.map((e) => [e.code, e.node]), [['FILENAME_PREFIX', 'save']]);
});

test('LoadTensor → TensorMath → SaveTensor', async () => {
  const input = path.join(dir, 'in.safetensors');
  await saveSafetensors(input, new Map([['x', hostTensor(Float32Array.from([1, 2, 3, 4]), [2, 2])], ['y', hostTensor(Float32Array.from([10]), [1])]]));
  const wf = workflow([
    { id: 'x', type: 'LoadTensor', widgets: { file: input, name: 'x' } },
    { id: 'y', type: 'LoadTensor', widgets: { file: input, name: 'y' } },
    { id: 'scaled', type: 'TensorMath', widgets: { op: 'scale', scale: 0.5 }, inputs: { a: link('x', 'tensor') } },
    { id: 'sum', type: 'TensorMath', widgets: { op: 'add' }, inputs: { a: link('scaled', 'tensor'), b: link('y', 'tensor') } },
    { id: 'save', type: 'SaveTensor', widgets: { name: 'result' }, inputs: { tensor: link('sum', 'tensor') } },
  ]);
  const result = await new Executor(registry).run(wf, { outputDir: path.join(dir, 'tensors') });
  assert.equal(result.status, 'ok', JSON.stringify(result.errors));
  const saved = await loadSafetensors(result.outputs.save!.files[0]!.path);
  assert.deepEqual(saved.get('result'), hostTensor(Float32Array.from([10.5, 11, 11.5, 12]), [2, 2]));
  const noName = await new Executor(registry).run(wf, { overrides: { 'x.name': '' }, outputDir: path.join(dir, 'tensors') });
  assert.deepEqual(noName.errors.map((e) => [e.code, e.node]), [['TENSOR_NAME', 'x']]);
});

test('primitives feed widgets; Arithmetic reports non-finite results', async () => {
  const wf = workflow([
    { id: 'i', type: 'Int', widgets: { value: 6 } },
    { id: 'f', type: 'Float', widgets: { value: 0.5 } },
    { id: 'm', type: 'Arithmetic', widgets: { op: 'mul' }, inputs: { a: link('i', 'value'), b: link('f', 'value') } },
    { id: 'show', type: 'PreviewValue', inputs: { value: link('m', 'result') } },
  ]);
  const executor = new Executor(registry);
  assert.deepEqual((await executor.run(wf)).outputs.show!.values, { value: 3 });
  const div = await executor.run(wf, { overrides: { 'm.op': 'div', 'f.value': 0 } });
  assert.deepEqual(div.errors.map((e) => [e.code, e.node]), [['MATH_NOT_FINITE', 'm']]);
});
