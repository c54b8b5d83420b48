/**
 * Mutation testing: deliberately broken copies of a primitive's rules (sign
 * flipped, a factor of 2, one input's tangent or cotangent dropped or
 * negated, a missing or wrong unbroadcast, a wrong axis / permutation /
 * offset, a non-zero derivative where it must be zero, a rule that is right
 * to first order but not differentiable itself), JVP and VJP broken
 * separately. Each mutant is a new record (the registry is untouched), applied
 * with `bind(mutant, ...)` by the laws; `killMutant` runs the laws on it and
 * says whether they caught it.
 */
import fc from 'fast-check';
import * as ct from '../src/index.js';
import type { PrimCase } from './cases.js';
import { allPrimitiveLaws, PRIMITIVE_LAWS, type PrimitiveLaw } from './primitive.js';
import { formatFailure } from './result.js';

type MZ = ct.MaybeZero;
type Jvp = ct.Primitive['jvp'];
type Vjp = ct.Primitive['vjp'];

/** A primitive with one deliberately broken rule (or declared derivative), which the laws must catch. */
export interface Mutant {
  /** e.g. "mul: VJP sign flipped for input 1". */
  readonly name: string;
  /** Which rule is broken ('declaration': a declared derivative, so both rules built from it). */
  readonly rule: 'jvp' | 'vjp' | 'declaration';
  readonly prim: ct.Primitive;
}

/** What the mutation suite needs to know of a primitive to break its rules: arity, differentiable inputs, broadcasting, ... */
export interface MutantInfo {
  /** Number of inputs the primitive takes (the most that its cases use). */
  readonly arity: number;
  /** Inputs that carry a derivative (default all). */
  readonly diffInputs?: readonly number[];
  /** The derivative is zero by design (only "not zero" mutants apply). */
  readonly zeroDerivative?: boolean;
  /** Inputs broadcast against each other (elementwise binary ops, where, matmul batch dims). */
  readonly broadcasting?: boolean;
  /** Some input has a non-zero second derivative of its own (d²f/dxᵢ² ≠ 0): rules must be differentiable. */
  readonly curved?: boolean;
  /** The derivative of one input depends on another (∂²f/∂xᵢ∂xⱼ ≠ 0): mixed partials must survive. */
  readonly mixed?: boolean;
}

const lin = (t: MZ, f: (t: ct.Tensor) => ct.Tensor): MZ => (ct.isZero(t) ? t : f(t));

const withJvp = (p: ct.Primitive, name: string, jvp: Jvp): Mutant => ({ name: `${p.name}: JVP ${name}`, rule: 'jvp', prim: { ...p, jvp } });
const withVjp = (p: ct.Primitive, name: string, vjp: Vjp): Mutant => ({ name: `${p.name}: VJP ${name}`, rule: 'vjp', prim: { ...p, vjp } });

/** Map the k-th cotangent (or all when k is undefined) of the original VJP. */
const mapCt =
  (p: ct.Primitive, f: (c: ct.Tensor, k: number, primals: readonly ct.Tensor[], out: ct.Tensor) => MZ, only?: number): Vjp =>
  (cot, primals, params, out, needed) =>
    p
      .vjp(cot, primals, params, out, needed)
      .map((c, k) => (ct.isZero(c) || (only !== undefined && k !== only) ? c : f(c, k, primals, out)));

/** Call the original JVP with the k-th tangent transformed. */
const mapTangentIn =
  (p: ct.Primitive, k: number, f: (t: MZ) => MZ): Jvp =>
  (primals, tangents, params, out) =>
    p.jvp(
      primals,
      tangents.map((t, i) => (i === k ? f(t) : t)),
      params,
      out,
    );

