// Cross-check against an independent implementation: writes small and medium U-Nets and a small VAE (seeded
// weights, non-trivial norms), their inputs and this project's tfjs outputs to safetensors files, for
// bench/diffusion/numpy-reference.py to recompute in float64 numpy and compare.
// Run: npx tsx bench/diffusion/export-reference.ts [DIR] && python3 bench/diffusion/numpy-reference.py [DIR]
import { mkdirSync } from 'node:fs';
import { saveSafetensors } from '../../models/io/safetensors.ts';
import { getRunner } from '../../models/runtime/runners.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { SMALL_UNET_CONFIG, type UNetConfig } from '../../models/unet/config.ts';
import { unetEntry, vaeDecodeEntry, vaeEncodeEntry } from '../../models/unet/entries.ts';
import { AutoencoderKL } from '../../models/vae/autoencoder.ts';
import { SMALL_VAE_CONFIG } from '../../models/vae/config.ts';
import { hostTensor } from '../../models/ops/ops.ts';
import { randn } from '../../models/ops/random.ts';
import { writeFileSync } from 'node:fs';
const dir = process.argv[2] ?? '.cache/reference';
mkdirSync(dir, { recursive: true });
const medium: UNetConfig = { ...SMALL_UNET_CONFIG, blockOutChannels: [32, 64, 64], layersPerBlock: 2,
  downBlockTypes: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'], upBlockTypes: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'], attentionHeads: 4 };
const rand = (shape: number[], seed: number, s = 1) => hostTensor(Float32Array.from(randn(shape.reduce((a, b) => a * b, 1), seed), v => v * s), shape);
const runner = await getRunner('tfjs');
for (const [name, cfg] of [['small', SMALL_UNET_CONFIG], ['medium', medium]] as const) {
  const unet = new UNet2DConditionModel(cfg, 3);
  // make norms non-trivial so their affine parameters are exercised
  for (const [k, p] of unet.namedParameters()) if (/norm/.test(k)) p.set(Float32Array.from(randn(p.size, p.size + k.length), v => 1 + 0.1 * v));
  const x = rand([2, 4, 8, 8], 1), t = hostTensor(new Float32Array([981, 7]), [2]), c = rand([2, 6, 32], 2);
  const [y] = await runner.run(unet, 'unet', unetEntry(unet), [x, t, c]);
  const sd = unet.stateDict();
  sd.set('__x', x); sd.set('__t', t); sd.set('__c', c); sd.set('__y', y);
  await saveSafetensors(`${dir}/unet-${name}.safetensors`, sd);
  writeFileSync(`${dir}/unet-${name}.json`, JSON.stringify(cfg));
}
const vae = new AutoencoderKL(SMALL_VAE_CONFIG, 4);
for (const [k, p] of vae.namedParameters()) if (/norm/.test(k)) p.set(Float32Array.from(randn(p.size, p.size + k.length), v => 1 + 0.1 * v));
const img = rand([1, 3, 16, 16], 5, 0.5);
const [m] = await runner.run(vae, 'vae_encode', vaeEncodeEntry(vae), [img]);
const z = rand([1, 4, 4, 4], 6);
const [d] = await runner.run(vae, 'vae_decode', vaeDecodeEntry(vae), [z]);
const sd = vae.stateDict(); sd.set('__img', img); sd.set('__m', m); sd.set('__z', z); sd.set('__d', d);
await saveSafetensors(`${dir}/vae.safetensors`, sd);
writeFileSync(`${dir}/vae.json`, JSON.stringify(SMALL_VAE_CONFIG));
console.log(`exported to ${dir}`);
