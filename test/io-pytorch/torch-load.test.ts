import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hostTensor } from '../../models/ops/ops.ts';
import {
  PickleObject,
  PyFloat,
  PyTuple,
  TorchCheckpoint,
  TorchStorage,
  TorchTensor,
  loadTorchCheckpoint,
  readPickle,
  readStateDict,
  saveTorchCheckpoint,
  torchSaveBytes,
  torchTensor,
  writeZip,
} from '../../models/io/pytorch/index.ts';
import { ZipReader } from '../../models/io/pytorch/zip.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'torch-ckpt-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function f32(...v: number[]) {
  return Float32Array.from(v);
}

/** A small fairseq-shaped checkpoint: args/cfg/model/optimizer_history/extra_state (spec §1.11). */
function fairseqLike() {
  const embed = new TorchStorage(f32(1, 2, 3, 4, 5, 6)); // tied: embed_tokens and output_projection share it
  const model = new Map<string, unknown>([
    ['gpt_model.decoder.embed_tokens.weight', new TorchTensor(embed, [3, 2])],
    ['gpt_model.decoder.output_projection.weight', new TorchTensor(embed, [3, 2])],
    // A transposed (non-contiguous) view of a 2×3 storage and a slice with an offset.
    ['aligner.encoder_query', new TorchTensor(new TorchStorage(f32(1, 2, 3, 4, 5, 6)), [3, 2], [1, 3])],
    ['img_connector.latent_query', new TorchTensor(new TorchStorage(f32(9, 8, 7, 6, 5)), [2, 2], [2, 1], 1)],
    ['half', torchTensor(hostTensor(f32(0.5, -2, 65504, 1 / 1024, 2 ** -24, 1 + 2 ** -11, 7e4), [7]), 'float16')],
    ['bf16', torchTensor(hostTensor(f32(1.5, -3, 256, 1 + 2 ** -8), [4]), 'bfloat16')],
    ['position_ids', torchTensor(hostTensor(Int32Array.from([0, 1, 2]), [1, 3]), 'int64')],
    ['f64', torchTensor(hostTensor(f32(0.25), []), 'float64')],
    ['mask', torchTensor(hostTensor(Int32Array.from([1, 0]), [2]), 'bool')],
  ]);
  return {
    args: null,
    cfg: { model: { _name: 'kosmosg_xl', decoder_layers: 24, dropout: new PyFloat(0.1) }, task: { latent_query_num: 64 } },
    model,
    criterion: null,
    optimizer_history: [{ criterion_name: 'KosmosGLoss', num_updates: 2 ** 40 }],
    task_state: {},
    extra_state: { epoch: 3, lr: 1e-4, big: 2n ** 70n, tuple: new PyTuple([1, 'a', null, true]) },
    last_optimizer_state: { state: new Map([[0, { exp_avg: torchTensor(hostTensor(f32(7, 7), [2])) }]]) },
  };
}

