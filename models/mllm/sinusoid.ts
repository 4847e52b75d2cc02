// fairseq sinusoidal positions (spec §1.4): half = D/2, freq_i = exp(-i·ln(10000)/(half-1)); row p is
// [sin(p·freq) …, cos(p·freq) …] (all sines, then all cosines); the padding row (1) is zero; positions are
// cumsum(token != pad)·(token != pad) + pad, so the first real token is at 2.

export function sinusoidFrequencies(dim: number): Float32Array {
  const half = dim / 2;
  const f = new Float32Array(half);
  const step = Math.log(10000) / (half - 1);
  for (let i = 0; i < half; i++) f[i] = Math.exp(-i * step);
  return f;
}

/** fairseq `make_positions` on host tokens [B, T] (row-major). */
export function makePositions(tokens: Int32Array, batch: number, length: number, padIdx: number): Int32Array {
  const out = new Int32Array(batch * length);
  for (let b = 0; b < batch; b++) {
    let count = 0;
    for (let t = 0; t < length; t++) {
      const i = b * length + t;
      if (tokens[i] === padIdx) out[i] = padIdx;
      else out[i] = ++count + padIdx;
    }
  }
  return out;
}

/** One row of the table, computed on the host in float64 (for tests and references). */
export function sinusoidRow(position: number, dim: number, padIdx = 1): Float32Array {
  const row = new Float32Array(dim);
  if (position === padIdx) return row;
  const half = dim / 2;
  const step = Math.log(10000) / (half - 1);
  for (let i = 0; i < half; i++) {
    row[i] = Math.sin(position * Math.exp(-i * step));
    row[half + i] = Math.cos(position * Math.exp(-i * step));
  }
  return row;
}
