/** Laws of the built-in primitives, shard 0 (see primitives.ts). */
import { expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { lawShard, LAW_SHARDS } from './primitives.js';
import { primitiveLawSuite } from './primitiveSuite.js';

primitiveLawSuite(lawShard(0));

it('the shards cover every built-in primitive exactly once', () => {
  const all = Array.from({ length: LAW_SHARDS }, (_, k) => lawShard(k)).flat();
  expect([...all].sort()).toEqual([...ct.primNames].sort());
});
