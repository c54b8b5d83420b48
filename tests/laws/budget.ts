/**
 * Run budgets of the heavy property suites: the CI numbers, scaled by env
 * FC_SCALE (`npm run fuzz` sets FC_SCALE=20 to run them longer).
 *
 * FC_SCALE scales only the suites listed in SCALED_SUITES, the ones whose
 * coverage grows with the number of random cases: every law of every built-in
 * primitive (tests/laws/primitives-*.test.ts, through primitiveSuite.ts),
 * the mutation suite and the whole-program fuzzer. The other law suites (kit,
 * custom, layers, examples) check the law kit itself with fixed run counts:
 * that arbitraries stay in their domains and that deliberately broken rules
 * are caught within a stated number of runs. Scaling them would only change
 * what those tests state, so they do not import this module
 * (tests/laws/budget.test.ts checks that the list and the imports agree).
 *
 * FC_SCALE must be a positive finite number: anything else is an error, since
 * a NaN run count makes fast-check run no case at all and pass.
 */
export const SCALED_SUITES: readonly string[] = [
  'tests/laws/primitiveSuite.ts',
  'tests/mutation/mutation.test.ts',
  'tests/fuzz/fuzz.test.ts',
];

/** The scale factor from FC_SCALE's text (unset: 1). */
export function parseScale(text: string | undefined): number {
  if (text === undefined || text.trim() === '') return 1;
  const s = Number(text);
  if (!Number.isFinite(s) || s <= 0)
    throw new Error(`FC_SCALE must be a positive number (the factor on the run counts of the heavy property suites), got '${text}'`);
  return s;
}

export const scale = parseScale(process.env.FC_SCALE);

/** A suite's CI run count `n` times FC_SCALE (at least 1). */
export const runs = (n: number): number => Math.max(1, Math.round(n * scale));
