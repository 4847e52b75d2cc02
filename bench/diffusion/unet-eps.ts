// The U-Net as the sampler's ε-predictor through a runner (the benches' guided samples share it).
import type { Runner } from '../../models/runtime/runner.ts';
import { hostTensor } from '../../models/ops/ops.ts';
import type { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { unetEntry } from '../../models/unet/entries.ts';
import type { PredictEps } from '../../models/sampling/guided.ts';

export function unetPredictEps(runner: Runner, unet: UNet2DConditionModel): PredictEps {
  return async (x, t, c) =>
    (await runner.run(unet, 'unet', unetEntry(unet), [x, hostTensor(new Float32Array(x.shape[0]!).fill(t), [x.shape[0]!]), c]))[0]!.data as Float32Array;
}
