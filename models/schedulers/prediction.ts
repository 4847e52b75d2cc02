// The model output as x̂₀ and ε, whatever the model predicts (diffusers `prediction_type`). With α = √ᾱ and
// σ = √(1 − ᾱ) the sample is x = α·x₀ + σ·ε, and v = α·ε − σ·x₀ (Salimans & Ho 2022), so:
//   epsilon:      x̂₀ = (x − σ·out)/α          ε = out
//   v_prediction: x̂₀ = α·x − σ·out             ε = α·out + σ·x
//   sample:       x̂₀ = out                     ε = (x − α·out)/σ

import { checkSameLength, like, type PredictionType, type Vec } from './schedule.ts';

/** x̂₀ (float64) at a point with cumulative ᾱ, from the model output `out` and the sample `x`. */
export function originalFromOutput(out: Vec, x: Vec, alphaBar: number, type: PredictionType, where: string): Float64Array {
  checkSameLength(x, out, where);
  const a = Math.sqrt(alphaBar);
  const s = Math.sqrt(1 - alphaBar);
  const r = new Float64Array(x.length);
  switch (type) {
    case 'epsilon':
      for (let k = 0; k < x.length; k++) r[k] = (x[k]! - s * out[k]!) / a;
      break;
    case 'v_prediction':
      for (let k = 0; k < x.length; k++) r[k] = a * x[k]! - s * out[k]!;
      break;
    case 'sample':
      for (let k = 0; k < x.length; k++) r[k] = out[k]!;
      break;
  }
  return r;
}

/** `values` in an array of the same kind as `x` (samples keep their array type). */
export function asKindOf<V extends Vec>(x: V, values: Vec): V {
  const r = like(x);
  r.set(values);
  return r;
}

/** ε at a point with cumulative ᾱ, from the model output `out` and the sample `x`. */
export function noiseFromOutput(out: Vec, x: Vec, alphaBar: number, type: PredictionType, where: string): Vec {
  checkSameLength(x, out, where);
  if (type === 'epsilon') return out;
  const a = Math.sqrt(alphaBar);
  const s = Math.sqrt(1 - alphaBar);
  const r = new Float64Array(x.length);
  if (type === 'v_prediction') for (let k = 0; k < x.length; k++) r[k] = a * out[k]! + s * x[k]!;
  else for (let k = 0; k < x.length; k++) r[k] = (x[k]! - a * out[k]!) / s;
  return r;
}
