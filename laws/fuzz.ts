/**
 * Checking random programs: the checked function (a program, possibly with
 * a nested transformation) must satisfy the finite-difference and transpose
 * laws; a program's graph (makeGraph) must evaluate (evalGraph) to the same
 * values; and, when a second backend is present, it must agree with the CPU.
 */
import fc from 'fast-check';
import * as ct from '../src/index.js';
import { backendsAgree, type BackendEquivalenceOptions } from './backends.js';
import { specTensor } from './cases.js';
import { compare, F64_TOL, isFloatDtype, prng, randomLike, valuesOf } from './numeric.js';
import { guard, jvpMatchesFiniteDifferences, randomTangents, transposeLaw } from './predicates.js';
import {
  buildProgram,
  program,
  programFunction,
  programToString,
  type ProgramOptions,
  type ProgramSpec,
  type UnaryOps,
} from './programs.js';
import { firstFailure, LawViolation, pass, type LawResult } from './result.js';

/** Law: makeGraph then evalGraph computes what the function computes. */
export function graphRoundTrip(f: (...xs: ct.Tensor[]) => ct.Tensor, args: readonly ct.Tensor[]): LawResult {
  const law = 'evalGraph(makeGraph(f)) = f';
  return guard(law, 'kernel', () => {
    const y = f(...args);
    const g = ct.makeGraph(f, ...args);
    const z = ct.evalGraph(g, ...args)[0]!;
    const worst = compare(valuesOf(y), valuesOf(z), y.shape, F64_TOL);
    if (!worst && JSON.stringify(y.shape) === JSON.stringify(z.shape)) return pass(law);
    return {
      ok: false,
      law,
      message: 'the evaluated graph differs from the function',
      expected: valuesOf(y),
      actual: valuesOf(z),
      ...(worst ? { worst } : {}),
    };
  });
}

/** All CPU laws on one random program. */
export function checkProgram(spec: ProgramSpec, ops?: UnaryOps): LawResult {
  return ct.scope(() => {
    const f = buildProgram(spec, ops);
    const args = spec.inputs.map(specTensor);
    const rand = prng(spec.seed ^ 0x5bd1e995);
    let y: ct.Tensor;
    try {
      y = f(...args);
    } catch (e) {
      return { ok: false, law: 'evaluation', message: `the program threw ${(e as Error).name}: ${(e as Error).message}` } as LawResult;
    }
    if (!isFloatDtype(y.dtype)) return pass('program');
    const t = randomTangents(args, rand);
    const c = randomLike(y, rand);
    const results = [jvpMatchesFiniteDifferences(f, args, t, { tol: { rtol: 1e-5, atol: 1e-7 } }), transposeLaw(f, args, t, c)];
    if (spec.nesting === 'none') results.push(graphRoundTrip(f, args));
    return firstFailure(results, 'program');
  });
}

/** A property checking random programs on the CPU. */
export function programProperty(opts: ProgramOptions = {}, onChecked?: (spec: ProgramSpec) => void): fc.IPropertyWithHooks<[ProgramSpec]> {
  return fc.property(program(opts), (spec) => {
    const r = checkProgram(spec, opts.unaryOps);
    if (!r.ok) throw new LawViolation(r, 'a random program', programToString(spec, opts.unaryOps));
    onChecked?.(spec);
    return true;
  });
}

/** Backend equivalence of a random program and of its gradient (reference CPU f64 vs candidate). */
export async function checkProgramOnBackends(
  spec: ProgramSpec,
  opts: BackendEquivalenceOptions & { unaryOps?: UnaryOps } = {},
): Promise<LawResult> {
  const f = programFunction(spec, opts.unaryOps);
  const g = (...xs: ct.Tensor[]) => {
    const y = f(...xs);
    return [y, ct.grad((...a: ct.Tensor[]) => ct.sum(f(...a)), { argnums: 0 })(...xs)];
  };
  return backendsAgree(g, spec.inputs, opts);
}

/** An async property checking random programs on two backends. */
export function programBackendProperty(
  opts: ProgramOptions & BackendEquivalenceOptions = {},
  onChecked?: (spec: ProgramSpec) => void,
): fc.IAsyncPropertyWithHooks<[ProgramSpec]> {
  return fc.asyncProperty(program({ ...opts, nestings: ['none'] }), async (spec) => {
    const r = await checkProgramOnBackends(spec, opts);
    if (!r.ok) throw new LawViolation(r, 'a random program', programToString(spec, opts.unaryOps));
    onChecked?.(spec);
    return true;
  });
}
