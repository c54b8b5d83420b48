/**
 * Applies every law to a list of built-in primitives, on the CPU backend in
 * f64, with cases from the domain table (laws/domains.ts): one test per
 * (primitive, law).
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import * as ct from '../../src/index.js';
import { checkPrimitive } from '../../laws/checkers.js';
import { builtinCases } from '../../laws/domains.js';
import { PRIMITIVE_LAWS, type PrimitiveLaw } from '../../laws/primitive.js';
import { runs } from './budget.js';

const RUNS: Record<PrimitiveLaw, number> = { shape: 40, jvp: 60, transpose: 60, linearity: 30, jacobians: 25, 'second-order': 15 };

export function primitiveLawSuite(names: readonly ct.PrimName[]): void {
  for (const name of names) {
    describe(name, () => {
      for (const law of PRIMITIVE_LAWS) {
        it(law, () => {
          fc.assert(checkPrimitive(ct.primitives[name], { cases: builtinCases[name], laws: [law] }), { numRuns: runs(RUNS[law]) });
        });
      }
    });
  }
}
