// Loader errors: a stable code and the file or folder they concern.
export class LoaderError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'LoaderError';
  }
}