test('round trip of a fairseq-shaped checkpoint: key "model", dtypes, shared and strided storages', () => {
  const file = path.join(dir, 'checkpoint_final.pt');
  saveTorchCheckpoint(file, fairseqLike(), { archive: 'checkpoint_final' });
  assert.ok(!readdirSync(dir).some((f) => f.includes('.tmp-')));
  const sd = loadTorchCheckpoint(file, { key: 'model' });
  assert.deepEqual([...sd.keys()], [...fairseqLike().model.keys()]);
  const get = (k: string) => sd.get(k)!;
  assert.deepEqual(get('gpt_model.decoder.embed_tokens.weight').shape, [3, 2]);
  assert.deepEqual(Array.from(get('gpt_model.decoder.output_projection.weight').data), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(Array.from(get('aligner.encoder_query').data), [1, 4, 2, 5, 3, 6]);
  assert.deepEqual(Array.from(get('img_connector.latent_query').data), [8, 7, 6, 5]);
  // Subnormals survive, ties round to even, overflow becomes infinity.
  assert.deepEqual(Array.from(get('half').data), [0.5, -2, 65504, 1 / 1024, 2 ** -24, 1, Infinity]);
  assert.deepEqual(Array.from(get('bf16').data), [1.5, -3, 256, 1]);
  assert.equal(get('position_ids').dtype, 'int32');
  assert.deepEqual(Array.from(get('position_ids').data), [0, 1, 2]);
  assert.deepEqual(get('f64').shape, []);
  assert.deepEqual(Array.from(get('f64').data), [0.25]);
  assert.deepEqual(Array.from(get('mask').data), [1, 0]);
  // Default key: 'model' is found without being named; prefix filters and strips.
  assert.equal(loadTorchCheckpoint(file).size, sd.size);
  const dec = loadTorchCheckpoint(file, { key: 'model', prefix: 'gpt_model.decoder.' });
  assert.deepEqual([...dec.keys()], ['embed_tokens.weight', 'output_projection.weight']);
  const some = loadTorchCheckpoint(file, { filter: (k) => k.endsWith('_query') });
  assert.deepEqual([...some.keys()], ['aligner.encoder_query', 'img_connector.latent_query']);
});

test('the rest of the checkpoint reads as plain data', () => {
  const ckpt = TorchCheckpoint.fromBytes(torchSaveBytes(fairseqLike()));
  try {
    assert.equal(ckpt.archive, 'archive');
    assert.equal(ckpt.get('cfg.model._name'), 'kosmosg_xl');
    assert.equal(ckpt.get('cfg.model.dropout'), 0.1);
    assert.equal(ckpt.get('cfg.task.latent_query_num'), 64);
    assert.equal(ckpt.get('args'), null);
    assert.deepEqual(ckpt.get('extra_state.tuple'), [1, 'a', null, true]);
    assert.equal(ckpt.get('extra_state.big'), 2n ** 70n);
    assert.equal((ckpt.get('optimizer_history') as Map<string, unknown>[])[0]!.get('num_updates'), 2 ** 40);
    // Optimizer state holds tensors too, under integer keys.
    const opt = readStateDict(ckpt, { key: 'last_optimizer_state' });
    assert.deepEqual([...opt.keys()], ['state.0.exp_avg']);
    assert.throws(() => ckpt.get('modle'), /no entry "modle".*top-level keys: args, cfg, model/);
  } finally {
    ckpt.close();
  }
});

test('ZIP64 records and deflated entries read the same', () => {
  const value = new Map([['w', torchTensor(hostTensor(f32(1, -1, 0.5), [3]))]]);
  for (const options of [{ zip64: true }, { deflate: true }, { zip64: true, deflate: true }]) {
    const sd = TorchCheckpoint.fromBytes(torchSaveBytes(value, options));
    assert.deepEqual(Array.from(readStateDict(sd).get('w')!.data), [1, -1, 0.5], JSON.stringify(options));
  }
});

// ---- hand-assembled pickles in the shape torch's own pickler writes (BINPUT after objects, BINGET for repeated
// globals, SETITEM, BUILD of the state dict's _metadata, NEWOBJ for argparse.Namespace, unknown classes).

const enc = new TextEncoder();
function op(...parts: (number | string | number[])[]): number[] {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') out.push(...enc.encode(p));
    else out.push(...p);
  }
  return out;
}
const binunicode = (s: string) => op(0x58, [s.length, 0, 0, 0], s);
const shortUnicode = (s: string) => op(0x8c, s.length, s);

