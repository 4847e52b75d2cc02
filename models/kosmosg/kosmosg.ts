// The KOSMOS-G composite: vision tower, connector, MLLM and AlignerNet, loaded together from one checkpoint by the
// checkpoint's own key names (spec §1.11). Each part stays a separate Module so a graph node can hold, freeze or
// run it alone; the prefixes (`img_model.`, `img_connector.`, `gpt_model.decoder.`, `aligner.`) are stripped here.

import { CLIPVision } from '../clip/vision-model.ts';
import { XConnector } from '../connector/connector.ts';
import { MLLM } from '../mllm/mllm.ts';
import { AlignerNet } from '../aligner/aligner.ts';
import { LoadError, type LoadReport, type Module } from '../nn/module.ts';
import type { HostTensor } from '../ops/ops.ts';
import { Rng } from '../ops/random.ts';
import { inferKosmosGConfig, PREFIX, type KosmosGConfig } from './config.ts';

export class KosmosG {
  readonly visual: CLIPVision;
  readonly connector: XConnector;
  readonly mllm: MLLM;
  /** AlignerNet M, plus N when built with `reconstruction`. */
  readonly aligner: AlignerNet;

  constructor(
    readonly config: KosmosGConfig,
    seed = 0,
  ) {
    const rng = new Rng(seed);
    this.visual = new CLIPVision(config.vision, rng);
    this.connector = new XConnector(config.connector, rng);
    this.mllm = new MLLM(config.mllm, rng);
    this.aligner = new AlignerNet(config.aligner, rng, { reconstruction: config.reconstruction });
  }

  /** The parts with their checkpoint prefixes. */
  parts(): [prefix: string, module: Module][] {
    return [
      [PREFIX.vision, this.visual],
      [PREFIX.connector, this.connector],
      [PREFIX.mllm, this.mllm],
      [PREFIX.aligner, this.aligner],
    ];
  }

  /** The full state dict under the checkpoint's key names (what `loadKosmosGCheckpoint` reads back). */
  stateDict(): Map<string, HostTensor> {
    const out = new Map<string, HostTensor>();
    for (const [prefix, m] of this.parts()) for (const [k, t] of m.stateDict()) out.set(prefix + k, t);
    return out;
  }

  parameterCount(): number {
    return this.parts().reduce((n, [, m]) => n + m.parameterCount(), 0);
  }
}

/** Keys a KOSMOS-G checkpoint holds that no inference part uses (buffers, tied copies, stage-2/3 extras). */
export function ignoredCheckpointKey(key: string): boolean {
  if (key.startsWith(PREFIX.mllm)) return MLLM.ignoredKey(key.slice(PREFIX.mllm.length));
  // The nn.MultiheadAttention copy KOSMOS-G replaced by ts_attn, and the projection it commented out.
  if (key.startsWith(PREFIX.vision)) return /\.attn\.(in_proj_weight|in_proj_bias|out_proj\.weight|out_proj\.bias)$/.test(key) || key === `${PREFIX.vision}visual.proj`;
  // The stage-2 aligner carries the frozen CLIP text encoder (the alignment target).
  if (key.startsWith(`${PREFIX.aligner}clip_encoder.`)) return true;
  return false;
}

/**
 * open_clip / OpenAI ViT weights (`attn.in_proj_weight` [3W, W]) are what KOSMOS-G copied into `ts_attn` at load
 * time (`clip.py` create_model); do the same split when a file has only the former.
 */
export function splitVisionInProj(state: Map<string, HostTensor>): Map<string, HostTensor> {
  const out = new Map(state);
  const re = /^((?:.*\.)?visual\.transformer\.resblocks\.\d+\.)attn\.in_proj_(weight|bias)$/;
  for (const [key, t] of state) {
    const m = re.exec(key);
    if (!m || state.has(`${m[1]}ts_attn.q_proj.${m[2]}`)) continue;
    const w = t.shape[0]! / 3;
    const row = t.shape.length === 2 ? t.shape[1]! : 1;
    ['q', 'k', 'v'].forEach((name, i) => {
      const data = (t.data as Float32Array).slice(i * w * row, (i + 1) * w * row);
      out.set(`${m[1]}ts_attn.${name}_proj.${m[2]}`, { data, shape: t.shape.length === 2 ? [w, row] : [w], dtype: 'float32' });
    });
    const ow = state.get(`${m[1]}attn.out_proj.${m[2]}`);
    if (ow) out.set(`${m[1]}ts_attn.out_proj.${m[2]}`, ow);
  }
  return out;
}

export interface KosmosGLoadResult {
  model: KosmosG;
  report: LoadReport;
  /** Keys outside the four parts (e.g. `diffusion_unet.*`, `vae.*` in a stage-3 checkpoint), left alone. */
  otherKeys: number;
}

/**
 * Build a KOSMOS-G from a checkpoint's state dict. `config` defaults to the one inferred from the shapes. Any
 * missing, unexpected (under a part's prefix) or mis-shaped key throws a LoadError (code WEIGHTS_MISMATCH)
 * naming them all; with `strict: false` the report says what happened instead.
 */
export function loadKosmosGCheckpoint(
  state: Map<string, HostTensor>,
  options: { config?: KosmosGConfig; strict?: boolean; where?: string } = {},
): KosmosGLoadResult {
  const where = options.where ?? 'KOSMOS-G checkpoint';
  const source = splitVisionInProj(state);
  const inferred = options.config ?? inferKosmosGConfig(source, {}, where);
  // A stage-2 checkpoint carries AlignerNet N too; build it exactly when the file has it.
  const config = { ...inferred, reconstruction: source.has(`${PREFIX.aligner}decoder_query`) };
  const model = new KosmosG(config);
  const report: LoadReport = { loaded: [], missing: [], unexpected: [], mismatched: [] };
  for (const [prefix, module] of model.parts()) {
    const r = module.loadStateDict(source, { prefix, strict: false, ignore: (k) => ignoredCheckpointKey(prefix + k) });
    report.loaded.push(...r.loaded);
    report.missing.push(...r.missing);
    report.unexpected.push(...r.unexpected);
    report.mismatched.push(...r.mismatched);
  }
  const prefixes = Object.values(PREFIX);
  const otherKeys = [...source.keys()].filter((k) => !prefixes.some((p) => k.startsWith(p))).length;
  if ((options.strict ?? true) && (report.missing.length || report.unexpected.length || report.mismatched.length)) {
    throw new LoadError(report, where);
  }
  return { model, report, otherKeys };
}
