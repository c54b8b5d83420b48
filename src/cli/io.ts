/** Where the command line writes: stdout for results, stderr for progress (injectable for tests). */
export interface CliIO {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  readonly errIsTTY: boolean;
}

export const processIO: CliIO = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  errIsTTY: Boolean(process.stderr.isTTY),
};
