/**
 * Laws of `jit`: compiling a function changes how it runs, never what it
 * computes.
 *
 * - `jitEquivalenceLaw`: jit(f)(x) equals f(x) (same shape and dtype, values
 *   within the dtype's tolerance, or bit for bit with `exact`: NaN equals NaN,
 *   the values keep the sign of zero, derivatives up to it), and so does
 *   every derivative taken through the jitted function: jvp(jit f) ≡ jvp(f),
 *   the pullback of vjp(jit f) on a random cotangent ≡ that of vjp(f),
 *   grad(jit f) ≡ jit(grad f) ≡ grad(f) (of <w, f> with a random w when f is
 *   not scalar), and hessian(jit f) ≡ hessian(f) when the differentiated
 *   input is small. `jitEquivalenceLawAsync` is the same law for backends
 *   that are read asynchronously (WebGPU).
 * - `jitCacheLaw`: over a sequence of calls of one jitted function, a call
 *   traces exactly once when its signature (tree structure, shapes, dtypes,
 *   backend, static values) is new and never when it was seen before, and each
 *   call returns what the function returns.
 * - `optimizedGraphLaw`: jit's graph passes preserve what a graph computes,
 *   also on graphs with constant-only equations (`withConstantInputs`), the
 *   only ones constant folding acts on.
 *
 * Helpers put the kit's primitive cases and random programs on any backend
 * and float dtype (`bindCaseOn`, `programOn`), and package the law as
 * fast-check properties (`jitPrimitiveProperty`, `jitProgramProperty`).
 */
import fc from 'fast-check';
import * as ct from '../src/index.js';
import type { PrimCase, TensorSpec } from './cases.js';
import { describeCase } from './cases.js';
import { isFloatDtype, maxAbs, prng, randomLike, tolFor, unravel, type Tolerance } from './numeric.js';
import { randomTangents, type TensorFn } from './predicates.js';
import { programFunction, programToString, type ProgramSpec } from './programs.js';
import { LawViolation, pass, type LawResult, type Worst } from './result.js';
import { optimize } from '../src/jit/passes.js';

/** A comparison's tolerance in words. */
const tolText = (tol: string | { rtol: number; atol: number }): string =>
  typeof tol === 'string' ? `bit for bit${tol === 'bits' ? ', signed zeros' : ''}` : `rtol ${tol.rtol}, atol ${tol.atol}`;
/** Where a law runs: the backend and the float dtype of the inputs (integer inputs stay i32). */
export interface JitSide {
  readonly backend: ct.BackendName;
  readonly dtype: 'f32' | 'f64';
}

/** Options of the jit laws. */
export interface JitLawOptions {
  /** Options of the jitted function (fuse, optimize, ...). */
  readonly jit?: ct.JitOptions;
  /** Tolerance override (default: by the dtype of each compared tensor, as the kit's other laws). */
  readonly tol?: Partial<Tolerance>;
  /** Compare bit for bit instead of within a tolerance (NaN equals NaN; the values keep the sign of zero, derivatives may not). */
  readonly exact?: boolean;
  /** Seed of the random tangents, cotangents and weights. */
  readonly seed?: number;
  /** Check the derivatives too (default true). */
  readonly derivatives?: boolean;
  /** The Hessian is compared when the first float input has at most this many elements (default 6; 0: never). */
  readonly hessianLimit?: number;
}

/** One quantity computed without jit (the reference) and through jit. */
export interface JitPair {
  readonly what: string;
  readonly reference: ct.Tensor;
  readonly jitted: ct.Tensor;
  /** Compared bit for bit, +0 and −0 apart, when the law is exact (the values themselves; derivatives may differ in the sign of a zero). */
  readonly signedZeros?: boolean;
}

const LAW = 'jit(f) ≡ f';

const isTensor = (x: unknown): x is ct.Tensor => x instanceof ct.Tensor;

