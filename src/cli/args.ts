/**
 * Command-line arguments: argv is split into a command and `--flag value` /
 * `--flag=value` pairs, then each command's io-ts codec validates and
 * converts them (numbers, enums, paths). Unknown flags, bad numbers and
 * missing values are a UsageError with a one-line message.
 */
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface ParsedArgs {
  readonly command: string | undefined;
  readonly flags: Readonly<Record<string, string | true>>;
  readonly positionals: readonly string[];
}

export function splitArgs(argv: readonly string[]): ParsedArgs {
  const flags: Record<string, string | true> = {};
  const positionals: string[] = [];
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-h' || a === '--help') {
      flags.help = true;
      continue;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      if (name === '') throw new UsageError(`invalid flag '${a}'`);
      if (name in flags) throw new UsageError(`flag --${name} given twice`);
      if (eq >= 0) flags[name] = a.slice(eq + 1);
      else {
        const next = argv[i + 1];
        if (next !== undefined && !next.startsWith('--')) {
          flags[name] = next;
          i++;
        } else flags[name] = true;
      }
    } else if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) {
      throw new UsageError(`unknown option '${a}' (flags are written --name value)`);
    } else if (command === undefined) command = a;
    else positionals.push(a);
  }
  return { command, flags, positionals };
}

const describeValue = (u: unknown): string => (u === true ? '(no value)' : JSON.stringify(u));

/** A flag value that must be an integer in [min, ∞). */
export const intFlag = (name: string, min: number): t.Type<number, string, unknown> =>
  new t.Type<number, string, unknown>(
    name,
    (u): u is number => typeof u === 'number',
    (u, c) => {
      const n = typeof u === 'string' && /^-?\d+$/.test(u.trim()) ? Number(u) : NaN;
      return Number.isSafeInteger(n) && n >= min
        ? t.success(n)
        : t.failure(u, c, `--${name} must be an integer ≥ ${min}, got ${describeValue(u)}`);
    },
    String,
  );

/** A flag value that must be a finite number > 0. */
export const positiveFlag = (name: string): t.Type<number, string, unknown> =>
  new t.Type<number, string, unknown>(
    name,
    (u): u is number => typeof u === 'number',
    (u, c) => {
      const n = typeof u === 'string' && u.trim() !== '' ? Number(u) : NaN;
      return Number.isFinite(n) && n > 0 ? t.success(n) : t.failure(u, c, `--${name} must be a number > 0, got ${describeValue(u)}`);
    },
    String,
  );

/** One of the listed words. */
export const enumFlag = <const K extends string>(name: string, values: readonly K[]): t.Type<K, string, unknown> =>
  new t.Type<K, string, unknown>(
    name,
    (u): u is K => typeof u === 'string' && (values as readonly string[]).includes(u),
    (u, c) =>
      typeof u === 'string' && (values as readonly string[]).includes(u)
        ? t.success(u as K)
        : t.failure(u, c, `--${name} must be one of ${values.join(', ')}, got ${describeValue(u)}`),
    String,
  );

/** The backends a command can run on (`--backend`); the default is the WebAssembly SIMD backend (the fastest CPU path). */
export const BACKENDS = ['cpu', 'wasm', 'webgpu'] as const;
export type CliBackend = (typeof BACKENDS)[number];
export const DEFAULT_BACKEND: CliBackend = 'wasm';

/** A switch without a value (`--no-jit`). */
export const switchFlag = (name: string): t.Type<true, true, unknown> =>
  new t.Type<true, true, unknown>(
    name,
    (u): u is true => u === true,
    (u, c) => (u === true ? t.success(true) : t.failure(u, c, `--${name} takes no value, got ${describeValue(u)}`)),
    (v) => v,
  );

/** A non-empty string value. */
export const stringFlag = (name: string): t.Type<string, string, unknown> =>
  new t.Type<string, string, unknown>(
    name,
    (u): u is string => typeof u === 'string',
    (u, c) => (typeof u === 'string' && u !== '' ? t.success(u) : t.failure(u, c, `--${name} needs a value`)),
    String,
  );

/** Validate the flags of one command: every flag must be known, every value must decode. */
export function decodeFlags<P extends t.Props>(
  command: string,
  props: P,
  flags: Readonly<Record<string, string | true>>,
): { [K in keyof P]?: t.TypeOf<P[K]> } {
  for (const k of Object.keys(flags)) {
    if (k !== 'help' && !(k in props)) throw new UsageError(`unknown flag --${k} for '${command}' (see cotangent ${command} --help)`);
  }
  const given = Object.fromEntries(Object.entries(flags).filter(([k]) => k !== 'help'));
  const r = t.partial(props).decode(given);
  if (E.isLeft(r)) throw new UsageError(r.left[0]?.message ?? `invalid flags for '${command}'`);
  return r.right as { [K in keyof P]?: t.TypeOf<P[K]> };
}
