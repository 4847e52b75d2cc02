// How fast is this machine right now? A 1024³ matmul on tfjs-wasm, whose unloaded rate on the project's 2-core
// machine is 26–29 GFLOP/s (docs/STACK). Stage timings measured under load are scaled by the ratio to estimate the
// unloaded budget (docs/default-model.md).
//   npx tsx bench/default-model/calibrate.ts
import { createTfjsOps, tf } from '../../models/backends/tfjs/index.ts';

export const UNLOADED_GFLOPS = 27.5;

export async function matmulGflops(repeats = 5): Promise<number> {
  await createTfjsOps('wasm');
  const a = tf.randomNormal([1024, 1024]);
  const b = tf.randomNormal([1024, 1024]);
  tf.matMul(a, b).dataSync();
  const t0 = performance.now();
  for (let i = 0; i < repeats; i++) tf.tidy(() => tf.matMul(a, b).dataSync());
  const seconds = (performance.now() - t0) / 1000;
  a.dispose();
  b.dispose();
  return (2 * 1024 ** 3 * repeats) / seconds / 1e9;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const g = await matmulGflops();
  console.log(`matmul 1024³ on tfjs-wasm: ${g.toFixed(1)} GFLOP/s (unloaded ≈ ${UNLOADED_GFLOPS}); slowdown ×${(UNLOADED_GFLOPS / g).toFixed(2)}`);
}