/**
 * The quantities the equivalence law compares, computed on `args` (each pair:
 * without jit, through jit). Throws what evaluating `f` or its jitted version
 * throws. Run it inside a scope.
 */
export function jitPairs(f: TensorFn, args: readonly ct.Tensor[], opts: JitLawOptions = {}): JitPair[] {
  const jf = ct.jit(f, opts.jit ?? {}) as unknown as TensorFn;
  const rand = prng(opts.seed ?? 1);
  const pairs: JitPair[] = [];
  const y = f(...args);
  pairs.push({ what: 'value jit(f)(x) vs f(x)', reference: y, jitted: jf(...args), signedZeros: true });
  const ks = args.flatMap((a, i) => (isFloatDtype(a.dtype) ? [i] : []));
  if (opts.derivatives === false || ks.length === 0) return pairs;

  const tangents = randomTangents(args, rand);
  const [p0, t0] = ct.jvp(f, [...args], tangents);
  const [p1, t1] = ct.jvp(jf, [...args], tangents);
  pairs.push({ what: 'jvp(jit f) primal vs jvp(f) primal', reference: p0, jitted: p1 });
  pairs.push({ what: 'jvp(jit f) tangent vs jvp(f) tangent', reference: t0, jitted: t1 });
  if (!isFloatDtype(y.dtype)) return pairs;

  const cot = randomLike(y, rand);
  const [v0, pb0] = ct.vjp(f, ...args);
  const [v1, pb1] = ct.vjp(jf, ...args);
  pairs.push({ what: 'vjp(jit f) primal vs vjp(f) primal', reference: v0, jitted: v1 });
  const g0 = pb0(cot) as unknown[];
  const g1 = pb1(cot) as unknown[];
  g0.forEach((g, k) => {
    const h = g1[k];
    if (isTensor(g) && isTensor(h)) pairs.push({ what: `vjp(jit f) cotangent of input ${k} vs vjp(f)`, reference: g, jitted: h });
    else if (isTensor(g) !== isTensor(h)) throw new Error(`vjp cotangent of input ${k}: a tensor on one side only`);
  });

  // a scalar function with f's derivatives: f itself when scalar, else <w, f>
  const w = y.ndim === 0 ? null : randomLike(y, rand);
  const scalar =
    (h: TensorFn): TensorFn =>
    (...xs) =>
      w ? ct.sum(ct.mul(h(...xs), w)) : h(...xs);
  const gradOf = (h: TensorFn) => ct.grad(scalar(h), { argnums: ks }) as unknown as (...xs: ct.Tensor[]) => ct.Tensor[];
  const gr = gradOf(f)(...args);
  const gj = gradOf(jf)(...args);
  const jg = (ct.jit(gradOf(f), opts.jit ?? {}) as unknown as (...xs: ct.Tensor[]) => ct.Tensor[])(...args);
  const label = w ? '<w, f>' : 'f';
  ks.forEach((k, j) => {
    pairs.push({ what: `grad(jit ${label}) vs grad(${label}), input ${k}`, reference: gr[j]!, jitted: gj[j]! });
    pairs.push({ what: `jit(grad ${label}) vs grad(${label}), input ${k}`, reference: gr[j]!, jitted: jg[j]! });
  });

  const k = ks[0]!;
  if (args[k]!.size <= (opts.hessianLimit ?? 6)) {
    const hessOf = (h: TensorFn) => ct.hessian(scalar(h), { argnums: k }) as unknown as TensorFn;
    pairs.push({
      what: `hessian(jit ${label}) vs hessian(${label}), input ${k}`,
      reference: hessOf(f)(...args),
      jitted: hessOf(jf)(...args),
    });
  }
  return pairs;
}

/**
 * The worst disagreement of two value arrays, or undefined. NaN equals NaN and
 * equal infinities agree; 'exact' asks for equal values (+0 equals −0),
 * 'bits' for the same values and signs of zero.
 */
