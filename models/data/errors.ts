// Errors the data layer raises for user mistakes (a missing file, an unknown format): a stable `code` and the
// place it happened. Bad rows inside a readable file are not errors; they are counted in a DataReport.

export class DataError extends Error {
  constructor(
    readonly code: 'DATA_NOT_FOUND' | 'DATA_FORMAT' | 'DATA_EMPTY' | 'DATA_IMAGE',
    message: string,
  ) {
    super(message);
    this.name = 'DataError';
  }
}
