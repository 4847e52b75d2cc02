// Writes a synthetic-world data set in the training formats (models/data/datasets.ts): captions.jsonl (text only,
// stages 1–2), image-captions.jsonl (CLIP, VAE, text-to-image U-Net, stage 1 pairs), compositional.jsonl (stage 3:
// caption, tags, full image, per entity a crop and a masked crop) and edits.jsonl (stage 3 edit triples), plus
// images/*.png. Files are written to a temporary folder and renamed into place, so a half-written set never exists.

import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { Rng } from '../ops/random.ts';
import type { Raster } from './raster.ts';
import { caption, entityCrops, render, sampleEdit, sampleScene, type Scene } from './scene.ts';

export interface WorldDataOptions {
  /** Number of scenes (each gives one image–caption pair, one compositional row and one edit). */
  count: number;
  seed: number;
  size?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface WorldDataFiles {
  dir: string;
  captions: string;
  imageCaptions: string;
  compositional: string;
  edits: string;
}

export async function rasterToPng(img: Raster): Promise<Buffer> {
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .png({ compressionLevel: 9 })
    .toBuffer();
}

export async function writeWorldData(dir: string, options: WorldDataOptions): Promise<WorldDataFiles> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(path.join(tmp, 'images'), { recursive: true });
  const rng = new Rng(options.seed);
  const lines = { captions: [] as string[], imageCaptions: [] as string[], compositional: [] as string[], edits: [] as string[] };
  const save = async (name: string, img: Raster) => {
    await writeFile(path.join(tmp, 'images', name), await rasterToPng(img));
    return `images/${name}`;
  };
  for (let i = 0; i < options.count; i++) {
    const scene: Scene = sampleScene(rng, { size: options.size ?? 64 });
    const id = String(i).padStart(5, '0');
    const text = caption(scene);
    const image = await save(`${id}.png`, render(scene));
    lines.captions.push(JSON.stringify({ caption: text }));
    lines.imageCaptions.push(JSON.stringify({ caption: text, image }));
    const entities = [];
    for (let e = 0; e < scene.entities.length; e++) {
      const { crop, masked } = entityCrops(scene, e);
      entities.push({
        tag: scene.entities[e].shape,
        crop: await save(`${id}-e${e}-crop.png`, crop),
        masked: await save(`${id}-e${e}-masked.png`, masked),
      });
    }
    lines.compositional.push(JSON.stringify({ caption: text, tags: entities.map((e) => e.tag), image, entities }));
    const edit = sampleEdit(rng, scene);
    const edited = await save(`${id}-edited.png`, render(edit.after));
    lines.edits.push(
      JSON.stringify({ input_caption: text, instruction: edit.instruction, input_image: image, edited_image: edited }),
    );
    options.onProgress?.(i + 1, options.count);
  }
  const files = {
    captions: 'captions.jsonl',
    imageCaptions: 'image-captions.jsonl',
    compositional: 'compositional.jsonl',
    edits: 'edits.jsonl',
  } as const;
  for (const [key, name] of Object.entries(files)) {
    await writeFile(path.join(tmp, name), lines[key as keyof typeof lines].join('\n') + '\n');
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.dirname(dir), { recursive: true });
  await rename(tmp, dir);
  return {
    dir,
    captions: path.join(dir, files.captions),
    imageCaptions: path.join(dir, files.imageCaptions),
    compositional: path.join(dir, files.compositional),
    edits: path.join(dir, files.edits),
  };
}
