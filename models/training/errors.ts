// Training errors with stable codes. models/ knows nothing about the graph engine, so cancellation is reported
// here with the engine's code ('CANCELLED') and the node layer passes it on.
export type TrainErrorCode =
  | 'TRAIN_NONFINITE'
  | 'TRAIN_CONFIG'
  | 'TRAIN_NO_PARAMETERS'
  | 'TRAIN_KEY_COLLISION'
  | 'CHECKPOINT_NOT_FOUND'
  | 'CHECKPOINT_MISMATCH'
  | 'CHECKPOINT_FORMAT'
  | 'CANCELLED';

export class TrainError extends Error {
  constructor(
    readonly code: TrainErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TrainError';
  }
}
