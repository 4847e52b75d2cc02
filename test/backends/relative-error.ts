// The parity measure of the backend tests and benches: the largest elementwise difference relative to the
// reference's scale, so a tolerance of 1e-4 means the same for outputs of any magnitude.

/** max |a − ref| / max |ref|. */
export function relativeError(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return diff / Math.max(scale, 1e-12);
}