export function disagreement(
  expected: ArrayLike<number>,
  actual: ArrayLike<number>,
  shape: readonly number[],
  tol: Tolerance | 'exact' | 'bits',
): Worst | undefined {
  if (expected.length !== actual.length)
    return { index: [], expected: expected.length, actual: actual.length, error: Infinity, tolerance: 0 };
  const finite = (xs: ArrayLike<number>) => maxAbs(Array.from(xs).filter(Number.isFinite));
  const scale = Math.max(finite(expected), finite(actual));
  let worst: Worst | undefined;
  let worstRatio = 1;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if ((tol === 'bits' ? Object.is(a, e) : a === e) || (Number.isNaN(a) && Number.isNaN(e))) continue;
    const err = Math.abs(a - e);
    const bound = typeof tol === 'string' ? 0 : tol.atol + tol.rtol * Math.max(Math.abs(a), Math.abs(e), scale);
    const ratio = Number.isNaN(err) || !Number.isFinite(err) ? Infinity : bound === 0 ? Infinity : err / bound;
    if (ratio > worstRatio || (ratio === Infinity && !worst)) {
      worstRatio = ratio;
      worst = { index: unravel(i, shape), expected: e, actual: a, error: err, tolerance: bound };
    }
  }
  return worst;
}

/** Judge the pairs, read as `values`: the first disagreement (shape, dtype or values), or a pass. */
function judge(pairs: readonly JitPair[], values: readonly [ArrayLike<number>, ArrayLike<number>][], opts: JitLawOptions): LawResult {
  for (let i = 0; i < pairs.length; i++) {
    const { what, reference: r, jitted: j, signedZeros } = pairs[i]!;
    if (r.dtype !== j.dtype || r.shape.join(',') !== j.shape.join(','))
      return {
        ok: false,
        law: LAW,
        message: `${what}: jit gives ${j.dtype}[${j.shape.join(',')}] where the function gives ${r.dtype}[${r.shape.join(',')}]`,
      };
    const base = tolFor(r.dtype);
    const tol: Tolerance | 'exact' | 'bits' = opts.exact
      ? signedZeros
        ? 'bits'
        : 'exact'
      : { rtol: opts.tol?.rtol ?? base.rtol, atol: opts.tol?.atol ?? base.atol };
    const [e, a] = values[i]!;
    const worst = disagreement(e, a, r.shape, tol);
    if (worst)
      return {
        ok: false,
        law: LAW,
        message: `${what}: the values differ (${tolText(tol)}, ${r.dtype})`,
        expectedLabel: 'without jit',
        actualLabel: 'through jit',
        expected: Array.from(e),
        actual: Array.from(a),
        worst,
      };
  }
  return pass(LAW);
}

const threw = (stage: string, e: unknown): LawResult => ({
  ok: false,
  law: LAW,
  message: `${stage} threw ${(e as Error).name ?? 'Error'}: ${(e as Error).message}`,
});

/** Whether evaluating `f` itself throws (then the case, not jit, is at fault). */
function evaluationFailure(f: TensorFn, args: readonly ct.Tensor[]): LawResult | null {
  try {
    ct.scope(() => {
      f(...args);
    });
    return null;
  } catch (e) {
    return {
      ok: false,
      law: 'evaluation',
      suspect: 'kernel',
      message: `evaluating the function without jit threw: ${(e as Error).message}`,
    };
  }
}

/**
 * Law: jit(f) computes what f computes, and so do its derivatives (jvp, the
 * vjp pullback, grad(jit f) and jit(grad f), hessian for small inputs).
 * For backends read synchronously (cpu, wasm).
 */
export function jitEquivalenceLaw(f: TensorFn, args: readonly ct.Tensor[], opts: JitLawOptions = {}): LawResult {
  const bad = evaluationFailure(f, args);
  if (bad) return bad;
  try {
    return ct.scope(() => {
      const pairs = jitPairs(f, args, opts);
      return judge(
        pairs,
        pairs.map((p) => [p.reference.dataSync(), p.jitted.dataSync()]),
        opts,
      );
    });
  } catch (e) {
    return threw('the jitted function or a derivative through it', e);
  }
}

