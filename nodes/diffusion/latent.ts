// Latent nodes: EmptyLatent (an empty latent of the right shape; the Sampler's seed fills it with noise), VAEEncode (image → scaled latent) and VAEDecode
// (scaled latent → image; spec §1.6: decode(z / 0.18215), then (x/2 + 0.5) clamped to [0, 1]).

import { defineNode } from '../../engine/node-def.ts';
import type { BudgetUse } from '../../engine/budgets.ts';
import { hostTensor, type HostTensor } from '../../models/ops/ops.ts';
import { externalDecode, externalEncodeMoments } from './external.ts';
import { imageValue } from '../../models/image.ts';
import { vaeDecodeEntry, vaeEncodeEntry } from '../../models/unet/entries.ts';
import { samplePosterior, scaleLatent } from '../../models/vae/posterior.ts';
import { vaeDownscale } from '../../models/vae/config.ts';
import { diffusionError, runEntry } from './common.ts';
import type { ImageValue, LatentValue, VAEValue } from './values.ts';

export const EmptyLatent = defineNode({
  type: 'EmptyLatent',
  category: 'diffusion/latent',
  description:
    "The starting latent of text-to-image, [batch, 4, height/f, width/f] (f = 8 for SD 1.5, 4 for the small models): the Sampler fills it with noise from its seed, scaled by the scheduler's init sigma",
  inputs: {
    vae: { type: 'VAE', optional: true, description: 'When connected, its downscale and latent channels replace the widgets' },
  },
  widgets: {
    width: { kind: 'INT', default: 512, min: 8, max: 4096, step: 8, description: 'Image width in pixels' },
    height: { kind: 'INT', default: 512, min: 8, max: 4096, step: 8, description: 'Image height in pixels' },
    batch: { kind: 'INT', default: 1, min: 1, max: 64 },
    downscale: { kind: 'INT', default: 8, min: 1, max: 64, description: 'Image side / latent side of the VAE in use' },
    channels: { kind: 'INT', default: 4, min: 1, max: 64, description: 'Latent channels of the U-Net' },
  },
  outputs: { latent: { type: 'LATENT' } },
  budget: ({ width, height, batch, downscale, channels }, connected) => {
    if (typeof width !== 'number' || typeof height !== 'number') return [];
    const uses: BudgetUse[] = [{ resource: 'pixels', amount: width * height, widget: 'width', what: `a ${width}×${height} image` }];
    // With a VAE connected, its own downscale and channels apply: unknown until it is loaded.
    if (!connected('vae') && typeof batch === 'number' && typeof downscale === 'number' && typeof channels === 'number') {
      const [h, w] = [Math.ceil(height / downscale), Math.ceil(width / downscale)];
      const what = `a latent of ${batch}×${channels}×${h}×${w}`;
      uses.push({ resource: 'latentElements', amount: batch * channels * h * w, widget: batch > 1 ? 'batch' : 'width', what });
    }
    return uses;
  },
  execute({ vae, width, height, batch, ...rest }) {
    const v = vae as VAEValue | undefined;
    const downscale = v ? vaeDownscale(v.model.config) : rest.downscale;
    const channels = v ? v.model.config.latentChannels : rest.channels;
    if (width % downscale !== 0 || height % downscale !== 0) {
      throw diffusionError('LATENT_SHAPE', `EmptyLatent: ${width}×${height} is not a multiple of the downscale ${downscale}`);
    }
    const shape = [batch, channels, height / downscale, width / downscale];
    const samples = hostTensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
    return { latent: { samples, kind: 'empty' } satisfies LatentValue };
  },
});

export const VAEEncode = defineNode({
  type: 'VAEEncode',
  category: 'diffusion/latent',
  description: 'Encode an image into a scaled latent (posterior sample with a seed, or its mean)',
  inputs: { vae: { type: 'VAE' }, image: { type: 'IMAGE' } },
  widgets: {
    mode: { kind: 'ENUM', options: ['sample', 'mean'], default: 'sample' },
    seed: { kind: 'SEED', default: 0 },
  },
  outputs: { latent: { type: 'LATENT' } },
  async execute(args) {
    const vae = args.vae as VAEValue;
    const image = args.image as ImageValue;
    const f = vaeDownscale(vae.model.config);
    if (image.height % f !== 0 || image.width % f !== 0) {
      throw diffusionError('IMAGE_SHAPE', `VAEEncode: image ${image.width}×${image.height} is not a multiple of ${f}`);
    }
    const x = new Float32Array(image.data.length);
    for (let i = 0; i < x.length; i++) x[i] = image.data[i] * 2 - 1;
    const input = hostTensor(x, [image.batch, 3, image.height, image.width]);
    let moments: HostTensor;
    if (vae.external) {
      if (!vae.external.encoder) throw diffusionError('FILE_NOT_FOUND', `${vae.source}: this ONNX export has no vae_encoder/model.onnx`);
      moments = await externalEncodeMoments(vae.external.encoder, input);
    } else {
      [moments] = await runEntry(vae.backend, vae.model, 'vae_encode', vaeEncodeEntry(vae.model), [input]);
    }
    const latent = samplePosterior(moments, args.mode as 'sample' | 'mean', args.seed);
    return { latent: { samples: scaleLatent(latent, vae.model.config.scalingFactor), kind: 'image' } satisfies LatentValue };
  },
});

export const VAEDecode = defineNode({
  type: 'VAEDecode',
  category: 'diffusion/latent',
  description: 'Decode a scaled latent into an image in [0, 1]',
  inputs: { vae: { type: 'VAE' }, latent: { type: 'LATENT' } },
  widgets: {},
  outputs: { image: { type: 'IMAGE' } },
  async execute(args) {
    const vae = args.vae as VAEValue;
    const latent = args.latent as LatentValue;
    const c = vae.model.config;
    if (latent.samples.shape.length !== 4 || latent.samples.shape[1] !== c.latentChannels) {
      throw diffusionError(
        'LATENT_SHAPE',
        `VAEDecode: latent [${latent.samples.shape.join(', ')}] needs ${c.latentChannels} channels for this VAE`,
      );
    }
    const z = scaleLatent(latent.samples, 1 / c.scalingFactor);
    const x = vae.external?.decoder
      ? await externalDecode(vae.external.decoder, z)
      : (await runEntry(vae.backend, vae.model, 'vae_decode', vaeDecodeEntry(vae.model), [z]))[0];
    const out = new Float32Array(x.data.length);
    for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, x.data[i] / 2 + 0.5));
    const [b, , h, w] = x.shape;
    return { image: imageValue(out, b, h, w) };
  },
});
