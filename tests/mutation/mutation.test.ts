/**
 * The laws must be able to fail: for every built-in primitive, deliberately
 * broken variants of its rules (laws/mutants.ts) are run through the laws,
 * and every mutant must be caught. As a control, the unbroken primitive must
 * pass the very same check (otherwise "caught" would mean nothing).
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { builtinCases } from '../../laws/domains.js';
import { builtinMutantInfo, killMutant, mutantsOf, type KillResult } from '../../laws/mutants.js';
import { FC_SEED } from '../setup.js';
import { runs } from '../laws/budget.js';

const results: KillResult[] = [];
const NUM_RUNS = runs(60);

describe('mutation testing of every built-in primitive', () => {
  for (const name of ct.primNames) {
    it(`${name}: the laws pass the real rules and catch every mutant`, () => {
      const control = killMutant({ name: `${name} (unbroken)`, rule: 'jvp', prim: ct.primitives[name] }, builtinCases[name], {
        numRuns: NUM_RUNS,
        seed: FC_SEED,
      });
      expect(control.report ?? '', 'the unbroken primitive must pass the laws').toBe('');
      const mutants = mutantsOf(ct.primitives[name], builtinMutantInfo(name));
      expect(mutants.length).toBeGreaterThanOrEqual(2);
      const rs = mutants.map((m) => killMutant(m, builtinCases[name], { numRuns: NUM_RUNS, seed: FC_SEED }));
      results.push(...rs);
      expect(rs.filter((r) => !r.killed).map((r) => r.mutant)).toEqual([]);
    });
  }
});

afterAll(() => {
  const killed = results.filter((r) => r.killed).length;
  const jvp = results.filter((r) => r.rule === 'jvp');
  const vjp = results.filter((r) => r.rule === 'vjp');
  const declared = results.filter((r) => r.rule === 'declaration');
  const rate = results.length ? ((100 * killed) / results.length).toFixed(1) : '0';
  console.log(
    `[mutation] killed ${killed}/${results.length} mutants (${rate}%) — JVP ${jvp.filter((r) => r.killed).length}/${jvp.length}, ` +
      `VJP ${vjp.filter((r) => r.killed).length}/${vjp.length}, declarations ` +
      `${declared.filter((r) => r.killed).length}/${declared.length}; ${NUM_RUNS} cases per mutant at most, seed ${FC_SEED}`,
  );
});
