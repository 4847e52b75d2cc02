// The executor lives in execute.ts; this name matches the engine API's file comment.
export * from './execute.ts';
