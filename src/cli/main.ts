#!/usr/bin/env node
/**
 * The `cotangent` executable (also `npm start`): runs the command line on
 * process.argv and exits with its code.
 */
import '../ops/primitives.js';
import { processIO } from './io.js';
import { run } from './run.js';

run(process.argv.slice(2), processIO).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`cotangent: error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
