// A learning curve from one U-Net run: every checkpoint a run kept (`--set unet.every=N`, which keeps them all) is
// scored through CLIP text (recall.ts), with its raw weights and, where the run kept one (`--set unet.ema=…`), the
// moving average of its weights — the scaling study's "fidelity vs U-Net steps" and "EMA" tables.
//   npx tsx bench/default-model/curve.ts WEIGHTS_DIR CHECKPOINT_DIR [--per-split N] [--steps 2000,4000]
// WEIGHTS_DIR gives the text encoder, VAE, tokenizers and U-Net config (a train-default output folder); the
// U-Net weights come from CHECKPOINT_DIR/step-*/{model,ema}.safetensors (keys are the U-Net's diffusers names).
import { existsSync, readdirSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadSafetensors, readSafetensorsHeader, saveSafetensors } from '../../models/io/safetensors.ts';
import { entityRecall, recallCaptions, recallRow, RECALL_HEADER } from './recall.ts';

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv.splice(at, 2)[1] : undefined;
};
const perSplit = Number(opt('per-split') ?? 12);
const only = opt('steps')?.split(',').map(Number);
const [weightsArg, checkpointsArg] = argv;
if (!weightsArg || !checkpointsArg) {
  console.error('usage: curve.ts WEIGHTS_DIR CHECKPOINT_DIR [--per-split N] [--steps 2000,4000]');
  process.exit(2);
}
const weights = path.resolve(weightsArg);
const checkpoints = path.resolve(checkpointsArg);
const steps = readdirSync(checkpoints).filter((n) => /^step-\d{8}$/.test(n)).map((n) => Number(n.slice(5))).filter((s) => !only || only.includes(s)).sort((a, b) => a - b);
const items = recallCaptions(perSplit);
const TEXT_PREFIX = 'text_model.';

/**
 * A weights folder whose U-Net is one checkpoint file; every other part links to WEIGHTS_DIR's. A run that trained
 * the text encoder with the U-Net (`--set unet.train_text=1`) keeps both in the checkpoint (the text encoder's
 * transformers names start with `text_model.`): they are split so each part is scored with its own step's encoder.
 */
async function assemble(file: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'curve-'));
  const keys = [...(await readSafetensorsHeader(file)).tensors.keys()];
  const jointText = keys.some((k) => k.startsWith(TEXT_PREFIX));
  for (const name of readdirSync(weights)) if (name !== 'unet' && !(jointText && name === 'text_encoder')) await symlink(path.join(weights, name), path.join(dir, name));
  await mkdir(path.join(dir, 'unet'));
  await cp(path.join(weights, 'unet', 'config.json'), path.join(dir, 'unet', 'config.json'));
  const unetFile = path.join(dir, 'unet', 'diffusion_pytorch_model.safetensors');
  if (!jointText) {
    await symlink(file, unetFile);
    return dir;
  }
  const all = await loadSafetensors(file);
  const part = (text: boolean) => new Map([...all].filter(([k]) => k.startsWith(TEXT_PREFIX) === text));
  await saveSafetensors(unetFile, part(false));
  // The text encoder file keeps the shipped file's metadata (its config travels there).
  const shippedText = path.join(weights, 'text_encoder', 'model.safetensors');
  await mkdir(path.join(dir, 'text_encoder'));
  for (const name of readdirSync(path.dirname(shippedText))) if (name !== 'model.safetensors') await cp(path.join(weights, 'text_encoder', name), path.join(dir, 'text_encoder', name));
  await saveSafetensors(path.join(dir, 'text_encoder', 'model.safetensors'), part(true), (await readSafetensorsHeader(shippedText)).metadata);
  return dir;
}

console.log(`U-Net learning curve of ${path.basename(checkpoints)} through CLIP text, ${items.length} captions, 25 DPM-Solver++ steps, guidance 5:`);
console.log(`| U-Net steps | weights ${RECALL_HEADER}`);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const step of steps) {
  const folder = path.join(checkpoints, `step-${String(step).padStart(8, '0')}`);
  for (const [label, file] of [['raw', 'model.safetensors'], ['EMA', 'ema.safetensors']] as const) {
    if (!existsSync(path.join(folder, file))) continue;
    const dir = await assemble(path.join(folder, file));
    try {
      console.log(`| ${step} | ${label} ${recallRow(await entityRecall(dir, items))}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
