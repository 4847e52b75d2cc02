// The generation graph the default model's evaluator and CLI build for a prompt: where the picture starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_EDIT_STRENGTH, GenerateError, generateWorkflow } from '../../default-model/generate.ts';

const weights = '/weights';
const node = (doc: ReturnType<typeof generateWorkflow>, id: string) => doc.nodes.find((n) => n.id === id);

test('an edit prompt starts from its picture, noised to the edit strength', () => {
  const doc = generateWorkflow({ weights }, '<i> make the circle green', ['/in.png'], 7);
  assert.equal(node(doc, 'latent')?.type, 'VAEEncode');
  assert.deepEqual(node(doc, 'latent')?.inputs?.image, { node: 'image1', output: 'image' });
  assert.equal(node(doc, 'sample')?.widgets?.denoise, DEFAULT_EDIT_STRENGTH);
});

test('a subject prompt starts from noise', () => {
  const doc = generateWorkflow({ weights }, 'a photo of <i>', ['/in.png'], 7);
  assert.equal(node(doc, 'latent')?.type, 'EmptyLatent');
  assert.equal(node(doc, 'sample')?.widgets?.denoise, 1);
});

test('through CLIP text, one picture is only the edit start (the edit ceiling) and the text encoder reads the caption', () => {
  const doc = generateWorkflow({ weights, encoder: 'clip-text', editStrength: 0.6 }, 'a green circle on a mint background', ['/in.png'], 7);
  assert.equal(node(doc, 'encode')?.type, 'CLIPTextEncode');
  assert.equal(node(doc, 'latent')?.type, 'VAEEncode');
  assert.equal(node(doc, 'image1')?.widgets?.image, '/in.png');
  assert.equal(node(doc, 'sample')?.widgets?.denoise, 0.6);
  const plain = generateWorkflow({ weights, encoder: 'clip-text' }, 'a green circle', [], 7);
  assert.equal(node(plain, 'latent')?.type, 'EmptyLatent');
  assert.equal(node(plain, 'image1'), undefined);
  assert.throws(() => generateWorkflow({ weights, encoder: 'clip-text' }, 'two', ['/a.png', '/b.png'], 7), GenerateError);
});

test('a blend averages the CLIP text condition of a caption into the encoder\'s before the Sampler', () => {
  const doc = generateWorkflow({ weights }, '<i> make the circle green', ['/in.png'], 7, { weight: 0.25, caption: 'a green circle' });
  const blend = node(doc, 'blend');
  assert.equal(blend?.type, 'ConditioningAverage');
  assert.equal(blend?.widgets?.strength, 0.25);
  assert.deepEqual(blend?.inputs?.conditioning_from, { node: 'encode', output: 'conditioning' });
  assert.equal(node(doc, 'blend_prompt')?.widgets?.text, 'a green circle');
  assert.deepEqual(node(doc, 'sample')?.inputs?.conditioning, { node: 'blend', output: 'conditioning' });
  assert.equal(node(generateWorkflow({ weights }, 'a red circle', [], 7), 'blend'), undefined);
});
