// The one error a malformed, truncated or unsupported .pt file raises: code TORCH_CKPT_INVALID, with the file and
// the place in it (zip entry, pickle offset, tensor key) in the message.

export class TorchCheckpointError extends Error {
  readonly code = 'TORCH_CKPT_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'TorchCheckpointError';
  }
}

export function invalid(where: string, what: string): never {
  throw new TorchCheckpointError(`${where}: ${what}`);
}
