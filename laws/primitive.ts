/**
 * Applying the laws to one primitive on one case. The primitive is applied
 * with `bind(prim, inputs, params)`, so a record that is not in the registry
 * (a user primitive, or a deliberately broken mutant) is checked exactly as
 * written. Includes the shape law: the shape rule matches what the kernel
 * computes, the graph trace, and the shapes the JVP and VJP rules return.
 */
import * as ct from '../src/index.js';
import { describeCase, specTensor, type PrimCase } from './cases.js';
import { isFloatDtype, prng, randomLike } from './numeric.js';
import {
  guard,
  hessianIsSymmetric,
  jacfwdEqualsJacrev,
  jvpIsLinear,
  jvpMatchesFiniteDifferences,
  randomTangents,
  secondOrder,
  mixedSecondOrder,
  transposeLaw,
  vjpIsLinear,
  zeroDerivative,
  type LawOptions,
  type TensorFn,
} from './predicates.js';
import { firstFailure, pass, type LawResult } from './result.js';

/** The laws a primitive is checked against (`checkPrimitive`'s `laws` option). */
export const PRIMITIVE_LAWS = ['shape', 'jvp', 'transpose', 'linearity', 'jacobians', 'second-order'] as const;
/** The name of a primitive law (see PRIMITIVE_LAWS). */
export type PrimitiveLaw = (typeof PRIMITIVE_LAWS)[number];

const sizeOf = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const shapeStr = (s: readonly number[]) => `[${s.join(',')}]`;

const ARRAY_OF: Record<ct.DType, Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor> = {
  f32: Float32Array,
  f64: Float64Array,
  i32: Int32Array,
};

/** Law: the shape rule agrees with the kernel, the graph trace and the shapes of the rules' results. */
export function shapeLaw(prim: ct.Primitive, inputs: readonly ct.Tensor[], params: unknown, rand: () => number): LawResult {
  const law = 'shape rule = computed shape';
  return guard(law, 'shape rule', () => {
    const aval = prim.shape(
      inputs.map((x) => ({ shape: x.shape, dtype: x.dtype })),
      params,
    );
    const data = prim.cpu(
      inputs.map((x) => ({ shape: x.shape, dtype: x.dtype, data: x.dataSync() })),
      params,
      aval,
    );
    if (data.length !== sizeOf(aval.shape)) {
      return {
        ok: false,
        law,
        suspect: 'shape rule',
        message:
          `the shape rule says ${aval.dtype}${shapeStr(aval.shape)} (${sizeOf(aval.shape)} elements) but the CPU kernel computed ` +
          `${data.length} elements`,
      };
    }
    if (!(data instanceof ARRAY_OF[aval.dtype])) {
      return {
        ok: false,
        law,
        suspect: 'shape rule',
        message: `the shape rule says dtype ${aval.dtype} but the CPU kernel returned a ${data.constructor.name}`,
      };
    }
    const g = ct.makeGraph((...xs: ct.Tensor[]) => ct.bind(prim, xs, params), ...inputs);
    const gv = g.outputs[0]!;
    if (shapeStr(gv.shape) !== shapeStr(aval.shape) || gv.dtype !== aval.dtype) {
      return {
        ok: false,
        law,
        suspect: 'shape rule',
        message: `the graph trace gives ${gv.dtype}${shapeStr(gv.shape)}, the shape rule ${aval.dtype}${shapeStr(aval.shape)}`,
      };
    }
    const out = ct.bind(prim, inputs, params);
    const tangents = inputs.map((x) => (isFloatDtype(x.dtype) ? randomLike(x, rand) : ct.Zero));
    if (tangents.some((t) => !ct.isZero(t))) {
      let t: ct.MaybeZero;
      try {
        t = prim.jvp(inputs, tangents, params, out);
      } catch (e) {
        return { ok: false, law, suspect: 'jvp', message: `the JVP rule threw ${(e as Error).name}: ${(e as Error).message}` };
      }
      if (!ct.isZero(t)) {
        const bcast =
          t.shape.length <= out.shape.length && t.shape.every((d, i) => d === 1 || d === out.shape[out.shape.length - t.shape.length + i]);
        if (!bcast || t.dtype !== out.dtype) {
          return {
            ok: false,
            law,
            suspect: 'jvp',
            message: `the JVP rule returned a tangent ${t.dtype}${shapeStr(t.shape)} for an output ${out.dtype}${shapeStr(out.shape)}`,
          };
        }
      }
    }
    if (isFloatDtype(out.dtype)) {
      let cts: readonly ct.MaybeZero[];
      try {
        cts = prim.vjp(
          randomLike(out, rand),
          inputs,
          params,
          out,
          inputs.map(() => true),
        );
      } catch (e) {
        return { ok: false, law, suspect: 'vjp', message: `the VJP rule threw ${(e as Error).name}: ${(e as Error).message}` };
      }
      if (cts.length !== inputs.length)
        return { ok: false, law, suspect: 'vjp', message: `the VJP rule returned ${cts.length} cotangents for ${inputs.length} inputs` };
      for (let k = 0; k < cts.length; k++) {
        const c = cts[k]!;
        if (ct.isZero(c)) continue;
        if (shapeStr(c.shape) !== shapeStr(inputs[k]!.shape) || c.dtype !== inputs[k]!.dtype) {
          return {
            ok: false,
            law,
            suspect: 'vjp',
            message:
              `the VJP rule returned a cotangent ${c.dtype}${shapeStr(c.shape)} for input ${k} ` +
              `${inputs[k]!.dtype}${shapeStr(inputs[k]!.shape)} (missing unbroadcast?)`,
          };
        }
      }
    }
    return pass(law);
  });
}