test('torch-style pickle: _metadata BUILD, Namespace, opaque classes, protocol-4 framing and memo', () => {
  const pickle = Uint8Array.from(op(
    0x80, 4, 0x95, [0, 0, 0, 0, 0, 0, 0, 0], // PROTO 4, FRAME
    0x7d, 0x94, 0x28, // {  MEMOIZE  MARK
    shortUnicode('args'),
    shortUnicode('argparse'), shortUnicode('Namespace'), 0x93, 0x94, // STACK_GLOBAL MEMOIZE
    0x29, 0x81, 0x94, 0x7d, 0x94, // () NEWOBJ  {}
    0x28, shortUnicode('arch'), shortUnicode('kosmosg_xl'),
    shortUnicode('lr'), 0x5d, 0x47, [0x3f, 0x1a, 0x36, 0xe2, 0xeb, 0x1c, 0x43, 0x2d], 0x61, // [1e-4]
    0x75, 0x62, // SETITEMS  BUILD
    shortUnicode('meter'),
    0x63, 'fairseq.logging.meters\nAverageMeter\n', 0x29, 0x81, 0x7d, 0x28, shortUnicode('val'), 0x4b, 7, 0x75, 0x62,
    shortUnicode('neg'), 0x4a, [0xfe, 0xff, 0xff, 0xff],
    shortUnicode('long'), 0x8a, 2, 0x00, 0x80, // LONG1 0x8000 two's complement = -32768
    shortUnicode('raw'), 0x43, 2, 0xde, 0xad,
    shortUnicode('old'), 0x55, 3, 'abc',
    shortUnicode('again'), 0x68, 1, // BINGET 1: the Namespace class → called again below
    0x29, 0x81,
    0x75, 0x2e, // SETITEMS STOP
  ));
  const v = readPickle(pickle) as Map<string, unknown>;
  assert.deepEqual(v.get('args'), { arch: 'kosmosg_xl', lr: [1e-4] });
  const meter = v.get('meter') as PickleObject;
  assert.ok(meter instanceof PickleObject);
  assert.equal(`${meter.module}.${meter.name}`, 'fairseq.logging.meters.AverageMeter');
  assert.deepEqual(meter.state, new Map([['val', 7]]));
  assert.equal(v.get('neg'), -2);
  assert.equal(v.get('long'), -32768);
  assert.deepEqual(v.get('raw'), Uint8Array.from([0xde, 0xad]));
  assert.equal(v.get('old'), 'abc');
  assert.deepEqual(v.get('again'), {});
});

test('a state dict exactly as torch 1.13 pickles it (protocol 2, SETITEM per key, _metadata BUILD)', () => {
  // torch.save(OrderedDict(weight=torch.arange(6.).view(2, 3)), …)'s data.pkl, opcode by opcode.
  const pkl = Uint8Array.from(op(
    0x80, 2, 0x63, 'collections\nOrderedDict\n', 0x71, 0, 0x29, 0x52, 0x71, 1,
    binunicode('weight'), 0x71, 2,
    0x63, 'torch._utils\n_rebuild_tensor_v2\n', 0x71, 3,
    0x28, 0x28, binunicode('storage'), 0x71, 4, 0x63, 'torch\nFloatStorage\n', 0x71, 5,
    binunicode('0'), 0x71, 6, binunicode('cpu'), 0x71, 7, 0x4b, 6, 0x74, 0x71, 8, 0x51,
    0x4b, 0, 0x4b, 2, 0x4b, 3, 0x86, 0x71, 9, 0x4b, 3, 0x4b, 1, 0x86, 0x71, 10, 0x89,
    0x68, 0, 0x29, 0x52, 0x71, 11, 0x74, 0x71, 12, 0x52, 0x71, 13, 0x73,
    0x7d, 0x71, 14, binunicode('_metadata'), 0x71, 15, 0x68, 0, 0x29, 0x52, 0x71, 16,
    binunicode(''), 0x71, 17, 0x7d, 0x71, 18, binunicode('version'), 0x71, 19, 0x4b, 1, 0x73, 0x73, 0x73, 0x62, 0x2e,
  ));
  const data = new Uint8Array(Float32Array.from([0, 1, 2, 3, 4, 5]).buffer);
  const zip = writeZip([['archive/data.pkl', pkl], ['archive/data/0', data], ['archive/version', enc.encode('3\n')]]);
  const file = path.join(dir, 'torch113.pt');
  writeFileSync(file, zip);
  const sd = loadTorchCheckpoint(file);
  assert.deepEqual([...sd.keys()], ['weight']);
  assert.deepEqual(sd.get('weight')!.shape, [2, 3]);
  assert.deepEqual(Array.from(sd.get('weight')!.data), [0, 1, 2, 3, 4, 5]);
});