/** {@link jitEquivalenceLaw} for any backend (values read with `await data()`, e.g. WebGPU). */
export async function jitEquivalenceLawAsync(f: TensorFn, args: readonly ct.Tensor[], opts: JitLawOptions = {}): Promise<LawResult> {
  const bad = evaluationFailure(f, args);
  if (bad) return bad;
  let pairs: JitPair[];
  try {
    pairs = ct.scope(() => jitPairs(f, args, opts));
  } catch (e) {
    return threw('the jitted function or a derivative through it', e);
  }
  try {
    const values = await Promise.all(
      pairs.map(async (p) => [await p.reference.data(), await p.jitted.data()] as [ArrayLike<number>, ArrayLike<number>]),
    );
    return judge(pairs, values, opts);
  } finally {
    const seen = new Set<ct.Tensor>();
    for (const p of pairs)
      for (const t of [p.reference, p.jitted])
        if (!seen.has(t)) {
          seen.add(t);
          t.dispose();
        }
  }
}

// ---- the cache law ----

/** A canonical text of a static value (plain data by value, −0 apart from 0; anything else by identity). */
function staticText(v: unknown, ids: Map<object, number>): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (v === undefined) return 'undefined';
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => staticText(x, ids)).join(',')}]`;
  if (typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${staticText(o[k], ids)}`)
      .join(',')}}`;
  }
  let id = ids.get(v as object);
  if (id === undefined) {
    id = ids.size;
    ids.set(v as object, id);
  }
  return `#${id}`;
}

