// One stage of the default pipeline in a process of its own, so that two independent stages use two cores (tfjs's
// wasm backend runs one thread per process). The parent (default-model/lanes.ts) sends the job; this process
// answers with progress messages and the stage record, or the error, then exits.

import { Executor, Registry } from '../engine/index.ts';
import { runStage, type StageJob, type StageMessage } from './stage-run.ts';

/** Sends to the pipeline; with the callback a failed send (the pipeline just died) is not an unhandled error. */
function send(message: StageMessage): Promise<void> {
  return new Promise((resolve) => (process.connected ? process.send!(message, () => resolve()) : resolve()));
}

let finished = false;
// The pipeline is gone (killed, or it stopped this stage): nobody will read this stage's result, so stop training.
process.on('disconnect', () => {
  if (!finished) process.exit(1);
});

process.once('message', (job: StageJob) => {
  void (async () => {
    try {
      const executor = new Executor(await Registry.load({ env: false }), { baseDir: job.baseDir, log: () => {} });
      const record = await runStage(executor, job, (step, steps, metrics) => {
        void send({ type: 'progress', step, steps, metrics });
      });
      await send({ type: 'done', record });
    } catch (e) {
      const err = e as { code?: string; message?: string };
      await send({ type: 'failed', code: err.code, message: err.message ?? String(e) });
    } finally {
      finished = true;
      if (process.connected) process.disconnect();
    }
  })();
});
