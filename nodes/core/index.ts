// The core pack: values, arithmetic, images and tensors in and out of files.
import { definePack } from '../../engine/node-def.ts';
import { primitiveNodes } from './primitives.ts';
import { Arithmetic, PreviewValue, TensorMath } from './math.ts';
import { imageNodes } from './image-nodes.ts';
import { tensorNodes } from './tensor-nodes.ts';
import './types.ts';

export default definePack('core', [...primitiveNodes, Arithmetic, TensorMath, PreviewValue, ...imageNodes, ...tensorNodes]);