/** The signature of an argument: tensors by backend, dtype and shape; numbers by value; records and arrays by structure. */
function signatureOf(v: unknown, ids: Map<object, number>): string {
  if (isTensor(v)) return `T(${v.backendName}:${v.dtype}[${v.shape.join(',')}])`;
  if (typeof v === 'number') return `n(${staticText(v, ids)})`;
  if (Array.isArray(v)) return `[${v.map((x) => signatureOf(x, ids)).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${signatureOf(o[k], ids)}`)
      .join(',')}}`;
  }
  return `s(${staticText(v, ids)})`;
}

/** Options of {@link jitCacheLaw}. */
export interface JitCacheLawOptions {
  /** Options of the jitted function (its staticArgnums are part of the signature). */
  readonly jit?: ct.JitOptions;
  readonly tol?: Partial<Tolerance>;
}

/**
 * Law: one jitted function called with each argument list of `calls` in turn
 * traces exactly once for a signature not seen before and never for one seen
 * before (debugCounters().traces), and every call returns what `f` returns
 * on those arguments (so a program is never reused for another signature).
 * Tensors must be readable synchronously (cpu, wasm).
 */
export function jitCacheLaw(
  f: (...args: never[]) => unknown,
  calls: readonly (readonly unknown[])[],
  opts: JitCacheLawOptions = {},
): LawResult {
  const law = 'jit traces once per signature';
  const statics = new Set(
    opts.jit?.staticArgnums === undefined
      ? []
      : typeof opts.jit.staticArgnums === 'number'
        ? [opts.jit.staticArgnums]
        : opts.jit.staticArgnums,
  );
  const ids = new Map<object, number>();
  const fn = f as (...args: unknown[]) => unknown;
  const jf = ct.jit(fn, opts.jit ?? {});
  const seen = new Set<string>();
  try {
    for (let c = 0; c < calls.length; c++) {
      const args = calls[c]!;
      const sig = args.map((a, i) => (statics.has(i) ? `S${staticText(a, ids)}` : signatureOf(a, ids))).join('|');
      const expected = seen.has(sig) ? 0 : 1;
      seen.add(sig);
      const r = ct.scope(() => {
        const before = ct.debugCounters().traces;
        const out = jf(...args);
        const traced = ct.debugCounters().traces - before;
        if (traced !== expected)
          return {
            ok: false as const,
            law,
            message:
              `call ${c} (${expected ? 'a new signature' : 'a signature seen before'}: ${sig}) traced ${traced} time(s), ` +
              `expected ${expected}`,
          };
        const want = ct.treeLeaves(fn(...args) as never).filter(isTensor);
        const got = ct.treeLeaves(out as never).filter(isTensor);
        if (want.length !== got.length)
          return { ok: false as const, law, message: `call ${c}: jit returned ${got.length} tensors, the function ${want.length}` };
        for (let i = 0; i < want.length; i++) {
          const pair = { what: `call ${c}, output ${i}`, reference: want[i]!, jitted: got[i]! };
          const j = judge([pair], [[pair.reference.dataSync(), pair.jitted.dataSync()]], opts);
          if (!j.ok) return { ...j, law };
        }
        return null;
      });
      if (r) return r;
    }
  } catch (e) {
    return { ok: false, law, message: `a call threw ${(e as Error).name}: ${(e as Error).message}` };
  }
  return pass(law);
}

// ---- cases and programs on any backend ----

/** The tensor of a spec on `side`: float specs in the side's dtype, i32 specs as i32. */
export function specOn(s: TensorSpec, side: JitSide): ct.Tensor {
  const dtype = s.dtype === 'i32' ? 'i32' : side.dtype;
  return ct.tensor(Float64Array.from(s.values), { shape: [...s.shape], dtype, backend: side.backend });
}

/** Whether a case can run on `side`: on a backend without f64 (all but cpu) no parameter may ask for f64. */
export function caseFits(c: PrimCase, side: JitSide): boolean {
  return side.backend === 'cpu' || !JSON.stringify(c.params ?? null).includes('"f64"');
}

/**
 * A primitive case on `side` as a function of its differentiated inputs (the
 * others are captured constants), with the tensors to call it on (the law
 * kit's bindCase, on any backend and float dtype).
 */
export function bindCaseOn(prim: ct.Primitive, c: PrimCase, side: JitSide): { f: TensorFn; args: ct.Tensor[]; inputs: ct.Tensor[] } {
  const inputs = c.inputs.map((s) => specOn(s, side));
  const diff = c.diff ?? inputs.map((x) => isFloatDtype(x.dtype));
  const argIdx = diff.flatMap((d, i) => (d ? [i] : []));
  const f: TensorFn = (...xs) =>
    ct.bind(
      prim,
      inputs.map((x, i) => {
        const k = argIdx.indexOf(i);
        return k >= 0 ? xs[k]! : x;
      }),
      c.params,
    );
  return { f, args: argIdx.map((i) => inputs[i]!), inputs };
}

/**
 * A random program on `side`: the checked function (the program with its
 * nested transformation, whose constant directions live on the side's
 * backend and dtype) and its inputs.
 */
export function programOn(spec: ProgramSpec, side: JitSide): { f: TensorFn; args: ct.Tensor[] } {
  const base = programFunction(spec);
  const args = spec.inputs.map((s) => specOn(s, side));
  if (spec.nesting === 'none') return { f: base, args };
  const rand = prng(spec.seed);
  const y = base(...args);
  let f: TensorFn;
  switch (spec.nesting) {
    case 'grad': {
      const w = randomLike(y, rand);
      f = (...a) => ct.grad((...b: ct.Tensor[]) => ct.sum(ct.mul(base(...b), w)), { argnums: 0 })(...a) as ct.Tensor;
      break;
    }
    case 'jvp': {
      const vs = args.map((x) => randomLike(x, rand));
      f = (...a) => ct.jvp(base, a, vs)[1];
      break;
    }
    case 'vjp': {
      const c = randomLike(y, rand);
      f = (...a) => (ct.vjp(base, ...a)[1](c) as ct.Tensor[])[0]!;
      break;
    }
  }
  return { f, args };
}

/** A property: the equivalence law of `prim` on its cases, on `side` (cpu or wasm). */
export function jitPrimitiveProperty(
  prim: ct.Primitive,
  cases: fc.Arbitrary<PrimCase>,
  side: JitSide,
  opts: JitLawOptions = {},
): fc.IPropertyWithHooks<[PrimCase, number]> {
  return fc.property(
    cases.filter((c) => caseFits(c, side)),
    fc.integer(),
    (c, seed) => {
      const r = ct.scope(() => {
        const b = bindCaseOn(prim, c, side);
        return jitEquivalenceLaw(b.f, b.args, { ...opts, seed });
      });
      if (!r.ok) throw new LawViolation(r, `jit of primitive '${prim.name}' on ${side.backend}/${side.dtype}`, describeCase(c));
      return true;
    },
  );
}

/** A property: the equivalence law on random programs (laws/programs.ts), on `side` (cpu or wasm). */
export function jitProgramProperty(
  side: JitSide,
  programs: fc.Arbitrary<ProgramSpec>,
  opts: JitLawOptions = {},
  onChecked?: (spec: ProgramSpec) => void,
): fc.IPropertyWithHooks<[ProgramSpec]> {
  return fc.property(programs, (spec) => {
    const r = ct.scope(() => {
      const p = programOn(spec, side);
      return jitEquivalenceLaw(p.f, p.args, { ...opts, seed: spec.seed });
    });
    if (!r.ok) throw new LawViolation(r, `jit of a random program on ${side.backend}/${side.dtype}`, programToString(spec));
    onChecked?.(spec);
    return true;
  });
}

// ---- the optimiser on graphs with constant-only equations ----

/**
 * The graph with some of its inputs turned into constants of the given
 * values. Tracing never records an equation whose inputs are all constants
 * (ops on captured tensors run at once), so this is how a graph gets
 * equations for constant folding.
 */
export function withConstantInputs(g: ct.Graph, values: ReadonlyMap<number, ct.Tensor>): ct.Graph {
  return {
    inputs: g.inputs.filter((_, i) => !values.has(i)),
    consts: [...g.consts, ...[...values].map(([i, value]) => ({ var: g.inputs[i]!, value }))],
    eqns: g.eqns,
    outputs: g.outputs,
  };
}

/**
 * Law: the optimised graph (jit's passes: simplification, constant folding,
 * CSE, DCE) evaluates to what the graph evaluates to, output by output: same
 * dtypes and shapes, values bit for bit (default) or within `tol`.
 */
export function optimizedGraphLaw(
  g: ct.Graph,
  inputs: readonly ct.Tensor[],
  opts: { readonly optimize?: (g: ct.Graph) => ct.Graph; readonly tol?: Tolerance } = {},
): LawResult {
  const law = 'evalGraph(optimize(g)) = evalGraph(g)';
  const run = opts.optimize ?? ((x: ct.Graph) => optimize(x).graph);
  try {
    return ct.scope(() => {
      const want = ct.evalGraph(g, ...inputs);
      const got = ct.evalGraph(run(g), ...inputs);
      const pairs = want.map((w, i) => ({ what: `output ${i}`, reference: w, jitted: got[i]!, signedZeros: true }));
      if (got.length !== want.length) return { ok: false, law, message: `${got.length} outputs, expected ${want.length}` };
      const r = judge(
        pairs,
        pairs.map((p) => [p.reference.dataSync(), p.jitted.dataSync()]),
        opts.tol ? { tol: opts.tol } : { exact: true },
      );
      return r.ok ? pass(law) : { ...r, law };
    });
  } catch (e) {
    return { ok: false, law, message: `evaluating the optimised graph threw ${(e as Error).name}: ${(e as Error).message}` };
  }
}
