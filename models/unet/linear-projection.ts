// SD 2.x U-Nets and ControlNets (`use_linear_projection: true`) store the transformer blocks' proj_in/proj_out as
// Linear weights [out, in]; this implementation builds them as 1×1 convs [out, in, 1, 1]. A 1×1 conv over the
// channels of each pixel is that Linear over the pixel's token, so the weights are the same numbers: only the
// shape is extended, the data shared.

import type { HostTensor } from '../ops/ops.ts';

const PROJECTION = /\.(proj_in|proj_out)\.weight$/;

/** The state dict with 2-D proj_in/proj_out weights given 1×1 conv shapes; other tensors unchanged. */
export function linearProjectionsAsConvs(sd: Map<string, HostTensor>): Map<string, HostTensor> {
  let changed = false;
  const out = new Map<string, HostTensor>();
  for (const [key, t] of sd) {
    if (PROJECTION.test(key) && t.shape.length === 2) {
      out.set(key, { ...t, shape: [t.shape[0]!, t.shape[1]!, 1, 1] });
      changed = true;
    } else {
      out.set(key, t);
    }
  }
  return changed ? out : sd;
}
