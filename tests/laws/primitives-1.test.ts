/** Laws of the built-in primitives, shard 1 (see primitives.ts). */
import { lawShard } from './primitives.js';
import { primitiveLawSuite } from './primitiveSuite.js';

primitiveLawSuite(lawShard(1));
