// ONNX files made elsewhere (e.g. an SD 1.5 U-Net exported by diffusers / optimum) on the same ONNX Runtime path.
// Input and output names, element types and shapes are read from the session at load time, so callers pass host
// tensors (float32 / int32) by name or position and they are converted to what the model declares (int64 ids,
// float16 weights' activations, …).

import type * as ort from 'onnxruntime-node';
import type { HostTensor } from '../../ops/ops.ts';
import { OnnxError, openSession, requestedProvider, type ExecutionProvider } from './session.ts';
import { fromOrt, toOrt } from './tensors.ts';

export interface OnnxValueInfo {
  name: string;
  /** ORT element type: 'float32', 'float16', 'int64', … */
  type: ort.Tensor.Type;
  /** Static dims as numbers, symbolic ones (batch, sequence) as their names. */
  shape: (number | string)[];
}

export class ExternalOnnxModel {
  constructor(
    readonly file: string,
    readonly session: ort.InferenceSession,
    readonly inputs: OnnxValueInfo[],
    readonly outputs: OnnxValueInfo[],
  ) {}

  /** Run with inputs by name, or in the model's input order; returns outputs by name. */
  async run(feeds: Record<string, HostTensor> | HostTensor[]): Promise<Record<string, HostTensor>> {
    const byName: Record<string, HostTensor> = Array.isArray(feeds)
      ? Object.fromEntries(feeds.map((h, i) => [this.inputs[i]?.name ?? `#${i}`, h]))
      : feeds;
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const info of this.inputs) {
      const h = byName[info.name];
      if (!h) throw new OnnxError('ONNX_INPUT_MISMATCH', `${this.file}: input '${info.name}' was not given (inputs: ${this.describe()})`);
      checkShape(this.file, info, h.shape);
      ortFeeds[info.name] = toOrt(h, info.type);
    }
    const extra = Object.keys(byName).filter((n) => !this.inputs.some((i) => i.name === n));
    if (extra.length) throw new OnnxError('ONNX_INPUT_MISMATCH', `${this.file}: unknown inputs ${extra.join(', ')} (inputs: ${this.describe()})`);
    const results = await this.session.run(ortFeeds);
    return Object.fromEntries(this.outputs.map((o) => [o.name, fromOrt(results[o.name]!)]));
  }

  describe(): string {
    return this.inputs.map((i) => `${i.name}: ${i.type}[${i.shape.join(', ')}]`).join('; ');
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

function checkShape(file: string, info: OnnxValueInfo, shape: readonly number[]): void {
  const ok = info.shape.length === 0 || (info.shape.length === shape.length && info.shape.every((d, i) => typeof d !== 'number' || d === shape[i]));
  if (!ok) {
    throw new OnnxError('ONNX_INPUT_MISMATCH', `${file}: input '${info.name}' expects [${info.shape.join(', ')}], got [${shape.join(', ')}]`);
  }
}

function infos(meta: readonly ort.InferenceSession.ValueMetadata[]): OnnxValueInfo[] {
  return meta.map((m) =>
    m.isTensor ? { name: m.name, type: m.type, shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : String(d))) } : { name: m.name, type: 'float32', shape: [] },
  );
}

export async function loadExternalOnnx(file: string, provider: ExecutionProvider = requestedProvider()): Promise<ExternalOnnxModel> {
  const session = await openSession(file, provider);
  return new ExternalOnnxModel(file, session, infos(session.inputMetadata), infos(session.outputMetadata));
}
