/**
 * Global vitest setup: fixes the fast-check seed for every property (from
 * env FC_SEED, or a fixed default) and prints how to replay a failing test.
 * FC_NUM_RUNS overrides the default number of runs of properties that do not
 * set their own.
 */
import fc from 'fast-check';
import { beforeEach } from 'vitest';

export const FC_SEED = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : 20261125;

fc.configureGlobal({
  seed: FC_SEED,
  ...(process.env.FC_NUM_RUNS ? { numRuns: Number(process.env.FC_NUM_RUNS) } : {}),
});

beforeEach((ctx) => {
  ctx.onTestFailed(() => {
    console.error(
      `[fast-check] '${ctx.task.name}' failed with global seed FC_SEED=${FC_SEED}; replay with: FC_SEED=${FC_SEED} npx vitest ` +
        `run ${ctx.task.file?.name ?? ''} -t "${ctx.task.name}"`,
    );
  });
});
