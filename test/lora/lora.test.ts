// LoRA parsing (kohya, diffusers legacy, PEFT), name resolution against the real SD 1.5 keys, and merged ==
// unmerged application through host matmul / conv.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { hostTensor, type HostTensor } from '../../models/ops/ops.ts';
import { randn } from '../../models/ops/random.ts';
import { loraDelta, mergeLora, ModuleNameResolver, parseLora } from '../../models/lora/index.ts';
import { needsShared, sharedPath } from '../helpers/shared.ts';

const t = (shape: number[], seed: number): HostTensor => hostTensor(randn(shape.reduce((a, b) => a * b, 1), seed), shape);
const scalarT = (v: number): HostTensor => hostTensor(new Float32Array([v]), []);

/** y = W x for W [out, in]. */
function matvec(w: HostTensor, x: Float32Array): Float32Array {
  const [out, inn] = w.shape as [number, number];
  return Float32Array.from({ length: out }, (_, o) => {
    let s = 0;
    for (let i = 0; i < inn; i++) s += w.data[o * inn + i]! * x[i]!;
    return s;
  });
}

/** Single-image NCHW conv, stride 1, zero padding `pad`. */
function conv(w: HostTensor, x: Float32Array, h: number, wd: number): Float32Array {
  const [co, ci, kh, kw] = w.shape as [number, number, number, number];
  const pad = (kh - 1) / 2;
  const y = new Float32Array(co * h * wd);
  for (let o = 0; o < co; o++)
    for (let yy = 0; yy < h; yy++)
      for (let xx = 0; xx < wd; xx++) {
        let s = 0;
        for (let c = 0; c < ci; c++)
          for (let a = 0; a < kh; a++)
            for (let b = 0; b < kw; b++) {
              const iy = yy + a - pad;
              const ix = xx + b - pad;
              if (iy < 0 || ix < 0 || iy >= h || ix >= wd) continue;
              s += w.data[((o * ci + c) * kh + a) * kw + b]! * x[(c * h + iy) * wd + ix]!;
            }
        y[(o * h + yy) * wd + xx] = s;
      }
  return y;
}

// A tiny model: one linear, one 1×1 conv, one 3×3 conv.
const model = new Map<string, HostTensor>([
  ['blocks.0.attn1.to_q.weight', t([6, 4], 1)],
  ['blocks.0.attn1.to_out.0.weight', t([4, 4], 2)],
  ['blocks.0.proj_in.weight', t([5, 3, 1, 1], 3)],
  ['blocks.0.resnets.0.conv1.weight', t([5, 3, 3, 3], 4)],
  ['blocks.0.resnets.0.conv1.bias', t([5], 5)],
]);
const keyShapes = new Map([...model].map(([k, v]) => [k, v.shape] as [string, readonly number[]]));

function assertClose(a: Float32Array, b: Float32Array, tol: number, what: string): void {
  assert.equal(a.length, b.length);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `${what}[${i}]: ${v} vs ${b[i]}`));
}

