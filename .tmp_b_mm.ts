import { createTfjsOps, tf } from './models/backends/tfjs/index.ts';
await createTfjsOps('wasm');
const t = (f: () => void, n = 3) => { f(); const t0 = performance.now(); for (let i = 0; i < n; i++) f(); return ((performance.now() - t0) / n).toFixed(1); };
for (const [m, k, n] of [[1024, 1024, 1024], [256, 1024, 1024], [256, 1024, 4096], [1024, 256, 1024]]) {
  const a = tf.randomNormal([m!, k!]); const b = tf.randomNormal([k!, n!]);
  console.log(m, k, n, t(() => tf.tidy(() => tf.matMul(a, b).dataSync())));
}
for (const n of [1 << 16, 1 << 18, 1 << 20]) {
  const x = tf.randomNormal([n]);
  console.log('erf', n, t(() => tf.tidy(() => tf.erf(x).dataSync())), 'exp', t(() => tf.tidy(() => tf.exp(x).dataSync())), 'add', t(() => tf.tidy(() => tf.add(x, x).dataSync())));
}
