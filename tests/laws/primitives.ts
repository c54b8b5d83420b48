/**
 * The built-in primitives split into shards for the law suites (one test file
 * per shard, so vitest runs them in parallel). Every primitive name is in
 * exactly one shard: the shards are derived from `primNames`, so a new
 * primitive is covered without editing any list.
 */
import * as ct from '../../src/index.js';

export const LAW_SHARDS = 2;

/** The primitives of shard `k` (0-based) of `LAW_SHARDS`. */
export const lawShard = (k: number): ct.PrimName[] => ct.primNames.filter((_, i) => i % LAW_SHARDS === k);
