// Socket types the core pack introduces, mapped to their TypeScript values for every pack's `execute`.
import type { ImageValue } from '../../models/image.ts';
import type { HostTensor } from '../../models/ops/ops.ts';

declare module '../../engine/node-def.ts' {
  interface SocketTypes {
    IMAGE: ImageValue;
    TENSOR: HostTensor;
  }
}

export type { ImageValue, HostTensor };
