/**
 * The command-line program as a function: `run(argv, io)` dispatches to a
 * command and returns the exit code. Usage errors (unknown flags, bad
 * numbers) and data/checkpoint errors become one line on stderr and a
 * non-zero code (2 for usage, 1 otherwise).
 */
import { splitArgs, UsageError } from './args.js';
import { evalCommand } from './eval.js';
import { exportCommand } from './export.js';
import { graphCommand } from './graph.js';
import { EVAL_HELP, EXPORT_HELP, GRAPH_HELP, MAIN_HELP, TRAIN_HELP } from './help.js';
import type { CliIO } from './io.js';
import { trainCommand } from './train.js';

const commands = {
  train: { run: trainCommand, help: TRAIN_HELP },
  eval: { run: evalCommand, help: EVAL_HELP },
  graph: { run: graphCommand, help: GRAPH_HELP },
  export: { run: exportCommand, help: EXPORT_HELP },
} as const;

export async function run(argv: readonly string[], io: CliIO): Promise<number> {
  try {
    const args = splitArgs(argv);
    if (args.command === undefined || args.command === 'help') {
      const topic = args.positionals[0];
      io.out(topic && topic in commands ? commands[topic as keyof typeof commands].help : MAIN_HELP);
      return args.command === undefined && !args.flags.help ? 2 : 0;
    }
    if (!(args.command in commands))
      throw new UsageError(`unknown command '${args.command}' (expected train, eval, graph or export; see cotangent --help)`);
    const cmd = commands[args.command as keyof typeof commands];
    if (args.flags.help) {
      io.out(cmd.help);
      return 0;
    }
    if (args.positionals.length > 0)
      throw new UsageError(`unexpected argument '${args.positionals[0]}' for '${args.command}' (flags are written --name value)`);
    return await cmd.run(args.flags, io);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    io.err(`cotangent: ${e instanceof UsageError ? '' : 'error: '}${msg.split('\n')[0]}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}
