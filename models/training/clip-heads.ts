// CLIP's contrastive heads: the projections of the pooled image and text states into the shared embedding space
// and the learned log logit scale (transformers CLIPModel names: `visual_projection.weight` [D, Wv],
// `text_projection.weight` [D, Wt], `logit_scale`, initialised to log(1/0.07)). The towers KOSMOS-G uses carry no
// projection (spec §1.3), so contrastive pre-training of the small towers gets them from here.
import { Linear, constantParam } from '../nn/layers.ts';
import { Module, type Parameter } from '../nn/module.ts';
import { Rng } from '../ops/random.ts';

export class CLIPHeads extends Module {
  visual_projection: Linear;
  text_projection: Linear;
  logit_scale: Parameter;

  constructor(
    readonly visionWidth: number,
    readonly textWidth: number,
    readonly projectionDim: number,
    seed = 0,
  ) {
    super();
    const rng = new Rng(seed);
    this.visual_projection = new Linear(visionWidth, projectionDim, rng, false);
    this.text_projection = new Linear(textWidth, projectionDim, rng, false);
    this.logit_scale = constantParam([1], Math.log(1 / 0.07));
  }
}
