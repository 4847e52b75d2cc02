// The training pack: datasets and batches, sequence builders, differentiable conditioning, losses, the training
// loop and checkpoints (docs/training.md).
import { definePack } from '../engine/node-def.ts';
import './types.ts';
import { LoadCaptions, LoadCompositional, LoadEditTriples, LoadImageCaptions, NextBatch } from './data-nodes.ts';
import { BuildSequences } from './sequence-nodes.ts';
import { ClipTextCondition, KosmosGCondition } from './condition-nodes.ts';
import { AlignerLoss, ConditionAlignLoss, ContrastiveLoss, DiffusionLoss, LMLoss, LoadCLIPHeads, VAELoss } from './loss-nodes.ts';
import { MixLosses } from './mix-node.ts';
import { TrainLoop } from './train-loop-node.ts';
import { SaveCheckpoint } from './save-checkpoint-node.ts';

export default definePack('training', [
  LoadCaptions,
  LoadImageCaptions,
  LoadCompositional,
  LoadEditTriples,
  NextBatch,
  BuildSequences,
  KosmosGCondition,
  ClipTextCondition,
  LMLoss,
  AlignerLoss,
  DiffusionLoss,
  ConditionAlignLoss,
  LoadCLIPHeads,
  ContrastiveLoss,
  VAELoss,
  MixLosses,
  TrainLoop,
  SaveCheckpoint,
]);
