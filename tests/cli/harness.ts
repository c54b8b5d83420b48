/**
 * The command-line test harness: the CLI run in process with its output
 * captured, a fresh temporary folder per suite, and the tsx binary that runs
 * the real executable (src/cli/main.ts) in a child process.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/cli/run.js';
import type { CliIO } from '../../src/cli/io.js';

/** A new empty folder under the system's temporary folder, named `prefix` plus a random suffix. */
export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix));

/** Run the command line in process with `argv`; its exit code and what it wrote to stdout and stderr (not a TTY). */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
    errIsTTY: false,
  };
  const code = await run(argv, io);
  return { code, out, err };
}

/** The tsx binary of this checkout, to run src/cli/main.ts in a child process. */
export const tsx = (): string => join(process.cwd(), 'node_modules', '.bin', 'tsx');