/** The mutants that apply to every primitive with a derivative. */
function genericMutants(p: ct.Primitive, info: MutantInfo): Mutant[] {
  const ms: Mutant[] = [];
  if (info.zeroDerivative) {
    ms.push(withJvp(p, 'not zero (returns ones)', (_x, ts, _p, out) => (ts.every(ct.isZero) ? ct.Zero : ct.onesLike(out))));
    ms.push(withVjp(p, 'not zero (returns ones)', (_c, xs) => xs.map((x) => (x.dtype === 'i32' ? ct.Zero : ct.onesLike(x)))));
    return ms;
  }
  ms.push(withJvp(p, 'sign flipped', (x, t, pr, out) => lin(p.jvp(x, t, pr, out), ct.neg)));
  ms.push(withJvp(p, 'times 2', (x, t, pr, out) => lin(p.jvp(x, t, pr, out), (v) => ct.mul(v, 2))));
  ms.push(
    withVjp(
      p,
      'sign flipped',
      mapCt(p, (c) => ct.neg(c)),
    ),
  );
  ms.push(
    withVjp(
      p,
      'times 2',
      mapCt(p, (c) => ct.mul(c, 2)),
    ),
  );
  const diff = info.diffInputs ?? Array.from({ length: info.arity }, (_, i) => i);
  if (info.arity > 1) {
    for (const k of diff) {
      ms.push(
        withJvp(
          p,
          `drops the tangent of input ${k}`,
          mapTangentIn(p, k, () => ct.Zero),
        ),
      );
      ms.push(
        withJvp(
          p,
          `sign flipped for input ${k}`,
          mapTangentIn(p, k, (t) => lin(t, ct.neg)),
        ),
      );
      ms.push(
        withVjp(
          p,
          `drops the cotangent of input ${k}`,
          mapCt(p, () => ct.Zero, k),
        ),
      );
      ms.push(
        withVjp(
          p,
          `sign flipped for input ${k}`,
          mapCt(p, (c) => ct.neg(c), k),
        ),
      );
    }
  }
  if (info.broadcasting) {
    for (const k of diff) {
      ms.push(
        withVjp(
          p,
          `missing unbroadcast for input ${k} (cotangent left at the broadcast shape)`,
          mapCt(
            p,
            (c, _k, _xs, out) => ct.broadcastTo(c, p.name === 'matmul' ? [...out.shape.slice(0, -2), ...c.shape.slice(-2)] : out.shape),
            k,
          ),
        ),
      );
      ms.push(
        withVjp(
          p,
          `unbroadcasts input ${k} by mean instead of sum`,
          mapCt(p, (c, _k, _xs, out) => ct.mul(c, c.size / Math.max(1, out.size)), k),
        ),
      );
    }
  }
  return ms;
}

const inversePerm = ct.inversePermutation;

/** Convolution mutants: the padding mirrored (top with bottom, left with right) in the VJP and in the JVP. */
function convMutants(p: ct.Primitive): Mutant[] {
  const mirrored = (q: unknown): unknown => {
    const c = q as ct.ConvParams;
    return {
      ...c,
      pads: [
        [c.pads[0][1], c.pads[0][0]],
        [c.pads[1][1], c.pads[1][0]],
      ],
    };
  };
  return [
    withVjp(p, 'mirrors the padding (top/bottom, left/right swapped)', (c, xs, q, out, needed) => p.vjp(c, xs, mirrored(q), out, needed)),
    withJvp(p, 'mirrors the padding (top/bottom, left/right swapped)', (xs, ts, q, out) => p.jvp(xs, ts, mirrored(q), out)),
  ];
}

