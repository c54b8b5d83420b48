/**
 * The vmap laws (laws/vmap.ts) on every built-in primitive: for each name in
 * `primNames`, random cases from the vmap case table (the domain table's,
 * with ties for comparisons), random batch sizes 1-3 and random in/out axes
 * (non-negative, negative, null), each case checked with vmap = loop,
 * vmap(grad) = per-example gradients, jvp(vmap) = vmap(jvp), grad of a sum
 * over vmap, nested vmaps, jit with vmap and vectorized jacobians.
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import * as ct from '../../src/index.js';
import { assertLaw } from '../../laws/checkers.js';
import { describeCase } from '../../laws/cases.js';
import { primitiveVmapLaw, vmapCases, type BatchSide } from '../../laws/vmap.js';

export function vmapLawSuite(side: BatchSide, numRuns: number): void {
  describe(`vmap laws of every built-in primitive on ${side.backend} ${side.dtype}`, () => {
    for (const name of ct.primNames) {
      it(name, () => {
        fc.assert(
          fc.property(vmapCases[name], fc.integer(), (c, seed) =>
            assertLaw(primitiveVmapLaw(ct.primitives[name], c, seed, { side }), `primitive '${name}' on ${side.backend}`, describeCase(c)),
          ),
          { numRuns },
        );
      });
    }
  });
}