test('kohya: merged weights equal unmerged application for linear, 1×1 and 3×3 conv', () => {
  const file = new Map<string, HostTensor>([
    ['lora_unet_blocks_0_attn1_to_q.lora_down.weight', t([2, 4], 10)],
    ['lora_unet_blocks_0_attn1_to_q.lora_up.weight', t([6, 2], 11)],
    ['lora_unet_blocks_0_attn1_to_q.alpha', scalarT(1)],
    ['lora_unet_blocks_0_proj_in.lora_down.weight', t([3, 3, 1, 1], 12)],
    ['lora_unet_blocks_0_proj_in.lora_up.weight', t([5, 3, 1, 1], 13)],
    ['lora_unet_blocks_0_proj_in.alpha', scalarT(6)],
    ['lora_unet_blocks_0_resnets_0_conv1.lora_down.weight', t([2, 3, 3, 3], 14)],
    ['lora_unet_blocks_0_resnets_0_conv1.lora_up.weight', t([5, 2, 1, 1], 15)],
  ]);
  const lora = parseLora(file, { unetKeys: keyShapes });
  assert.equal(lora.format, 'kohya');
  assert.deepEqual(lora.unknown, []);
  const byKey = new Map(lora.entries.map((e) => [e.targetKey, e]));
  assert.deepEqual([...byKey.keys()].sort(), ['blocks.0.attn1.to_q.weight', 'blocks.0.proj_in.weight', 'blocks.0.resnets.0.conv1.weight']);
  assert.equal(byKey.get('blocks.0.attn1.to_q.weight')!.alpha, 1);
  assert.equal(byKey.get('blocks.0.resnets.0.conv1.weight')!.alpha, 2, 'missing alpha = rank');

  const m = 0.7;
  const snapshot = new Map([...model].map(([k, v]) => [k, Float32Array.from(v.data)]));
  const { weights, applied, unknown } = mergeLora(model, lora, m);
  assert.equal(applied.length, 3);
  assert.deepEqual(unknown, []);
  for (const [k, v] of model) assert.deepEqual(v.data, snapshot.get(k), `input ${k} untouched`);
  assert.notEqual(weights, model);
  assert.equal(weights.get('blocks.0.resnets.0.conv1.bias'), model.get('blocks.0.resnets.0.conv1.bias'));

  // A caller-supplied matmul (a backend's) gives the same merge.
  let calls = 0;
  const viaHook = mergeLora(model, lora, m, {
    matmul: (up, down, out, rank, inner) => {
      calls++;
      return Float32Array.from({ length: out * inner }, (_, k) => {
        let s = 0;
        for (let r = 0; r < rank; r++) s += up[Math.floor(k / inner) * rank + r]! * down[r * inner + (k % inner)]!;
        return s;
      });
    },
  });
  assert.equal(calls, 3);
  for (const key of applied) assertClose(viaHook.weights.get(key)!.data as Float32Array, weights.get(key)!.data as Float32Array, 1e-5, `hook ${key}`);

  // Linear.
  const x = randn(4, 20);
  const q = loraDelta(byKey.get('blocks.0.attn1.to_q.weight')!, m);
  const base = matvec(model.get('blocks.0.attn1.to_q.weight')!, x);
  const side = matvec(q.up, matvec(q.down, x));
  const unmerged = base.map((v, i) => v + q.scale * side[i]!);
  assertClose(matvec(weights.get('blocks.0.attn1.to_q.weight')!, x), unmerged, 1e-5, 'linear');
  assert.ok(Math.abs(q.scale - m * 0.5) < 1e-12, 'scale = m·alpha/rank');

  // 1×1 and 3×3 conv (LoCon: 3×3 down, 1×1 up) on a 3×4×5 image.
  const img = randn(3 * 4 * 5, 21);
  for (const key of ['blocks.0.proj_in.weight', 'blocks.0.resnets.0.conv1.weight']) {
    const d = loraDelta(byKey.get(key)!, m);
    const baseY = conv(model.get(key)!, img, 4, 5);
    const sideY = conv(d.up, conv(d.down, img, 4, 5), 4, 5);
    assertClose(conv(weights.get(key)!, img, 4, 5), baseY.map((v, i) => v + d.scale * sideY[i]!), 1e-5, key);
  }
});

test('diffusers legacy and PEFT formats; network alphas; unknown keys reported by name', () => {
  const legacy = parseLora(
    new Map<string, HostTensor>([
      ['unet.blocks.0.attn1.processor.to_out_lora.down.weight', t([2, 4], 30)],
      ['unet.blocks.0.attn1.processor.to_out_lora.up.weight', t([4, 2], 31)],
      ['blocks.0.attn1.processor.to_q_lora.down.weight', t([1, 4], 32)],
      ['blocks.0.attn1.processor.to_q_lora.up.weight', t([6, 1], 33)],
      ['unet.blocks.9.attn1.processor.to_k_lora.down.weight', t([1, 4], 34)],
      ['unet.blocks.9.attn1.processor.to_k_lora.up.weight', t([6, 1], 35)],
      ['something.else', t([1], 36)],
    ]),
    { unetKeys: keyShapes },
  );
  assert.equal(legacy.format, 'diffusers');
  assert.deepEqual(legacy.entries.map((e) => [e.targetKey, e.alpha, e.rank]).sort(), [
    ['blocks.0.attn1.to_out.0.weight', 2, 2],
    ['blocks.0.attn1.to_q.weight', 1, 1],
  ]);
  assert.deepEqual(legacy.unknown.map((u) => u.key).sort(), ['something.else', 'unet.blocks.9.attn1.processor.to_k_lora.down.weight']);

  const peft = parseLora(
    new Map<string, HostTensor>([
      ['unet.blocks.0.attn1.to_q.lora_A.weight', t([4, 4], 40)],
      ['unet.blocks.0.attn1.to_q.lora_B.weight', t([6, 4], 41)],
      ['unet.blocks.0.attn1.to_q.alpha', scalarT(8)],
      ['base_model.model.blocks.0.proj_in.lora_A.default.weight', t([2, 3, 1, 1], 42)],
      ['base_model.model.blocks.0.proj_in.lora_B.default.weight', t([5, 2, 1, 1], 43)],
      ['unet.blocks.0.attn1.to_out.0.lora_A.weight', t([2, 4], 44)],
    ]),
    { unetKeys: keyShapes, alpha: 16 },
  );
  assert.equal(peft.format, 'peft');
  const alphas = Object.fromEntries(peft.entries.map((e) => [e.targetKey, e.alpha]));
  assert.deepEqual(alphas, { 'blocks.0.attn1.to_q.weight': 8, 'blocks.0.proj_in.weight': 16 });
  assert.equal(peft.unknown.length, 1);
  assert.match(peft.unknown[0]!.reason, /up weight missing/);

  // Merging into weights that lack a target reports it; a bad shape is a coded error.
  const partial = new Map(model);
  partial.delete('blocks.0.proj_in.weight');
  const r = mergeLora(partial, peft, 1);
  assert.deepEqual(r.applied, ['blocks.0.attn1.to_q.weight']);
  assert.ok(r.unknown.some((u) => u.key === 'blocks.0.proj_in.weight'));
  const wrong = new Map(model);
  wrong.set('blocks.0.attn1.to_q.weight', t([6, 5], 50));
  assert.throws(() => mergeLora(wrong, peft, 1), { code: 'LORA_SHAPE_MISMATCH' });
});

