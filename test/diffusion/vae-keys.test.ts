// The real SD 1.5 VAE matches sd15_keys.json "vae" key-for-key and shape-for-shape without allocating, and the
// old `query/key/value/proj_attn` attention names load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { needsShared, sharedPath } from '../helpers/shared.ts';
import { AutoencoderKL } from '../../models/vae/autoencoder.ts';
import { SD15_VAE_CONFIG, SMALL_VAE_CONFIG } from '../../models/vae/config.ts';
import { mapLegacyVaeKeys } from '../../models/vae/keys.ts';
import { samplePosterior } from '../../models/vae/posterior.ts';
import { hostTensor, type HostTensor } from '../../models/ops/ops.ts';

const KEYS = 'reference/sd15_keys.json';

test('real VAE: 83,653,863 parameters over 248 tensors, equal to sd15_keys.json "vae"', { skip: needsShared(KEYS) }, () => {
  const ref = JSON.parse(readFileSync(sharedPath(KEYS), 'utf8')).vae as Record<string, number[]>;
  const vae = new AutoencoderKL(SD15_VAE_CONFIG);
  const named = vae.namedParameters();
  assert.equal(named.length, 248);
  assert.equal(vae.parameterCount(), 83_653_863);
  const ours = new Map(named.map(([k, p]) => [k, p.shape]));
  assert.deepEqual([...ours.keys()].sort(), Object.keys(ref).sort());
  for (const [key, shape] of Object.entries(ref)) assert.deepEqual(ours.get(key), shape, key);
  assert.ok(named.every(([, p]) => !p.materialized));
});

test('legacy query/key/value/proj_attn names (and 1×1 conv shapes) load into to_q/to_k/to_v/to_out.0', () => {
  const vae = new AutoencoderKL(SMALL_VAE_CONFIG, 3);
  const legacy = new Map<string, HostTensor>();
  const rename: Record<string, string> = { to_q: 'query', to_k: 'key', to_v: 'value', 'to_out.0': 'proj_attn' };
  for (const [key, p] of vae.namedParameters()) {
    let k = key;
    let shape = p.shape;
    for (const [now, old] of Object.entries(rename)) {
      if (key.includes(`mid_block.attentions.0.${now}.`)) {
        k = key.replace(`.${now}.`, `.${old}.`);
        if (key.endsWith('weight') && key.startsWith('decoder')) shape = [...p.shape, 1, 1];
      }
    }
    legacy.set(k, { data: new Float32Array(p.size).fill(0.5), shape, dtype: 'float32' });
  }
  const fresh = new AutoencoderKL(SMALL_VAE_CONFIG, 4);
  const report = fresh.loadStateDict(mapLegacyVaeKeys(legacy));
  assert.equal(report.loaded.length, vae.namedParameters().length);
  assert.equal(fresh.decoder.mid_block.attentions[0].to_out[0].weight.data[0], 0.5);
});

test('posterior: mean mode returns the mean; sampling is seeded and clamps logvar to [−30, 20]', () => {
  // B=1, L=1, 1×2: means [1, 2], logvars [100 (→ 20), −100 (→ −30)]
  const moments = hostTensor(new Float32Array([1, 2, 100, -100]), [1, 2, 1, 2]);
  assert.deepEqual([...samplePosterior(moments, 'mean').data], [1, 2]);
  const a = samplePosterior(moments, 'sample', 7);
  const b = samplePosterior(moments, 'sample', 7);
  const c = samplePosterior(moments, 'sample', 8);
  assert.deepEqual(a.data, b.data);
  assert.notDeepEqual(a.data, c.data);
  assert.ok(Math.abs(a.data[1] - 2) < 1e-5, 'std exp(−15) leaves the mean');
  assert.ok(Math.abs(a.data[0] - 1) > 1, 'std exp(10) moves the sample far');
});
