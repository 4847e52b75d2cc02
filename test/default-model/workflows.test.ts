import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseWorkflow, Registry, validateWorkflow } from '../../engine/index.ts';
import { STAGE_SETTINGS, STAGES, shippedStageWorkflow, stageWorkflow } from '../../default-model/workflows.ts';
import { weightsLayout, workLayout } from '../../default-model/layout.ts';
import { DEFAULT_VISION } from '../../default-model/config.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('workflows/default/ holds the six stage graphs the pipeline runs, and each one validates', async () => {
  const registry = await Registry.load({ env: false });
  for (const [i, stage] of STAGES.entries()) {
    const file = path.join(root, 'workflows', 'default', `${i + 1}-${stage}.json`);
    const shipped = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(shipped, shippedStageWorkflow(stage, root), `${file} is stale: run npx tsx scripts/train-default.ts --write-workflows`);
    const issues = validateWorkflow(parseWorkflow(shipped, file), registry);
    assert.deepEqual(issues, [], `${stage}: ${JSON.stringify(issues)}`);
    const types = shipped.nodes.map((n: { type: string }) => n.type);
    assert.ok(types.includes('TrainLoop') && types.includes('SaveCheckpoint'), stage);
    for (const n of shipped.nodes) {
      for (const v of Object.values(n.widgets ?? {})) if (typeof v === 'string') assert.ok(!path.isAbsolute(v), `${stage} ${n.id}: ${v}`);
    }
  }
});

test('recipe settings: offset noise reaches the diffusion losses; an alignment share adds stage 2\'s loss to stage 3', async () => {
  const registry = await Registry.load({ env: false });
  const paths = { weights: weightsLayout('/w'), work: workLayout('/k') };
  const node = (doc: { nodes: { id: string; type: string; widgets?: Record<string, unknown>; inputs?: Record<string, { node: string }> }[] }, id: string) =>
    doc.nodes.find((n) => n.id === id)!;

  const plain = stageWorkflow('stage3', paths, { ...STAGE_SETTINGS.stage3, offsetNoise: 0, align: 0, alignImages: 0, alignEdits: 0 });
  assert.equal(node(plain, 'train').inputs!.loss!.node, 'mix', 'without alignment shares stage 3 is the paper\'s diffusion loss alone');
  assert.ok(!plain.nodes.some((n) => n.type === 'AlignerLoss'));
  assert.ok(plain.nodes.filter((n) => n.type === 'DiffusionLoss').every((n) => !('offset_noise' in (n.widgets ?? {}))));

  const unet = stageWorkflow('unet', paths, { ...STAGE_SETTINGS.unet, offsetNoise: 0.3 });
  assert.equal(node(unet, 'loss').widgets!.offset_noise, 0.3);

  const doc = stageWorkflow('stage3', paths, { ...STAGE_SETTINGS.stage3, offsetNoise: 0.3, align: 0.25, alignImages: 0, alignEdits: 0 });
  assert.deepEqual(validateWorkflow(parseWorkflow(doc, 'stage3'), registry), []);
  assert.ok(doc.nodes.filter((n) => n.type === 'DiffusionLoss').every((n) => n.widgets!.offset_noise === 0.3));
  assert.equal(node(doc, 'train').inputs!.loss!.node, 'mix_align');
  assert.equal(node(doc, 'mix_align').widgets!.weights, '0.75,0.25');
  assert.equal(node(doc, 'aligner').widgets!.reconstruction, true, 'the reconstruction term needs decoder N');
  assert.deepEqual(Object.fromEntries(Object.entries(node(doc, 'loss_align').inputs!).map(([k, v]) => [k, v.node])), {
    mllm: 'mllm', aligner: 'aligner', clip_text: 'clip_text', clip_tokenizer: 'clip_tok', sequences: 'seq_align',
  });
});

