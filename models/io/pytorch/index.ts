// Reading (and, for tests and round trips, writing) PyTorch .pt checkpoints as data — pickle is never executed.
export { TorchCheckpointError } from './errors.ts';
export { ZipReader, fileSource, bufferSource, type ByteSource, type ZipEntry } from './zip.ts';
export { readPickle, TensorRef, PickleObject, STORAGE_DTYPES, type StorageRef, type TorchDType } from './pickle.ts';
export {
  TorchCheckpoint,
  loadTorchCheckpoint,
  readStateDict,
  tensorRefs,
  decodeStorage,
  type LoadTorchOptions,
} from './torch-load.ts';
export {
  saveTorchCheckpoint,
  torchSaveBytes,
  torchTensor,
  pickleForTorch,
  writeZip,
  encodeStorage,
  PyTuple,
  PyFloat,
  TorchStorage,
  TorchTensor,
  type TorchSaveOptions,
} from './writer.ts';
