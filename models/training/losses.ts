// The training losses, written once against Ops (spec §1.9). Each returns a scalar tensor; masks, targets and
// noise are computed on the host and passed in, because a mask derived inside the differentiated function has no
// gradient on tfjs and the ONNX tracer cannot read values.
import type { Ops } from '../ops/ops.ts';
import type { Rng } from '../ops/random.ts';

/** mean((a − b)²) over every element. */
export function mse<T>(ops: Ops<T>, a: T, b: T): T {
  return ops.mean(ops.square(ops.sub(a, b)));
}

/** mean(|a − b|) over every element. */
export function l1<T>(ops: Ops<T>, a: T, b: T): T {
  return ops.mean(ops.abs(ops.sub(a, b)));
}

/**
 * Next-token cross-entropy (stage 1): logits [B, T, V], `target` [B·T] ids, `lossMask` [B·T] with 1 on text
 * targets (image slots, `</image>` and pads are 0). The mean over counted tokens, as fairseq reports it.
 * The target log-probabilities are picked with a host-built one-hot (gather has no gradient on wasm) that already
 * carries the 1/count of the mean, so the count is data, not a constant of a traced graph.
 */
export function nextTokenCrossEntropy<T>(ops: Ops<T>, logits: T, target: Int32Array, lossMask: Float32Array): T {
  const [B, Tn, V] = ops.shape(logits) as [number, number, number];
  if (target.length !== B * Tn || lossMask.length !== B * Tn) {
    throw new Error(`nextTokenCrossEntropy: logits [${B}, ${Tn}, ${V}] need ${B * Tn} targets, got ${target.length}`);
  }
  const pick = new Float32Array(B * Tn * V);
  let count = 0;
  for (let i = 0; i < B * Tn; i++) {
    if (!lossMask[i]) continue;
    const t = target[i]!;
    if (t < 0 || t >= V) throw new Error(`nextTokenCrossEntropy: target id ${t} at position ${i} outside the vocabulary of ${V}`);
    pick[i * V + t] = lossMask[i]!;
    count += lossMask[i]!;
  }
  if (count === 0) throw new Error('nextTokenCrossEntropy: no text targets in the batch');
  for (let i = 0; i < pick.length; i++) if (pick[i]) pick[i]! /= count;
  const logp = ops.logSoftmax(logits, -1);
  return ops.neg(ops.sum(ops.mul(logp, ops.tensor(pick, [B, Tn, V]))));
}

/**
 * AlignerNet loss (stage 2, §1.9): MSE(M(s), CLIP text states) + MSE(N(M(s)), s)·(Q/T), both means over all
 * elements, pads not masked. s = MLLM states [B, T, D]; Q = M's query length (77 for SD 1.5), so the
 * reconstruction term carries the reference's 77/T weight at any config.
 */
export function alignerLoss<T>(ops: Ops<T>, mOut: T, clipStates: T, reconstructed: T, states: T): T {
  const q = ops.shape(mOut)[1]!;
  const t = ops.shape(states)[1]!;
  return ops.add(mse(ops, mOut, clipStates), ops.mul(mse(ops, reconstructed, states), q / t));
}

/**
 * Diffusion ε-MSE (stage 3 and text-to-image): Σ_b mean_{C,H,W}(ε̂ − ε)² / B, fairseq's per-sample mean.
 */
export function diffusionLoss<T>(ops: Ops<T>, epsPred: T, eps: T, sampleWeights?: T): T {
  const shape = ops.shape(epsPred);
  const perSample = ops.mean(ops.square(ops.sub(epsPred, eps)), shape.slice(1).map((_, i) => i + 1));
  return ops.mean(sampleWeights ? ops.mul(perSample, sampleWeights) : perSample);
}

/**
 * Min-SNR-γ loss weights for ε-prediction (Hang et al. 2023, "Efficient Diffusion Training via Min-SNR Weighting";
 * diffusers' `--snr_gamma`): w(t) = min(SNR(t), γ) / SNR(t) with SNR = ᾱ / (1 − ᾱ). The nearly clean timesteps,
 * whose easy ε-targets otherwise dominate the gradient, are weighted down; the noisy ones, where the layout is
 * decided, keep weight 1. γ = 5 is the paper's choice.
 */
export function minSnrWeights(timesteps: ArrayLike<number>, alphasCumprod: ArrayLike<number>, gamma: number): Float32Array {
  if (!(gamma > 0)) throw new Error(`minSnrWeights: gamma must be > 0 (got ${gamma})`);
  return Float32Array.from(timesteps, (t) => {
    const a = alphasCumprod[t]!;
    const snr = a / (1 - a);
    return Math.min(snr, gamma) / snr;
  });
}

export interface NoisedBatch {
  /** Timesteps, one per sample, ~ UniformInt[0, numTrainTimesteps). */
  timesteps: Int32Array;
  /** ε ~ N(0, I), same layout as x₀. */
  eps: Float32Array;
  /** xₜ = √ᾱₜ·x₀ + √(1−ᾱₜ)·ε. */
  noisy: Float32Array;
}

