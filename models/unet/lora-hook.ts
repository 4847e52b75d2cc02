// Unmerged LoRA (spec §5.2): instead of rewriting the U-Net's weights, wrap the ops so that each patched weight
// is read as W + m·scale·(up @ down) computed in the graph. up/down are Parameters of their own (keys under
// `lora.`), so tfjs keeps them as variables and the ONNX tracer as initializers; the merged path
// (models/lora/) remains the fast one, this is for switching strength without copying the U-Net.

import { Parameter } from '../nn/module.ts';
import type { HostTensor, Ops } from '../ops/ops.ts';

export interface LoraPatch {
  /** The U-Net weight key, e.g. `down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight`. */
  key: string;
  /** [out, r] or [out, r, 1, 1]. */
  up: HostTensor;
  /** [r, in] or [r, in, kh, kw]. */
  down: HostTensor;
  /** alpha / rank (1 when the file has no alpha). */
  scale: number;
}

interface PreparedPatch {
  up: Parameter;
  down: Parameter;
  scale: number;
}

export class UnmergedLora {
  /** Several LoRAs may patch one weight: their deltas add up. */
  readonly _patches = new Map<string, PreparedPatch[]>();
  readonly _source: LoraPatch[];

  constructor(
    patches: LoraPatch[],
    readonly multiplier = 1,
  ) {
    this._source = patches;
    patches.forEach((p, i) => {
      const rank = p.down.shape[0];
      const out = p.up.shape[0];
      const inFlat = p.down.data.length / rank;
      const up = new Parameter([out, rank], Float32Array.from(p.up.data), false);
      const down = new Parameter([rank, inFlat], Float32Array.from(p.down.data), false);
      up.key = `lora.${i}.up`;
      down.key = `lora.${i}.down`;
      const list = this._patches.get(p.key) ?? [];
      list.push({ up, down, scale: p.scale });
      this._patches.set(p.key, list);
    });
  }

  /** Ops whose `param` adds the LoRA delta to the patched weights and passes everything else through. */
  wrap<T>(ops: Ops<T>): Ops<T> {
    const patches = this._patches;
    const multiplier = this.multiplier;
    const param = (p: Parameter): T => {
      const base = ops.param(p);
      const list = patches.get(p.key);
      if (!list || multiplier === 0) return base;
      let w = base;
      for (const patch of list) {
        const delta = ops.matmul(ops.param(patch.up), ops.param(patch.down));
        w = ops.add(w, ops.mul(ops.reshape(delta, p.shape), multiplier * patch.scale));
      }
      return w;
    };
    // A Proxy bound to the original, so backends with private state behave exactly as before.
    return new Proxy(ops, {
      get(target, prop) {
        if (prop === 'param') return param;
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  /** This LoRA set plus `more` (ApplyLoRA chained twice, unmerged). */
  with(more: LoraPatch[]): UnmergedLora {
    return new UnmergedLora([...this._source, ...more], this.multiplier);
  }

  /** Keys this LoRA patches that the model lacks or whose shapes disagree (reported by name to the user). */
  check(model: { namedParameters(): [string, Parameter][] }): string[] {
    const params = new Map(model.namedParameters());
    const problems: string[] = [];
    for (const [key, list] of this._patches) {
      const p = params.get(key);
      const patch = list[0];
      if (!p) problems.push(`${key}: not a U-Net weight`);
      else if (p.shape[0] !== patch.up.shape[0] || p.size / p.shape[0] !== patch.down.shape[1]) {
        problems.push(`${key}: LoRA [${patch.up.shape[0]}×${patch.down.shape[1]}] does not fit weight [${p.shape}]`);
      }
    }
    return problems;
  }
}
