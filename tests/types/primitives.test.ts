/**
 * Per-primitive facts that must not be forgotten when a primitive is added,
 * checked by the compiler (tests/types/typecheck.test.ts runs tsc over
 * tests/) and, for the README, at run time:
 * - every unary and binary elementwise primitive is exported from the root
 *   as an op of its name (a missing export is a type error naming it);
 * - every built-in record carries a WebGPU kernel and both rules;
 * - every primitive name appears in the README's op table.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import * as ct from '../../src/index.js';

type Root = typeof ct;
/** Elementwise primitives without a root export of their name: must be none. */
type MissingExports = Exclude<ct.UnaryName | ct.BinaryName, keyof Root>;
/** Root exports of those names that are not the op of that name's type. */
type WrongUnary = { [K in ct.UnaryName]: Root[K & keyof Root] extends ct.UnaryOp ? never : K }[ct.UnaryName];
type WrongBinary = { [K in ct.BinaryName]: Root[K & keyof Root] extends ct.BinaryOp ? never : K }[ct.BinaryName];

// A missing or mistyped export is a compile error naming it: `Type '"sign"' is not assignable to type 'never'`.
const noMissingExport: never = undefined as unknown as MissingExports;
const noWrongUnary: never = undefined as unknown as WrongUnary;
const noWrongBinary: never = undefined as unknown as WrongBinary;

describe('every primitive is complete', () => {
  it('every elementwise primitive is exported from the root as an op of its name', () => {
    expectTypeOf<MissingExports>().toEqualTypeOf<never>();
    expectTypeOf<WrongUnary>().toEqualTypeOf<never>();
    expectTypeOf<WrongBinary>().toEqualTypeOf<never>();
    // the compile-time checks above hold no run-time value
    expect([noMissingExport, noWrongUnary, noWrongBinary]).toEqual([undefined, undefined, undefined]);
    const root = ct as unknown as Readonly<Record<string, unknown>>;
    for (const name of [...Object.keys(ct.unaryOps), ...Object.keys(ct.binaryOps)]) expect(typeof root[name], name).toBe('function');
  });

  it('every built-in record has a WebGPU kernel, a JVP and a VJP rule, and a declaration kind', () => {
    for (const name of ct.primNames) {
      const p = ct.primitives[name];
      expect([typeof p.webgpu, typeof p.jvp, typeof p.vjp, typeof p.cpu], name).toEqual(['function', 'function', 'function', 'function']);
      expect(p.declared?.kind, name).toMatch(/^(elementwise|linear|bilinear|zero|rules)$/);
    }
  });

  it("every primitive name appears in the README's op table", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('## Ops'), readme.indexOf('\n## ', readme.indexOf('## Ops') + 1));
    const words = new Set(table.match(/[A-Za-z][A-Za-z0-9]*/g) ?? []);
    expect(ct.primNames.filter((n) => !words.has(n))).toEqual([]);
  });
});
