/** Laws of the structural, reduction and matrix primitives. */
import { expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { primitiveLawSuite } from './primitiveSuite.js';

const NAMES: ct.PrimName[] = ['matmul', 'stopGradient', 'reshape', 'broadcastTo', 'transpose', 'slice', 'pad', 'concat', 'cast', 'sum', 'max', 'argmax'];
primitiveLawSuite(NAMES);

it('the two law suites cover every built-in primitive', async () => {
  const src = await import('node:fs').then((fs) => fs.readFileSync(new URL('./elementwise.test.ts', import.meta.url), 'utf8'));
  const covered = new Set([...NAMES, ...ct.primNames.filter((n) => src.includes(`'${n}'`))]);
  expect(ct.primNames.filter((n) => !covered.has(n))).toEqual([]);
});