export interface NoiseOptions {
  /**
   * Offset noise (Guttenberg 2023, "Diffusion with offset noise"): ε gets an extra per-(sample, channel) constant
   * offset·N(0, 1). SD's schedule never destroys a latent completely (√ᾱ at t = 999 is 0.068), so a small latent's
   * mean colour survives even the noisiest training inputs and the U-Net learns to read it from there instead of from
   * the caption; at generation, started from pure noise, it then draws the colour the noise suggests. The offset hides
   * that residual mean. 0: plain N(0, I), and the same draws as without the option.
   */
  offset?: number;
  /** Channels of x₀ ([B, C, H, W]); needed with an offset, which is constant over H × W. */
  channels?: number;
}

/** Forward diffusion for a training batch (DDPMScheduler.add_noise): t and ε from the seeded Rng. */
export function noiseBatch(x0: Float32Array, batch: number, alphasCumprod: ArrayLike<number>, rng: Rng, o: NoiseOptions = {}): NoisedBatch {
  const per = x0.length / batch;
  if (!Number.isInteger(per)) throw new Error(`noiseBatch: ${x0.length} values do not split into ${batch} samples`);
  const offset = o.offset ?? 0;
  const channels = o.channels ?? 1;
  if (!(offset >= 0)) throw new Error(`noiseBatch: offset must be ≥ 0 (got ${offset})`);
  if (!Number.isInteger(per / channels)) throw new Error(`noiseBatch: ${per} values per sample do not split into ${channels} channels`);
  const plane = per / channels;
  const timesteps = new Int32Array(batch);
  const eps = new Float32Array(x0.length);
  const noisy = new Float32Array(x0.length);
  for (let b = 0; b < batch; b++) {
    const t = rng.int(alphasCumprod.length);
    timesteps[b] = t;
    const a = Math.sqrt(alphasCumprod[t]!), s = Math.sqrt(1 - alphasCumprod[t]!);
    for (let i = b * per; i < (b + 1) * per; i++) eps[i] = rng.normal();
    if (offset > 0) {
      for (let c = 0; c < channels; c++) {
        const shift = offset * rng.normal();
        for (let i = b * per + c * plane; i < b * per + (c + 1) * plane; i++) eps[i] += shift;
      }
    }
    for (let i = b * per; i < (b + 1) * per; i++) noisy[i] = a * x0[i]! + s * eps[i]!;
  }
  return { timesteps, eps, noisy };
}

/**
 * CLIP's contrastive loss: image and text embeddings [B, D] are L2-normalised, logits = exp(logit_scale)·I·Tᵀ,
 * and the loss is the mean of the image→text and text→image cross-entropies with the diagonal as labels.
 * `logitScale` is the stored log-scale (a scalar or [1] parameter). `negativeEmb` [N, D]: hard negative captions.
 */
export function contrastiveLoss<T>(ops: Ops<T>, imageEmb: T, textEmb: T, logitScale: T, negativeEmb?: T): T {
  const B = ops.shape(imageEmb)[0]!;
  const norm = (x: T) => ops.div(x, ops.sqrt(ops.sum(ops.square(x), -1, true)));
  const scale = ops.exp(ops.reshape(logitScale, [1, 1]));
  const img = norm(imageEmb);
  const logits = ops.mul(ops.matmul(img, norm(textEmb), false, true), scale);
  const ce = (l: T, rows: number, cols: number) => {
    const eye = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++) eye[i * cols + i] = 1;
    return ops.div(ops.neg(ops.sum(ops.mul(ops.logSoftmax(l, -1), ops.tensor(eye, [rows, cols])))), rows);
  };
  // Hard negatives (NegCLIP) are extra captions in the image → text direction only: each image must pick its caption
  // over every other caption and every negative; the text → image direction is unchanged.
  const n = negativeEmb === undefined ? 0 : ops.shape(negativeEmb)[0]!;
  const imageToText = n === 0 ? logits : ops.concat([logits, ops.mul(ops.matmul(img, norm(negativeEmb!), false, true), scale)], 1);
  return ops.mul(ops.add(ce(imageToText, B, B + n), ce(ops.transpose(logits, [1, 0]), B, B)), 0.5);
}

export interface VaeLossOptions {
  reconstruction?: 'mse' | 'l1';
  /** Weight of the KL term (LDM uses 1e-6). */
  klWeight?: number;
}

/**
 * VAE loss: reconstruction (mean over elements) + klWeight·KL(q(z|x) ‖ N(0, I)), the KL summed over the latent's
 * C·H·W and averaged over the batch, as diffusers' DiagonalGaussianDistribution.kl does. logvar is clamped to
 * [−30, 20] like the posterior.
 */
export function vaeLoss<T>(ops: Ops<T>, recon: T, x: T, mean: T, logvar: T, o: VaeLossOptions = {}): T {
  const rec = o.reconstruction === 'l1' ? l1(ops, recon, x) : mse(ops, recon, x);
  const lv = ops.clamp(logvar, -30, 20);
  const shape = ops.shape(mean);
  const inner = ops.sub(ops.sub(ops.add(ops.square(mean), ops.exp(lv)), 1), lv);
  const kl = ops.mean(ops.mul(ops.sum(inner, shape.slice(1).map((_, i) => i + 1)), 0.5));
  return ops.add(rec, ops.mul(kl, o.klWeight ?? 1e-6));
}