/** Mutants specific to one built-in: wrong axis, permutation, offset or branch. */
function specificMutants(p: ct.Primitive): Mutant[] {
  const prims = ct.primitives;
  switch (p.name) {
    case 'transpose':
      return [
        withVjp(p, 'applies perm instead of its inverse (wrong axes)', (c, _x, { perm }: ct.PrimParams['transpose']) => [
          ct.bind(prims.transpose, [c], { perm }),
        ]),
        withJvp(p, 'applies the inverse perm (wrong axes)', (_x, [t], { perm }: ct.PrimParams['transpose']) =>
          lin(t!, (v) => ct.bind(prims.transpose, [v], { perm: inversePerm(perm) })),
        ),
      ];
    case 'sum':
      return [
        withJvp(p, 'sums the wrong axes', ([x], [t], { axes }: ct.PrimParams['sum']) =>
          lin(t!, (v) =>
            ct.bind(prims.sum, [v], { axes: axes.length === x!.ndim ? axes.slice(1) : axes.map((a) => (a + 1) % x!.ndim).sort() }),
          ),
        ),
        withVjp(p, 'broadcasts the cotangent along the wrong axes', (c, [x], { axes }: ct.PrimParams['sum']) => {
          const r = x!.ndim;
          if (r === 0) return [c];
          const kept = x!.shape.map((d, i) => (axes.includes(i) ? 1 : d));
          // rotate the axes of the correctly-shaped cotangent: wrong alignment of the kept axes
          const g = ct.broadcastTo(ct.reshape(c, kept), x!.shape);
          return [ct.reshape(ct.transpose(g), x!.shape)];
        }),
      ];
    case 'max':
      return [
        withVjp(p, 'sends the cotangent to the minimum (wrong element)', (c, [x], { axes }: ct.PrimParams['max']) => {
          const kept = x!.shape.map((d, i) => (axes.includes(i) ? 1 : d));
          const m = ct.cast(ct.equal(x!, ct.min(x!, axes, { keepdims: true })), x!.dtype);
          return [ct.mul(ct.broadcastTo(ct.reshape(c, kept), x!.shape), m)];
        }),
        withJvp(p, 'takes the tangent at the minimum (wrong element)', ([x], [t], { axes }: ct.PrimParams['max']) =>
          lin(t!, (v) => ct.sum(ct.mul(v, ct.cast(ct.equal(x!, ct.min(x!, axes, { keepdims: true })), x!.dtype)), axes)),
        ),
      ];
    case 'slice':
      return [
        withVjp(p, 'pads on the wrong side (lo and hi swapped)', (c, [x], { starts, sizes }: ct.PrimParams['slice']) => [
          ct.pad(
            c,
            x!.shape.map((d, i) => [d - starts[i]! - sizes[i]!, starts[i]!] as [number, number]),
          ),
        ]),
      ];
    case 'pad':
      return [
        withVjp(p, 'slices at the hi offset instead of lo', (c, [x], { hi }: ct.PrimParams['pad']) => [
          ct.bind(prims.slice, [c], { starts: hi, sizes: x!.shape }),
        ]),
      ];
    case 'concat':
      return [
        withVjp(p, 'slices the pieces in reverse order (wrong offsets)', (c, xs, { axis }: ct.PrimParams['concat']) => {
          let off = c.shape[axis]!;
          return xs.map((x) => {
            off -= x.shape[axis]!;
            return ct.bind(prims.slice, [c], { starts: c.shape.map((_, k) => (k === axis ? off : 0)), sizes: x.shape });
          });
        }),
      ];
    case 'reshape':
      return [
        withVjp(p, 'reverses the axes before reshaping back (wrong element order)', (c, [x]) => [ct.reshape(ct.transpose(c), x!.shape)]),
      ];
    case 'broadcastTo':
      return [
        withVjp(p, 'takes the first copy instead of summing the broadcast copies', (c, [x]) => {
          const lead = c.ndim - x!.ndim;
          const first = ct.slice(
            c,
            c.shape.map(() => 0),
            c.shape.map((d, i) => (i < lead || x!.shape[i - lead] === 1 ? 1 : d)),
          );
          return [ct.reshape(first, x!.shape)];
        }),
      ];
    case 'cast':
      return [
        withVjp(p, 'forgets to cast the cotangent back', (c, [x], { dtype }: ct.PrimParams['cast']) => [
          x!.dtype !== 'i32' && dtype !== 'i32' ? c : ct.Zero,
        ]),
      ];
    case 'matmul':
      return [
        withVjp(
          p,
          'uses Bᵀ on the wrong side (transposed cotangent for A)',
          mapCt(p, (c) => ct.matrixTranspose(c), 0),
        ),
        withJvp(p, 'multiplies the tangent of A on the wrong side', ([a, b], [ta, tb], pr, out) =>
          p.jvp([a!, b!], [ct.isZero(ta!) ? ta : ct.matrixTranspose(ta!), tb!], pr, out),
        ),
      ];
    case 'conv2d':
    case 'conv2dInputGrad':
    case 'conv2dFilterGrad':
      return convMutants(p);
    case 'where':
      return [
        withVjp(p, 'routes the cotangent by the wrong branch', (c, [cond, a, b]) => [
          ct.Zero,
          ct.unbroadcast(ct.where(cond!, 0, c), a!.shape),
          ct.unbroadcast(ct.where(cond!, c, 0), b!.shape),
        ]),
        withJvp(p, 'selects the tangents by the wrong branch', ([cond, a, b], [, ta, tb]) =>
          ct.where(cond!, ct.isZero(tb!) ? ct.zerosLike(b!) : tb!, ct.isZero(ta!) ? ct.zerosLike(a!) : ta!),
        ),
      ];
    case 'cumsum':
      return [
        withVjp(p, 'sums the cotangent in the same direction (not the transpose)', (c, _x, q: ct.PrimParams['cumsum']) => [
          ct.bind(prims.cumsum, [c], q),
        ]),
        withJvp(p, 'sums the tangent in the other direction', (_x, [t], q: ct.PrimParams['cumsum']) =>
          lin(t!, (v) => ct.bind(prims.cumsum, [v], { ...q, reverse: !q.reverse })),
        ),
      ];
    case 'maximum':
    case 'minimum':
      return [
        withVjp(p, 'sends the cotangent to the losing argument', (c, [a, b]) => {
          const m = p.name === 'maximum' ? ct.greaterEqual(a!, b!) : ct.lessEqual(a!, b!);
          return [ct.unbroadcast(ct.where(m, 0, c), a!.shape), ct.unbroadcast(ct.where(m, c, 0), b!.shape)];
        }),
      ];
    // indexing mutants
    case 'take':
      return [
        withVjp(p, 'scatters the cotangent to the mirrored positions (wrong index)', (c, [x, idx], q: ct.PrimParams['take']) => [
          ct.bind(prims.scatterAdd, [ct.zerosLike(x!), ct.sub(-1, idx!), c], q),
          ct.Zero,
        ]),
        withJvp(p, 'takes the tangent at the mirrored positions (wrong index)', ([, idx], [t], q: ct.PrimParams['take']) =>
          lin(t!, (v) => ct.bind(prims.take, [v, ct.sub(-1, idx!)], q)),
        ),
      ];
    case 'scatterAdd':
      return [
        withVjp(
          p,
          'takes the cotangent of the updates at the mirrored positions (wrong index)',
          (c, [, idx], q: ct.PrimParams['scatterAdd']) => [c, ct.Zero, ct.bind(prims.take, [c, ct.sub(-1, idx!)], q)],
        ),
      ];
    // end of indexing mutants
    default:
      return [];
  }
}

