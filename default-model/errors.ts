// The default pipeline's error: a code the CLI prints, and a message that names the stage or option at fault.

export class PipelineError extends Error {
  constructor(
    readonly code: 'DEFAULT_STAGE_FAILED' | 'DEFAULT_BAD_OPTION',
    message: string,
  ) {
    super(message);
  }
}
