// The ONNX Runtime backend: trace a module's forward function into ONNX (TraceOps), cache it on disk, run it with
// onnxruntime-node (OnnxRunner); also run ONNX files made elsewhere (loadExternalOnnx).
export { Sym, Graph } from './graph.ts';
export { TraceOps } from './trace.ts';
export { encodeModel, writeModel, DEFAULT_EXTERNAL_THRESHOLD } from './serialize.ts';
export { graphKey, parameterHash, pruneCache } from './cache.ts';
export { OnnxRunner, onnxRunner, onnxCacheDir, traceForward } from './runner.ts';
export { loadExternalOnnx, ExternalOnnxModel, type OnnxValueInfo } from './external.ts';
export { OnnxError, checkProvider, requestedProvider, EXECUTION_PROVIDERS, type ExecutionProvider } from './session.ts';
export { graphFlops } from './flops.ts';
export { toOrt, fromOrt, toHalf, fromHalf } from './tensors.ts';