/** A primitive case as a function of its differentiated inputs. */
export interface BoundCase {
  readonly inputs: ct.Tensor[];
  readonly f: TensorFn;
  readonly args: ct.Tensor[];
}

/** A case as a function of its differentiated inputs (the others held constant), with the tensors to call it on. */
export function bindCase(prim: ct.Primitive, c: PrimCase): BoundCase {
  const inputs = c.inputs.map(specTensor);
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
  return { inputs, f, args: argIdx.map((i) => inputs[i]!) };
}

/** w · f summed: a scalar function with the same derivatives as f (for the second-order laws). */
const scalarise =
  (f: TensorFn, w: ct.Tensor): TensorFn =>
  (...xs) =>
    ct.sum(ct.mul(f(...xs), w));

/** Check one law (or all) of `prim` on case `c`, with tangents and cotangents drawn from `seed`. */
export function primitiveLaw(prim: ct.Primitive, c: PrimCase, law: PrimitiveLaw, seed: number): LawResult {
  const rand = prng(seed);
  const opts: LawOptions = { ...(c.tol ? { tol: c.tol } : {}), ...(c.eps ? { eps: c.eps } : {}) };
  return ct.scope(() => {
    const b = bindCase(prim, c);
    if (law === 'shape') return shapeLaw(prim, b.inputs, c.params, rand);
    if (b.args.length === 0) return pass(law);
    const y = guardOut(b);
    if (!y.ok) return y.result;
    const out = y.out;
    const t1 = randomTangents(b.args, rand);
    const cot = isFloatDtype(out.dtype) ? randomLike(out, rand) : ct.zerosLike(out);
    if (c.zeroDerivative) {
      if (law === 'jvp') return zeroDerivative(b.f, b.args, t1, cot, { ...opts, finiteDifferences: c.fdIsZero ?? false });
    }
    switch (law) {
      case 'jvp':
        return jvpMatchesFiniteDifferences(b.f, b.args, t1, opts);
      case 'transpose':
        return transposeLaw(b.f, b.args, t1, cot, opts);
      case 'linearity': {
        const t2 = randomTangents(b.args, rand);
        const c2 = isFloatDtype(out.dtype) ? randomLike(out, rand) : cot;
        const a = Math.round(rand() * 6 - 3) || 1.5;
        const bb = Math.round(rand() * 6 - 3) || -0.5;
        return firstFailure([jvpIsLinear(b.f, b.args, t1, t2, a, bb, opts), vjpIsLinear(b.f, b.args, cot, c2, a, bb, opts)], 'linearity');
      }
      case 'jacobians':
        return firstFailure(
          b.args.map((_, k) => jacfwdEqualsJacrev(b.f, b.args, k, opts)),
          'jacobians',
        );
      case 'second-order': {
        if (!isFloatDtype(out.dtype)) return pass(law);
        const w = randomLike(out, rand);
        const s = scalarise(b.f, w);
        const results: LawResult[] = [];
        b.args.forEach((x, k) => {
          if (x.dtype !== 'f64') return; // second-order finite differences need f64
          results.push(secondOrder(s, b.args, k, randomLike(x, rand), opts));
          results.push(hessianIsSymmetric(s, b.args, k, opts));
        });
        results.push(
          mixedSecondOrder(
            s,
            b.args,
            b.args.map((x) => randomLike(x, rand)),
            opts,
          ),
        );
        return firstFailure(results, law);
      }
      default:
        return pass(law);
    }
  });
}

function guardOut(b: BoundCase): { ok: true; out: ct.Tensor } | { ok: false; result: LawResult } {
  try {
    return { ok: true, out: b.f(...b.args) };
  } catch (e) {
    return {
      ok: false,
      result: {
        ok: false,
        law: 'evaluation',
        suspect: 'kernel',
        message: `evaluating the primitive threw ${(e as Error).name}: ${(e as Error).message}`,
      },
    };
  }
}

/** All laws on one case; the first failure, or a pass. */
export function allPrimitiveLaws(prim: ct.Primitive, c: PrimCase, seed: number, laws: readonly PrimitiveLaw[] = PRIMITIVE_LAWS): LawResult {
  for (const law of laws) {
    const r = primitiveLaw(prim, c, law, seed);
    if (!r.ok) return r;
  }
  return pass('all');
}

export { describeCase };