/**
 * Rules that give the right first derivative but are not differentiable
 * themselves: the primals (and output) reach the rule behind stopGradient, so
 * second derivatives through the rule are lost.
 */
function nonDifferentiableRuleMutants(p: ct.Primitive): Mutant[] {
  const sg = (xs: readonly ct.Tensor[]) => xs.map((x) => ct.stopGradient(x));
  return [
    withJvp(p, 'not differentiable (primals behind stopGradient)', (xs, ts, pr, out) => p.jvp(sg(xs), ts, pr, ct.stopGradient(out))),
    withVjp(p, 'not differentiable (primals behind stopGradient)', (c, xs, pr, out, needed) =>
      p.vjp(c, sg(xs), pr, ct.stopGradient(out), needed),
    ),
  ];
}

/**
 * Rules right to first order whose mixed second derivatives are lost: each
 * input's part of the rule sees the other inputs behind stopGradient.
 */
function mixedPartialMutants(p: ct.Primitive): Mutant[] {
  const others = (xs: readonly ct.Tensor[], i: number) => xs.map((x, j) => (j === i ? x : ct.stopGradient(x)));
  return [
    withJvp(p, 'mixed partials lost (other inputs behind stopGradient)', (xs, ts, pr, out) => {
      let acc: ct.Tensor | typeof ct.Zero = ct.Zero;
      ts.forEach((t, i) => {
        if (t === ct.Zero) return;
        const part = p.jvp(
          others(xs, i),
          ts.map((u, j) => (j === i ? u : ct.Zero)),
          pr,
          out,
        );
        if (part !== ct.Zero) acc = acc === ct.Zero ? part : ct.add(acc, part);
      });
      return acc;
    }),
    withVjp(p, 'mixed partials lost (other inputs behind stopGradient)', (c, xs, pr, out, needed) =>
      xs.map((_, i) =>
        needed[i]
          ? p.vjp(
              c,
              others(xs, i),
              pr,
              out,
              needed.map((_n, j) => j === i),
            )[i]!
          : ct.Zero,
      ),
    ),
  ];
}

/**
 * Mutants of the declaration itself: for a record whose rules were built
 * from declared partial derivatives (`elementwiseRules`), each partial is
 * negated, doubled or dropped and both rules are rebuilt from the broken
 * declaration — the builder must not hide a wrong derivative.
 */
function declarationMutants(p: ct.Primitive): Mutant[] {
  const d = p.declared;
  if (d?.kind !== 'elementwise') return [];
  const scaled =
    (q: ct.PartialDerivative, k: number): ct.PartialDerivative =>
    (xs, y) =>
      typeof q === 'number' ? ct.fullLike(y, q * k) : ct.mul(q(xs, y), k);
  const ms: Mutant[] = [];
  d.partials.forEach((q, i) => {
    if (q === null) return;
    const rebuilt = (name: string, partial: ct.PartialDerivative | null): Mutant => ({
      name: `${p.name}: declared partial ∂/∂x${i} ${name}`,
      rule: 'declaration',
      prim: { ...p, ...ct.elementwiseRules(...d.partials.map((o, j) => (j === i ? partial : o))) },
    });
    ms.push(rebuilt('negated', scaled(q, -1)), rebuilt('doubled', scaled(q, 2)), rebuilt('dropped', null));
  });
  return ms;
}

