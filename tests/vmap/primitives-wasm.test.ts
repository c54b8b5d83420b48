/** The vmap laws of every built-in primitive on wasm in f32 (see suite.ts; tolerances by dtype). */
import { beforeAll } from 'vitest';
import * as ct from '../../src/index.js';
import { vmapLawSuite } from './suite.js';

beforeAll(async () => {
  await ct.init({ backend: 'wasm' });
  await ct.init({ backend: 'cpu' });
});

vmapLawSuite({ backend: 'wasm', dtype: 'f32' }, 12);
