/** The vmap laws of every built-in primitive on the CPU in f64 (see suite.ts). */
import { beforeAll } from 'vitest';
import * as ct from '../../src/index.js';
import { vmapLawSuite } from './suite.js';

beforeAll(async () => {
  await ct.init({ backend: 'cpu' });
});

vmapLawSuite({ backend: 'cpu', dtype: 'f64' }, 25);
