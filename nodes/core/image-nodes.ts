// Image nodes: load, save (PNG with the workflow embedded), preview, and two tiny image operations.
import sharp from 'sharp';
import { defineNode } from '../../engine/node-def.ts';
import { imageValue, type ImageValue } from '../../models/image.ts';
import { fromFile, toPng, toRgb8 } from './image.ts';
import { checkPrefix, nextFileNames, writeFileAtomic } from './files.ts';
import './types.ts';

export const LoadImage = defineNode({
  type: 'LoadImage',
  category: 'core/image',
  description: 'Reads an image file (PNG, JPEG, WebP, ...) as an IMAGE batch of one; alpha is dropped.',
  inputs: {},
  widgets: { image: { kind: 'PATH', default: '', mode: 'read', extensions: ['.png', '.jpg', '.jpeg', '.webp'] } },
  outputs: { image: { type: 'IMAGE' }, width: { type: 'INT' }, height: { type: 'INT' } },
  execute: async ({ image }) => {
    const value = await fromFile(image);
    return { image: value, width: value.width, height: value.height };
  },
});

export const SaveImage = defineNode({
  type: 'SaveImage',
  category: 'core/image',
  description: 'Writes each image of the batch as a PNG under the job\'s output folder, with the workflow embedded so that dropping the PNG into the editor restores the graph.',
  inputs: { images: { type: 'IMAGE' } },
  widgets: { filename_prefix: { kind: 'STRING', default: 'kosmos-g' } },
  outputs: {},
  output: true,
  execute: async ({ images, filename_prefix }, ctx) => {
    const prefix = checkPrefix(filename_prefix, ctx.nodeId);
    const dir = await ctx.outputDir();
    const names = await nextFileNames(dir, prefix, '.png', images.batch);
    const text = ctx.workflow !== undefined ? { workflow: JSON.stringify(ctx.workflow) } : undefined;
    for (let i = 0; i < images.batch; i++) {
      ctx.throwIfCancelled();
      await writeFileAtomic(names[i]!, await toPng(images, i, text));
      ctx.addOutputFile({ path: names[i]!, kind: 'image', mime: 'image/png' });
    }
    return {};
  },
});

export const PreviewImage = defineNode({
  type: 'PreviewImage',
  category: 'core/image',
  description: 'Shows the images: writes small PNG previews (longest side at most 256 px, no workflow embedded).',
  inputs: { images: { type: 'IMAGE' } },
  widgets: {},
  outputs: {},
  output: true,
  execute: async ({ images }, ctx) => {
    const dir = await ctx.outputDir();
    const names = await nextFileNames(dir, `preview-${ctx.nodeId}`, '.png', images.batch);
    for (let i = 0; i < images.batch; i++) {
      const png = await sharp(toRgb8(images, i), { raw: { width: images.width, height: images.height, channels: 3 } })
        .resize({ width: 256, height: 256, fit: 'inside', withoutEnlargement: true })
        .png()
        .toBuffer();
      await writeFileAtomic(names[i]!, png);
      ctx.addOutputFile({ path: names[i]!, kind: 'image', mime: 'image/png' });
      ctx.progress({ value: i + 1, max: images.batch, preview: { mime: 'image/png', data: new Uint8Array(png) } });
    }
    return {};
  },
});

export const ImageInvert = defineNode({
  type: 'ImageInvert',
  category: 'core/image',
  description: 'Inverts colours: 1 − value.',
  inputs: { image: { type: 'IMAGE' } },
  widgets: {},
  outputs: { image: { type: 'IMAGE' } },
  execute: ({ image }) => {
    const data = new Float32Array(image.data.length);
    for (let i = 0; i < data.length; i++) data[i] = 1 - image.data[i]!;
    return { image: imageValue(data, image.batch, image.height, image.width) };
  },
});

export const ImageResize = defineNode({
  type: 'ImageResize',
  category: 'core/image',
  description: 'Resizes every image of the batch to width × height (bilinear or nearest).',
  inputs: { image: { type: 'IMAGE' } },
  widgets: {
    width: { kind: 'INT', default: 512, min: 1, max: 8192, step: 8 },
    height: { kind: 'INT', default: 512, min: 1, max: 8192, step: 8 },
    method: { kind: 'ENUM', options: ['bilinear', 'nearest'], default: 'bilinear' },
  },
  outputs: { image: { type: 'IMAGE' } },
  budget: ({ width, height }) =>
    typeof width === 'number' && typeof height === 'number' ? [{ resource: 'pixels', amount: width * height, widget: 'width', what: `a ${width}×${height} image` }] : [],
  execute: ({ image, width, height, method }) => ({ image: resize(image, width, height, method === 'nearest') }),
});

/** Resize with pixel-centre alignment (like align_corners = false). */
export function resize(image: ImageValue, width: number, height: number, nearest: boolean): ImageValue {
  const { width: w0, height: h0 } = image;
  const out = new Float32Array(image.batch * 3 * width * height);
  const sx = w0 / width;
  const sy = h0 / height;
  for (let plane = 0; plane < image.batch * 3; plane++) {
    const src = plane * w0 * h0;
    const dst = plane * width * height;
    for (let y = 0; y < height; y++) {
      const fy = Math.min(h0 - 1, Math.max(0, (y + 0.5) * sy - 0.5));
      const y0 = nearest ? Math.min(h0 - 1, Math.floor((y + 0.5) * sy)) : Math.floor(fy);
      const y1 = Math.min(h0 - 1, y0 + 1);
      const ty = nearest ? 0 : fy - y0;
      for (let x = 0; x < width; x++) {
        const fx = Math.min(w0 - 1, Math.max(0, (x + 0.5) * sx - 0.5));
        const x0 = nearest ? Math.min(w0 - 1, Math.floor((x + 0.5) * sx)) : Math.floor(fx);
        const x1 = Math.min(w0 - 1, x0 + 1);
        const tx = nearest ? 0 : fx - x0;
        const top = image.data[src + y0 * w0 + x0]! * (1 - tx) + image.data[src + y0 * w0 + x1]! * tx;
        const bottom = image.data[src + y1 * w0 + x0]! * (1 - tx) + image.data[src + y1 * w0 + x1]! * tx;
        out[dst + y * width + x] = top * (1 - ty) + bottom * ty;
      }
    }
  }
  return imageValue(out, image.batch, height, width);
}

export const imageNodes = [LoadImage, SaveImage, PreviewImage, ImageInvert, ImageResize];
