/**
 * cotangent/laws: law predicates, checkers (fast-check properties),
 * arbitraries, the domain table of the built-in primitives, mutation testing
 * and random programs. Nothing here imports a test runner.
 */
export * from './result.js';
export * from './numeric.js';
export * from './cases.js';
export * from './predicates.js';
export * from './primitive.js';
export * from './userDomain.js';
export * from './checkers.js';
export { builtinCases } from './domains.js';
export * as arb from './arbitraries.js';