test('malformed, truncated or hostile files → TORCH_CKPT_INVALID with a location', () => {
  const good = torchSaveBytes(new Map([['w', torchTensor(hostTensor(f32(1, 2, 3, 4), [2, 2]))]]));
  const expectInvalid = (bytes: Uint8Array, pattern: RegExp) =>
    assert.throws(() => readStateDict(TorchCheckpoint.fromBytes(bytes, 'bad.pt')), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'TORCH_CKPT_INVALID', e.message);
      assert.match(e.message, /bad\.pt/);
      assert.match(e.message, pattern);
      return true;
    });
  expectInvalid(good.subarray(0, good.length - 30), /end-of-central-directory|truncated/);
  expectInvalid(good.subarray(0, 10), /too short/);
  expectInvalid(enc.encode('PK\x03\x04 this is not really a zip at all, just text'), /end-of-central-directory/);
  // A damaged data.pkl: flip a byte inside it → CRC mismatch.
  const flipped = good.slice();
  flipped[flipped.indexOf(0x80, 64) + 3] ^= 0xff;
  expectInvalid(flipped, /CRC-32|pickle/);
  const noData = writeZip([['archive/data.pkl', Uint8Array.from(op(0x80, 2, 0x7d, 0x2e))]]);
  assert.equal(readStateDict(TorchCheckpoint.fromBytes(noData)).size, 0);
  expectInvalid(writeZip([['x/y.txt', enc.encode('hi')]]), /data\.pkl/);
  // A tensor whose storage entry is missing, and one whose view runs past its storage.
  const pkl = (numel: number, size: number) =>
    Uint8Array.from(op(0x80, 2, 0x7d, binunicode('w'), 0x63, 'torch._utils\n_rebuild_tensor_v2\n', 0x28, 0x28,
      binunicode('storage'), 0x63, 'torch\nFloatStorage\n', binunicode('0'), binunicode('cpu'), 0x4b, numel, 0x74, 0x51,
      0x4b, 0, 0x4b, size, 0x85, 0x4b, 1, 0x85, 0x89, 0x4e, 0x74, 0x52, 0x73, 0x2e));
  expectInvalid(writeZip([['a/data.pkl', pkl(2, 2)]]), /a\/data\/0 is missing/);
  expectInvalid(writeZip([['a/data.pkl', pkl(2, 3)], ['a/data/0', new Uint8Array(8)]]), /reaches past its storage/);
  expectInvalid(writeZip([['a/data.pkl', pkl(4, 2)], ['a/data/0', new Uint8Array(8)]]), /storage holds 8 bytes/);
  // Pickles that are cut short, use an unknown opcode, or name a storage class that is not a storage.
  expectInvalid(writeZip([['a/data.pkl', Uint8Array.from(op(0x80, 2, 0x7d))]]), /pickle truncated/);
  expectInvalid(writeZip([['a/data.pkl', Uint8Array.from(op(0x80, 2, 0xff, 0x2e))]]), /unsupported opcode 0xff/);
  expectInvalid(
    writeZip([['a/data.pkl', Uint8Array.from(op(0x80, 2, 0x28, binunicode('storage'), 0x63, 'os\nsystem\n', binunicode('0'), binunicode('cpu'), 0x4b, 1, 0x74, 0x51, 0x2e))]]),
    /unsupported storage type os\.system/,
  );
  assert.throws(() => loadTorchCheckpoint(path.join(dir, 'missing.pt')), { code: 'TORCH_CKPT_INVALID' });
  // A deflated entry that inflates far beyond the size its directory record declares stops at that size.
  const bomb = writeZip([['a/data.pkl', Uint8Array.from(op(0x80, 2, 0x7d, 0x2e))], ['a/data/0', new Uint8Array(4 << 20)]], { deflate: true });
  const view = new DataView(bomb.buffer, bomb.byteOffset, bomb.byteLength);
  for (let p = 0; p + 4 <= bomb.length; p++) {
    if (view.getUint32(p, true) === 0x02014b50 && new TextDecoder().decode(bomb.subarray(p + 46, p + 54)) === 'a/data/0') view.setUint32(p + 24, 16, true);
  }
  assert.throws(() => ZipReader.fromBytes(bomb, 'bomb.pt').read('a/data/0'), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'TORCH_CKPT_INVALID');
    assert.doesNotMatch(e.message, /got 4194304/, 'inflated the whole entry');
    return true;
  });
});