/** Every mutant of a primitive. */
export function mutantsOf(p: ct.Primitive, info: MutantInfo): Mutant[] {
  return [
    ...genericMutants(p, info),
    ...(info.zeroDerivative ? [] : specificMutants(p)),
    ...(info.curved ? nonDifferentiableRuleMutants(p) : []),
    ...(info.mixed ? mixedPartialMutants(p) : []),
    ...(info.zeroDerivative ? [] : declarationMutants(p)),
  ];
}

const unaryCurved: MutantInfo = { arity: 1, curved: true };
const unaryFlat: MutantInfo = { arity: 1 };
const binaryFlat: MutantInfo = { arity: 2, broadcasting: true };
const comparison: MutantInfo = { arity: 2, zeroDerivative: true };

/**
 * What the mutation generator needs to know about each built-in primitive:
 * a table over every primitive name, so that a new primitive without its
 * entry does not compile.
 */
export const MUTANT_INFO: { readonly [P in ct.PrimName]: MutantInfo } = {
  neg: unaryFlat,
  exp: unaryCurved,
  log: unaryCurved,
  sin: unaryCurved,
  cos: unaryCurved,
  tanh: unaryCurved,
  sigmoid: unaryCurved,
  relu: unaryFlat,
  sqrt: unaryCurved,
  square: unaryCurved,
  abs: unaryFlat,
  reciprocal: unaryCurved,
  sign: { arity: 1, zeroDerivative: true },
  erf: unaryCurved,
  erfc: unaryCurved,
  log1p: unaryCurved,
  expm1: unaryCurved,
  softplus: unaryCurved,
  add: binaryFlat,
  sub: binaryFlat,
  mul: { ...binaryFlat, mixed: true },
  div: { ...binaryFlat, curved: true, mixed: true },
  pow: { ...binaryFlat, curved: true, mixed: true },
  logaddexp: { ...binaryFlat, curved: true, mixed: true },
  maximum: binaryFlat,
  minimum: binaryFlat,
  greater: comparison,
  greaterEqual: comparison,
  less: comparison,
  lessEqual: comparison,
  equal: comparison,
  notEqual: comparison,
  where: { arity: 3, diffInputs: [1, 2], broadcasting: true },
  matmul: { arity: 2, broadcasting: true, mixed: true },
  conv2d: { arity: 2, mixed: true },
  conv2dInputGrad: { arity: 2, mixed: true },
  conv2dFilterGrad: { arity: 2, mixed: true },
  stopGradient: { arity: 1, zeroDerivative: true },
  reshape: unaryFlat,
  broadcastTo: unaryFlat,
  transpose: unaryFlat,
  slice: unaryFlat,
  pad: unaryFlat,
  concat: { arity: 2 },
  cast: unaryFlat,
  sum: unaryFlat,
  max: unaryFlat,
  argmax: { arity: 1, zeroDerivative: true },
  take: { arity: 2, diffInputs: [0] },
  scatterAdd: { arity: 3, diffInputs: [0, 2] },
  cumsum: unaryFlat,
  argsort: { arity: 1, zeroDerivative: true },
};

/** What the mutation generator needs to know about a built-in primitive (its MUTANT_INFO entry). */
export function builtinMutantInfo(name: ct.PrimName): MutantInfo {
  return MUTANT_INFO[name];
}

/** Whether the laws caught (killed) a mutant, with the report of the law that did. */
export interface KillResult {
  readonly mutant: string;
  readonly rule: Mutant['rule'];
  readonly killed: boolean;
  /** The report of the law that caught it. */
  readonly report?: string;
  readonly runs: number;
}

/**
 * Run the laws on a mutant over random cases; it is killed when some law
 * fails on some case (no shrinking: the first failure is enough).
 */
export function killMutant(
  m: Mutant,
  cases: fc.Arbitrary<PrimCase>,
  opts: { numRuns?: number; seed?: number; laws?: readonly PrimitiveLaw[] } = {},
): KillResult {
  let report: string | undefined;
  const laws = opts.laws ?? PRIMITIVE_LAWS;
  const r = fc.check(
    fc.property(cases, fc.integer(), (c, seed) => {
      const res = allPrimitiveLaws(m.prim, c, seed, laws);
      if (!res.ok) report ??= formatFailure(res, m.name);
      return res.ok;
    }),
    { numRuns: opts.numRuns ?? 40, endOnFailure: true, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) },
  );
  return { mutant: m.name, rule: m.rule, killed: r.failed, ...(report ? { report } : {}), runs: r.numRuns };
}
