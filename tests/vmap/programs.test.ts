/**
 * The fuzzer's random programs (laws/programs.ts: broadcasting, fan-out,
 * reductions, matmuls, structural ops, a nested grad / jvp / vjp) under vmap,
 * with random batch sizes and axes: vmap(f) and vmap(grad <w, f>) equal their
 * loops over the examples. And the property can fail: a planted batching bug
 * in a user primitive used by the programs is found.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { programVmapProperty } from '../../laws/vmap.js';

beforeAll(async () => {
  await ct.init({ backend: 'cpu' });
});

describe('random programs under vmap', () => {
  it('equal the loop over the examples, value and per-example gradient', () => {
    let checked = 0;
    fc.assert(
      programVmapProperty({}, () => checked++),
      { numRuns: 150 },
    );
    expect(checked).toBe(150);
  });

  it('a planted batching bug (a user primitive whose rule claims the batch axis at the front) is found', () => {
    const cube = ct.definePrimitive({
      name: 'test.vmapPrograms.badCube',
      shape: ([x]) => ({ shape: x!.shape, dtype: x!.dtype }),
      cpu: ([x]) => x!.data.map((v) => v * v * v),
      jvp: ([x], [t]) => ct.mul(t!, ct.mul(3, ct.square(x!))),
      vjp: (c, [x]) => [ct.mul(c, ct.mul(3, ct.square(x!)))],
      // wrong: the batch axis stays where it is, but the rule says it is at the front
      batch: (xs, _dims, params, _size, self) => [ct.bind(self, xs, params), 0],
    });
    const r = fc.check(programVmapProperty({ unaryOps: { cube }, maxNodes: 5 }), { numRuns: 300 });
    expect(r.failed).toBe(true);
    expect(String((r.errorInstance as Error).message)).toMatch(/cube/);
  });
});