test('kohya names resolve against the real SD 1.5 keys (diffusers and LDM spellings, text encoder)', { skip: needsShared('reference/sd15_keys.json') }, () => {
  const keys = JSON.parse(readFileSync(sharedPath('reference/sd15_keys.json'), 'utf8')) as Record<string, Record<string, number[]>>;
  const unetKeys = new Map(Object.entries(keys['unet']!));
  const teKeys = new Map(Object.entries(keys['text_encoder']!));
  const pair = (name: string, down: number[], up: number[]): [string, HostTensor][] => [
    [`${name}.lora_down.weight`, hostTensor(new Float32Array(down.reduce((a, b) => a * b, 1)), down)],
    [`${name}.lora_up.weight`, hostTensor(new Float32Array(up.reduce((a, b) => a * b, 1)), up)],
  ];
  const file = new Map<string, HostTensor>([
    ...pair('lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q', [4, 320], [320, 4]),
    ...pair('lora_unet_up_blocks_3_attentions_2_transformer_blocks_0_attn2_to_out_0', [4, 320], [320, 4]),
    ...pair('lora_unet_mid_block_attentions_0_transformer_blocks_0_ff_net_0_proj', [4, 1280], [10240, 4]),
    ...pair('lora_unet_input_blocks_1_1_proj_in', [4, 320, 1, 1], [320, 4, 1, 1]),
    ...pair('lora_unet_output_blocks_3_0_in_layers_2', [4, 2560, 3, 3], [1280, 4, 1, 1]),
    ...pair('lora_unet_middle_block_1_transformer_blocks_0_attn2_to_k', [4, 768], [1280, 4]),
    ...pair('lora_te_text_model_encoder_layers_0_self_attn_q_proj', [4, 768], [768, 4]),
    ...pair('lora_te_text_model_encoder_layers_11_mlp_fc1', [4, 768], [3072, 4]),
    ...pair('lora_unet_down_blocks_9_attentions_0_proj_in', [4, 320], [320, 4]),
    ['text_encoder.text_model.encoder.layers.3.self_attn.to_out_lora.down.weight', hostTensor(new Float32Array(4 * 768), [4, 768])],
    ['text_encoder.text_model.encoder.layers.3.self_attn.to_out_lora.up.weight', hostTensor(new Float32Array(4 * 768), [768, 4])],
  ]);
  const withTe = parseLora(file, { unetKeys, textEncoderKeys: teKeys });
  assert.deepEqual(withTe.entries.map((e) => e.targetKey).sort(), [
    'down_blocks.0.attentions.0.proj_in.weight',
    'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight',
    'mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight',
    'mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj.weight',
    'text_model.encoder.layers.0.self_attn.q_proj.weight',
    'text_model.encoder.layers.11.mlp.fc1.weight',
    'text_model.encoder.layers.3.self_attn.out_proj.weight',
    'up_blocks.1.resnets.0.conv1.weight',
    'up_blocks.3.attentions.2.transformer_blocks.0.attn2.to_out.0.weight',
  ]);
  assert.deepEqual(withTe.unknown.map((u) => u.key), ['lora_unet_down_blocks_9_attentions_0_proj_in.lora_down.weight']);
  for (const e of withTe.entries) {
    const shape = (e.component === 'unet' ? unetKeys : teKeys).get(e.targetKey)!;
    assert.equal(shape[0], e.up.shape[0], `${e.targetKey} out dim`);
  }
  // Every SD 1.5 module has its own underscore spelling (nothing is ambiguous)…
  const te = new ModuleNameResolver(teKeys);
  const un = new ModuleNameResolver(unetKeys);
  for (const k of [...unetKeys.keys()].filter((k) => k.endsWith('.weight'))) assert.ok(!un.isAmbiguous(k.slice(0, -7).replace(/\./g, '_')), k);
  for (const k of [...teKeys.keys()].filter((k) => k.endsWith('.weight'))) assert.ok(!te.isAmbiguous(k.slice(0, -7).replace(/\./g, '_')), k);
  // …and a model where two paths collide reports instead of guessing.
  const clash = parseLora(new Map(pair('lora_unet_a_b_c', [1, 2], [2, 1])), { unetKeys: ['a.b_c.weight', 'a_b.c.weight'] });
  assert.equal(clash.entries.length, 0);
  assert.match(clash.unknown[0]!.reason, /more than one module/);

  // Without text-encoder keys the text-encoder updates are reported, not dropped silently.
  const unetOnly = parseLora(file, { unetKeys });
  assert.equal(unetOnly.unknown.filter((u) => u.reason.includes('text-encoder')).length, 3);
});
