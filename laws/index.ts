/**
 * cotangent/laws: law predicates, checkers (fast-check properties),
 * arbitraries, the domain table of the built-in primitives, mutation testing,
 * layer laws, backend equivalence and random programs. Nothing here imports
 * a test runner: use the checkers with `fc.assert` (or @fast-check/vitest).
 *
 * @module cotangent/laws
 */
export * from './result.js';
export * from './numeric.js';
export * from './cases.js';
export * from './predicates.js';
export * from './primitive.js';
export * from './userDomain.js';
export * from './checkers.js';
export * from './layers.js';
export * from './backends.js';
export * from './mutants.js';
export * from './programs.js';
export * from './fuzz.js';
export * from './jit.js';
export * from './vmap.js';
export * from './control.js';
export * from './batchMutants.js';
export { builtinCases } from './domains.js';
export * as arb from './arbitraries.js';
