// The input/output signature of an ONNX model (names, element types, dims), read from an onnxruntime-node
// session's metadata. External SD 1.5 exports differ in exactly these (spec §4.2), so the pipeline adapts to what
// each model declares instead of assuming one exporter.

export type OnnxElementType = 'float32' | 'float16' | 'int32' | 'int64' | 'other';

export interface OnnxValueInfo {
  name: string;
  type: OnnxElementType;
  /** Numbers are fixed sizes, strings symbolic ones; [] is a scalar (or a value exported without shape). */
  dims: (number | string)[];
}

export interface OnnxModelSignature {
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

/** The parts of an onnxruntime-node InferenceSession this needs (so a caller's open session can be reused). */
export interface SessionMetadataSource {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly unknown[];
  readonly outputMetadata?: readonly unknown[];
}

function elementType(t: unknown): OnnxElementType {
  return t === 'float32' || t === 'float16' || t === 'int32' || t === 'int64' ? t : 'other';
}

function valueInfos(names: readonly string[], metadata: readonly unknown[] | undefined): OnnxValueInfo[] {
  return names.map((name, i) => {
    const m = (metadata?.[i] ?? {}) as { name?: string; isTensor?: boolean; type?: unknown; shape?: readonly (number | string)[] };
    return { name, type: m.isTensor === false ? 'other' : elementType(m.type), dims: [...(m.shape ?? [])] };
  });
}

export function signatureFromSession(session: SessionMetadataSource): OnnxModelSignature {
  return { inputs: valueInfos(session.inputNames, session.inputMetadata), outputs: valueInfos(session.outputNames, session.outputMetadata) };
}

/** Opens the model with onnxruntime-node just long enough to read its signature (external data must be present). */
export async function readOnnxSignature(file: string): Promise<OnnxModelSignature> {
  const ort = await import('onnxruntime-node');
  let session: Awaited<ReturnType<typeof ort.InferenceSession.create>>;
  try {
    session = await ort.InferenceSession.create(file);
  } catch (e) {
    throw Object.assign(new Error(`${file}: cannot be opened as an ONNX model (${(e as Error).message})`), { code: 'BAD_ONNX_MODEL' });
  }
  try {
    return signatureFromSession(session);
  } finally {
    await session.release();
  }
}