test('long memo indices, DUP/POP, sets, long tuples, APPENDS, text opcodes', () => {
  const v = readPickle(Uint8Array.from(op(
    0x80, 2, 0x28, // MARK for the outer tuple
    0x5d, 0x72, [0x2c, 0x01, 0, 0], 0x28, 0x4b, 1, 0x4b, 2, 0x65, // [1, 2] LONG_BINPUT 300
    0x6a, [0x2c, 0x01, 0, 0], // LONG_BINGET 300: the same list again
    0x8f, 0x28, 0x4b, 5, 0x4b, 6, 0x90, // {5, 6}
    0x4b, 9, 0x32, 0x30, // 9 DUP POP
    0x49, '42\n', 0x46, '2.5\n', 0x89, // INT, FLOAT, False
    0x74, 0x2e, // TUPLE STOP
  )));
  assert.ok(Array.isArray(v));
  const [a, b, set, nine, n, x, f] = v as unknown[];
  assert.deepEqual(a, [1, 2]);
  assert.equal(a, b, 'memo returns the same object');
  assert.deepEqual(set, new Set([5, 6]));
  assert.deepEqual([nine, n, x, f], [9, 42, 2.5, false]);
});

test('a tensor subclass wrapped in _rebuild_from_type_v2 reads as its tensor', () => {
  const pkl = Uint8Array.from(op(
    0x80, 2, 0x7d, binunicode('w'),
    0x63, 'torch._tensor\n_rebuild_from_type_v2\n', 0x28,
    0x63, 'torch._utils\n_rebuild_tensor_v2\n', 0x63, 'torch.nn.parameter\nParameter\n',
    0x28, 0x28, binunicode('storage'), 0x63, 'torch\nHalfStorage\n', binunicode('0'), binunicode('cpu'), 0x4b, 2, 0x74, 0x51,
    0x4b, 0, 0x4b, 2, 0x85, 0x4b, 1, 0x85, 0x88, 0x4e, 0x74, // args of _rebuild_tensor_v2
    0x7d, 0x74, 0x52, 0x73, 0x2e, // state {}, TUPLE, REDUCE, SETITEM, STOP
  ));
  const half = new Uint8Array(Uint16Array.from([0x3c00, 0xc000]).buffer); // 1, -2
  const sd = readStateDict(TorchCheckpoint.fromBytes(writeZip([['a/data.pkl', pkl], ['a/data/0', half]])));
  assert.deepEqual(Array.from(sd.get('w')!.data), [1, -2]);
});

test('globals are never called: os.system REDUCE becomes an opaque record', () => {
  const v = readPickle(Uint8Array.from(op(0x80, 2, 0x63, 'os\nsystem\n', binunicode('echo pwned'), 0x85, 0x52, 0x2e)));
  assert.ok(v instanceof PickleObject);
  assert.equal(v.name, 'system');
  assert.deepEqual(v.args, ['echo pwned']);
});
