// The basic layers, named as in PyTorch so that their parameter keys (`weight`, `bias`) match checkpoints.
// Initialisation follows PyTorch's defaults (uniform ±1/√fan_in for Linear and Conv2d, ones/zeros for norms,
// N(0, 1) for Embedding), drawn from the project's seeded Rng so a seed gives the same model everywhere.

import { Module, Parameter } from './module.ts';
import { Rng } from '../ops/random.ts';
import type { Conv2dOptions, Ops } from '../ops/ops.ts';

// Each initialiser draws one 32-bit seed from the module's Rng at construction and fills the values lazily from
// its own Rng, so the result does not depend on the order in which parameters are first touched.

export function uniformParam(shape: number[], bound: number, rng: Rng): Parameter {
  const seed = rng.nextUint32();
  return new Parameter(shape, () => {
    const r = new Rng(seed);
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = (r.uniform() * 2 - 1) * bound;
    return data;
  });
}

export function normalParam(shape: number[], std: number, rng: Rng): Parameter {
  const seed = rng.nextUint32();
  return new Parameter(shape, () => {
    const r = new Rng(seed);
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = r.normal() * std;
    return data;
  });
}

export function constantParam(shape: number[], value: number): Parameter {
  return new Parameter(shape, () => new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value));
}

export class Linear extends Module {
  weight: Parameter;
  bias?: Parameter;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    rng: Rng,
    bias = true,
  ) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = uniformParam([outFeatures, inFeatures], bound, rng);
    if (bias) this.bias = uniformParam([outFeatures], bound, rng);
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return ops.linear(x, ops.param(this.weight), this.bias && ops.param(this.bias));
  }
}

export class LayerNorm extends Module {
  weight: Parameter;
  bias: Parameter;
  constructor(
    readonly dim: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = constantParam([dim], 1);
    this.bias = constantParam([dim], 0);
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return ops.layerNorm(x, ops.param(this.weight), ops.param(this.bias), this.eps);
  }
}

export class GroupNorm extends Module {
  weight: Parameter;
  bias: Parameter;
  constructor(
    readonly groups: number,
    readonly channels: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = constantParam([channels], 1);
    this.bias = constantParam([channels], 0);
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return ops.groupNorm(x, this.groups, ops.param(this.weight), ops.param(this.bias), this.eps);
  }
}

export class Conv2d extends Module {
  weight: Parameter;
  bias?: Parameter;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernel: number,
    rng: Rng,
    readonly options: Conv2dOptions & { bias?: boolean } = {},
  ) {
    super();
    const groups = options.groups ?? 1;
    const fanIn = (inChannels / groups) * kernel * kernel;
    const bound = 1 / Math.sqrt(fanIn);
    this.weight = uniformParam([outChannels, inChannels / groups, kernel, kernel], bound, rng);
    if (options.bias ?? true) this.bias = uniformParam([outChannels], bound, rng);
  }
  forward<T>(ops: Ops<T>, x: T): T {
    return ops.conv2d(x, ops.param(this.weight), this.bias && ops.param(this.bias), this.options);
  }
}

export class Embedding extends Module {
  weight: Parameter;
  constructor(
    readonly count: number,
    readonly dim: number,
    rng: Rng,
    std = 1,
  ) {
    super();
    this.weight = normalParam([count, dim], std, rng);
  }
  forward<T>(ops: Ops<T>, ids: T): T {
    return ops.embedding(ops.param(this.weight), ids);
  }
}
