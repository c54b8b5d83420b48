/**
 * Law results and failure reports. A law predicate returns a `LawResult`; a
 * failed result carries what a person needs to act: the law, the subject, the
 * inputs (shapes and values), expected vs actual, where the largest error is,
 * and which rule is suspect. Checkers turn a failure into a `LawViolation`
 * error, which fast-check prints together with the shrunk counterexample and
 * the seed to replay it.
 */

/** Which part of a primitive or function a failed law points at. */
export type Suspect = 'jvp' | 'vjp' | 'jvp or vjp' | 'shape rule' | 'kernel' | 'second-order rules' | 'backend' | 'layer';

/** Where a comparison is worst: the multi-index, both values, the error and the tolerance there. */
export interface Worst {
  /** Multi-index of the largest error (in the compared array's shape). */
  readonly index: readonly number[];
  readonly expected: number;
  readonly actual: number;
  readonly error: number;
  readonly tolerance: number;
}

/** What a law predicate returns: a pass, or a failure carrying what a person needs to act (law, message, suspect, values, worst point). */
export type LawResult =
  | { readonly ok: true; readonly law: string }
  | {
      readonly ok: false;
      readonly law: string;
      readonly message: string;
      readonly suspect?: Suspect;
      readonly expectedLabel?: string;
      readonly actualLabel?: string;
      readonly expected?: readonly number[];
      readonly actual?: readonly number[];
      readonly worst?: Worst;
    };

/** A passing law result. */
export const pass = (law: string): LawResult => ({ ok: true, law });

/** A failed law result. */
export type LawFailure = Extract<LawResult, { ok: false }>;

const fmtNum = (v: number): string => String(Number(v.toPrecision(6)));

/** Values as short text: the first `limit` (default 12), then the count. */
export const fmtValues = (xs: ArrayLike<number>, limit = 12): string => {
  const a = Array.from(xs).slice(0, limit).map(fmtNum);
  return `[${a.join(', ')}${xs.length > limit ? `, … (${xs.length} values)` : ''}]`;
};

/** A multi-line, human-readable description of a failed law. */
export function formatFailure(r: LawFailure, subject?: string, inputs?: string): string {
  const lines = [
    `law '${r.law}' failed${subject ? ` for ${subject}` : ''}${r.suspect ? ` — suspect: ${r.suspect}` : ''}`,
    `  ${r.message}`,
  ];
  if (inputs) lines.push(`  inputs: ${inputs}`);
  if (r.expected) lines.push(`  expected (${r.expectedLabel ?? 'reference'}): ${fmtValues(r.expected)}`);
  if (r.actual) lines.push(`  actual   (${r.actualLabel ?? 'checked'}): ${fmtValues(r.actual)}`);
  if (r.worst) {
    const w = r.worst;
    lines.push(
      `  largest error at index [${w.index.join(',')}]: expected ${fmtNum(w.expected)}, actual ${fmtNum(w.actual)}, |error| ` +
        `${w.error.toExponential(3)} > tolerance ${w.tolerance.toExponential(3)}`,
    );
  }
  return lines.join('\n');
}

/** Thrown by the checkers when a law fails; the message is the report. */
export class LawViolation extends Error {
  constructor(
    readonly result: LawFailure,
    subject?: string,
    inputs?: string,
  ) {
    super(formatFailure(result, subject, inputs));
    this.name = 'LawViolation';
  }
}

/** The first failure of several results, or a pass. */
export function firstFailure(results: readonly LawResult[], law = 'all'): LawResult {
  return results.find((r) => !r.ok) ?? pass(law);
}