test('recipe settings: an image-alignment share aligns compositional prompts to what they mean; ema and every reach TrainLoop', async () => {
  const registry = await Registry.load({ env: false });
  const paths = { weights: weightsLayout('/w'), work: workLayout('/k') };
  const node = (doc: { nodes: { id: string; type: string; widgets?: Record<string, unknown>; inputs?: Record<string, { node: string }> }[] }, id: string) =>
    doc.nodes.find((n) => n.id === id)!;
  const both = stageWorkflow('stage3', paths, { ...STAGE_SETTINGS.stage3, align: 0.2, alignImages: 0.3, alignEdits: 0 });
  assert.deepEqual(validateWorkflow(parseWorkflow(both, 'stage3'), registry), []);
  assert.equal(node(both, 'mix_align').widgets!.weights, '0.5,0.2,0.3');
  assert.deepEqual(Object.values(node(both, 'mix_align').inputs!).map((v) => v.node), ['mix', 'loss_align', 'loss_aimg']);
  assert.equal(node(both, 'loss_aimg').type, 'ConditionAlignLoss');
  assert.equal(node(both, 'cond_aimg').inputs!.sequences!.node, 'seq_aimg');
  assert.equal(node(both, 'seq_aimg').widgets!.mode, 'compositional');

  const images = stageWorkflow('stage3', paths, { ...STAGE_SETTINGS.stage3, align: 0, alignImages: 0.25, alignEdits: 0 });
  assert.deepEqual(validateWorkflow(parseWorkflow(images, 'stage3'), registry), []);
  assert.equal(node(images, 'mix_align').widgets!.weights, '0.75,0.25');
  assert.ok(!images.nodes.some((n) => n.type === 'AlignerLoss'));

  // Edit prompts aligned to the edited scene's caption: a second ConditionAlignLoss, mixed with the subject one by
  // their shares into one extra loss.
  const edits = stageWorkflow('stage3', paths, { ...STAGE_SETTINGS.stage3, align: 0.2, alignImages: 0.3, alignEdits: 0.2 });
  assert.deepEqual(validateWorkflow(parseWorkflow(edits, 'stage3'), registry), []);
  assert.equal(node(edits, 'mix_align').widgets!.weights, '0.3,0.2,0.5');
  assert.deepEqual(Object.values(node(edits, 'mix_align').inputs!).map((v) => v.node), ['mix', 'loss_align', 'mix_cond']);
  assert.equal(node(edits, 'mix_cond').widgets!.weights, '0.6,0.4');
  assert.deepEqual(Object.values(node(edits, 'mix_cond').inputs!).map((v) => v.node), ['loss_aimg', 'loss_aedit']);
  assert.equal(node(edits, 'loss_aedit').type, 'ConditionAlignLoss');
  assert.equal(node(edits, 'data_aedit').type, 'LoadEditTriples');
  assert.equal(node(edits, 'seq_aedit').widgets!.mode, 'edit');
  // Aligned edits never carry the input's caption (held-out edits show the scene as a picture only); the diffusion
  // branch keeps the paper's 50 %.
  assert.equal(node(edits, 'seq_aedit').widgets!.drop_caption_prob, 1);
  assert.equal(node(edits, 'seq_edit').widgets!.drop_caption_prob, 0.5);

  const unet = stageWorkflow('unet', paths, { ...STAGE_SETTINGS.unet, ema: 0.999, every: 500 });
  assert.equal(node(unet, 'train').widgets!.ema_decay, 0.999);
  assert.equal(node(unet, 'train').widgets!.checkpoint_every, 500);
  assert.equal(node(unet, 'train').widgets!.checkpoint_keep, 0);

  // Stage 1 mixes captions : scene captions : single entities 1 : 1 : 1 unless scene_weight says otherwise.
  assert.equal(node(stageWorkflow('stage1', paths, STAGE_SETTINGS.stage1), 'mix').widgets!.weights, '1,1,1');
  const scenes = stageWorkflow('stage1', paths, { ...STAGE_SETTINGS.stage1, sceneWeight: 2 });
  assert.equal(node(scenes, 'mix').widgets!.weights, '1,2,1');
  assert.deepEqual(Object.values(node(scenes, 'mix').inputs!).map((v) => v.node), ['loss_text', 'loss_pairs', 'loss_subjects']);
});

test('recipe settings: stage 1 can train the vision tower\'s last block and ln_post with the MLLM (train_vision) and save it', async () => {
  const registry = await Registry.load({ env: false });
  const paths = { weights: weightsLayout('/w'), work: workLayout('/k') };
  const frozen = stageWorkflow('stage1', paths, STAGE_SETTINGS.stage1);
  const trained = stageWorkflow('stage1', paths, { ...STAGE_SETTINGS.stage1, trainVision: 1 });
  assert.deepEqual(validateWorkflow(parseWorkflow(trained, 'stage1'), registry), []);
  const train = (doc: typeof trained) => doc.nodes.find((n) => n.id === 'train')!;
  assert.deepEqual(Object.keys(train(frozen).inputs!).sort(), ['connector', 'loss', 'mllm']);
  assert.equal(train(frozen).widgets!.train_only, '');
  assert.deepEqual(Object.keys(train(trained).inputs!).sort(), ['clip_vision', 'connector', 'loss', 'mllm']);
  // Only the last of the tower's blocks and its final LayerNorm: the rest stays as the CLIP stage trained it.
  const last = DEFAULT_VISION.layers - 1;
  assert.deepEqual(String(train(trained).widgets!.train_only).split(','), [
    'gpt_model.decoder.', 'img_connector.', `img_model.visual.transformer.resblocks.${last}.`, 'img_model.visual.ln_post.',
  ]);
  const saveVision = trained.nodes.find((n) => n.id === 'save_vision')!;
  assert.equal(saveVision.widgets!.path, paths.work.vision);
  assert.equal(saveVision.inputs!.clip_vision!.node, 'clip_vision');
  assert.ok(!frozen.nodes.some((n) => n.id === 'save_vision'));
});

test('recipe settings: the U-Net stage trains the CLIP text encoder with it (train_text, the default) and saves it as the condition\'s encoder', async () => {
  const registry = await Registry.load({ env: false });
  const paths = { weights: weightsLayout('/w'), work: workLayout('/k') };
  const frozen = stageWorkflow('unet', paths, { ...STAGE_SETTINGS.unet, trainText: 0 });
  const joint = stageWorkflow('unet', paths);
  assert.deepEqual(validateWorkflow(parseWorkflow(joint, 'unet'), registry), []);
  const train = (doc: typeof joint) => doc.nodes.find((n) => n.id === 'train')!;
  assert.deepEqual(Object.keys(train(frozen).inputs!).sort(), ['loss', 'unet']);
  assert.deepEqual(Object.keys(train(joint).inputs!).sort(), ['clip_text', 'loss', 'unet']);
  const saveText = joint.nodes.find((n) => n.id === 'save_text')!;
  assert.equal(saveText.widgets!.path, paths.weights.textEncoder);
  assert.equal(saveText.inputs!.clip_text!.node, 'clip_text');
  assert.ok(!frozen.nodes.some((n) => n.id === 'save_text'));
});
