/**
 * Mutation testing of batching rules: deliberately broken copies of a
 * primitive's `batch` rule, which the vmap laws (laws/vmap.ts) must catch.
 * Each mutant is a new record (the registry is untouched) applied with
 * `bind(mutant, ...)` by the laws; the broken rule re-applies the mutant
 * itself (`self`), as the real rule re-applies the real record.
 *
 * Kinds of mutants:
 * - `wrong out dim`: the rule returns the right values but names the wrong batch axis (the front one when it is
 *   elsewhere, the last one when it is at the front);
 * - `input dims assumed 0`: the rule is told every batched input has its batch axis at the front;
 * - `batch summed`: the batch dimension is dropped (summed over) and the result claimed shared by every example;
 * - `broadcast on the wrong side` / `not padded`: a batched operand of a broadcasting primitive is padded to the
 *   per-example rank on the wrong side, or not at all, so its batch axis meets an example axis;
 * - `params not shifted`: axis parameters are not moved past the new front batch axis.
 *
 * A mutant that cannot change any result of a primitive (e.g. a parameter shift of a primitive without axis
 * parameters, a broadcast mutant of a one-input map) is not generated.
 */
import fc from 'fast-check';
import * as ct from '../src/index.js';
import type { PrimCase } from './cases.js';
import { formatFailure } from './result.js';
import { primitiveVmapLaw, type VmapLawName } from './vmap.js';

type Rule = NonNullable<ct.Primitive['batch']>;
type Out = readonly [ct.Tensor, number | null];

/** The kinds of batching-rule mutants. */
export const BATCH_MUTANT_KINDS = [
  'wrong out dim',
  'input dims assumed 0',
  'batch summed',
  'broadcast on the wrong side',
  'not padded',
  'params not shifted',
] as const;
/** A kind of batching-rule mutant (see BATCH_MUTANT_KINDS). */
export type BatchMutantKind = (typeof BATCH_MUTANT_KINDS)[number];

/** A primitive with a deliberately broken batching rule. */
export interface BatchMutant {
  /** e.g. "sum: params not shifted (reduces the unshifted axes)". */
  readonly name: string;
  readonly kind: BatchMutantKind;
  readonly prim: ct.Primitive;
}

const withBatch = (p: ct.Primitive, kind: BatchMutantKind, detail: string, batch: Rule): BatchMutant => ({
  name: `${p.name}: ${kind} (${detail})`,
  kind,
  prim: { ...p, batch },
});

/** `x` with its batch axis `d` moved to the front. */
function front(x: ct.Tensor, d: number): ct.Tensor {
  if (d === 0) return x;
  return ct.transpose(x, [d, ...x.shape.map((_, i) => i).filter((i) => i !== d)]);
}

const ones = (n: number): number[] => Array.from({ length: Math.max(0, n) }, () => 1);

/** The record's own rule (every built-in has one). */
function ruleOf(p: ct.Primitive): Rule {
  const b = p.batch;
  if (!b) throw new Error(`batch mutants: '${p.name}' has no batching rule`);
  return b.bind(p);
}

/** The generic mutants: wrong out dim, input dims assumed 0, batch summed. */
function genericMutants(p: ct.Primitive): BatchMutant[] {
  const rule = ruleOf(p);
  return [
    withBatch(
      p,
      'wrong out dim',
      'claims the front when the batch is elsewhere, the last axis when it is at the front',
      (xs, dims, pr, n, self) => {
        const [out, d] = rule(xs, dims, pr, n, self);
        if (d === null) return [out, d];
        return [out, d === 0 ? out.ndim - 1 : 0] as Out;
      },
    ),
    withBatch(p, 'input dims assumed 0', 'every batched input treated as batched at the front', (xs, dims, pr, n, self) =>
      rule(
        xs,
        dims.map((d) => (d === null ? null : 0)),
        pr,
        n,
        self,
      ),
    ),
    withBatch(p, 'batch summed', 'the batch dimension dropped by summing over it', (xs, dims, pr, n, self) => {
      const [out, d] = rule(xs, dims, pr, n, self);
      if (d === null) return [out, d];
      return [ct.sum(out, d), null] as Out;
    }),
  ];
}

/** Broadcasting rules whose batched operands are padded on the wrong side (`wrongSide`) or not at all. */
function alignedWrong(wrongSide: boolean): Rule {
  return (xs, dims, params, _n, self) => {
    const rank = Math.max(...xs.map((x, i) => x.ndim - (dims[i] === null ? 0 : 1)));
    const ins = xs.map((x, i) => {
      const d = dims[i];
      if (d === null || d === undefined) return x;
      const f = front(x, d);
      return wrongSide ? ct.reshape(f, [...f.shape, ...ones(rank - (f.ndim - 1))]) : f;
    });
    return [ct.bind(self, ins, params), 0] as Out;
  };
}

const BROADCASTING = new Set<string>([
  'add',
  'sub',
  'mul',
  'div',
  'pow',
  'maximum',
  'minimum',
  'greater',
  'greaterEqual',
  'less',
  'lessEqual',
  'equal',
  'notEqual',
  'where',
  'matmul',
]);

/** The broadcast mutants of broadcasting primitives (binary maps, comparisons, where, matmul, broadcastTo). */
function broadcastMutants(p: ct.Primitive): BatchMutant[] {
  if (p.name === 'broadcastTo') {
    const rule =
      (wrongSide: boolean): Rule =>
      (xs, dims, params, n) => {
        const { shape } = params as ct.PrimParams['broadcastTo'];
        const x = front(xs[0]!, dims[0]!);
        const per = x.ndim - 1;
        const padded = wrongSide ? ct.reshape(x, [...x.shape, ...ones(shape.length - per)]) : x;
        return [ct.broadcastTo(padded, [n, ...shape]), 0] as Out;
      };
    return [
      withBatch(p, 'broadcast on the wrong side', 'the example padded with 1s after its axes', rule(true)),
      withBatch(p, 'not padded', 'the batched input broadcast as it is', rule(false)),
    ];
  }
  if (!BROADCASTING.has(p.name)) return [];
  return [
    withBatch(p, 'broadcast on the wrong side', 'batched operands padded with 1s after their axes', alignedWrong(true)),
    withBatch(p, 'not padded', 'batched operands of lower rank not padded', alignedWrong(false)),
  ];
}

/** A one-input rule: the input's batch axis to the front, the primitive re-applied with `params` (claims axis 0). */
const frontWith =
  (params: (p: never, x: ct.Tensor, n: number) => unknown): Rule =>
  (xs, dims, p, n, self) => {
    const x = front(xs[0]!, dims[0]!);
    return [ct.bind(self, [x], params(p as never, x, n)), 0] as Out;
  };

/** Mutants whose axis parameters are not moved past the front batch axis. */
function paramMutants(p: ct.Primitive): BatchMutant[] {
  const m = (detail: string, rule: Rule) => [withBatch(p, 'params not shifted', detail, rule)];
  switch (p.name) {
    case 'sum':
    case 'max':
      return m(
        'reduces the unshifted axes',
        frontWith((q: ct.PrimParams['sum']) => q),
      );
    case 'argmax':
      return m(
        'the unshifted axis',
        frontWith((q: ct.PrimParams['argmax']) => q),
      );
    case 'cumsum':
    case 'argsort':
      return m(
        'scans the unshifted axis',
        frontWith((q: ct.PrimParams['cumsum' | 'argsort']) => q),
      );
    case 'transpose':
      return m(
        'the permutation applied to the front-batched input unshifted',
        frontWith((q: ct.PrimParams['transpose'], x) => ({ perm: [...q.perm, x.ndim - 1] })),
      );
    case 'slice':
      return m(
        'starts and sizes unshifted (the batch axis takes the first window)',
        frontWith((q: ct.PrimParams['slice'], x) => ({ starts: [...q.starts, 0], sizes: [...q.sizes, x.shape[x.ndim - 1]!] })),
      );
    case 'pad':
      return m(
        'the padding unshifted (the batch axis padded)',
        frontWith((q: ct.PrimParams['pad']) => ({ lo: [...q.lo, 0], hi: [...q.hi, 0] })),
      );
    case 'reshape':
      return m(
        'the batch appended to the shape instead of prefixed',
        frontWith((q: ct.PrimParams['reshape'], _x, n) => ({ shape: [...q.shape, n] })),
      );
    case 'conv2d':
      return m('groups not multiplied by the batch when input and filters are both batched', (xs, dims, q, n, self) => {
        if (dims[0] === null || dims[1] === null) return ruleOf(p)(xs, dims, q, n, self);
        const x = front(xs[0]!, dims[0]!);
        const w = front(xs[1]!, dims[1]!);
        const [b, bn, h, wd, c] = x.shape as [number, number, number, number, number];
        const [, kh, kw, cg, co] = w.shape as [number, number, number, number, number];
        const xf = ct.reshape(ct.transpose(x, [1, 2, 3, 0, 4]), [bn, h, wd, b * c]);
        const wf = ct.reshape(ct.transpose(w, [1, 2, 3, 0, 4]), [kh, kw, cg, b * co]);
        const y = ct.bind(self, [xf, wf], q);
        const [, ho, wo] = y.shape as [number, number, number, number];
        return [ct.transpose(ct.reshape(y, [bn, ho, wo, b, co]), [3, 0, 1, 2, 4]), 0] as Out;
      });
    case 'concat':
      return m('concatenates along the unshifted axis', (xs, dims, q, n, self) => {
        const ins = xs.map((x, i) => {
          const d = dims[i];
          return d === null || d === undefined ? ct.broadcastTo(ct.reshape(x, [1, ...x.shape]), [n, ...x.shape]) : front(x, d);
        });
        return [ct.bind(self, ins, q), 0] as Out;
      });
    case 'take':
      return m('indexes the unshifted axis of a batched x (shared indices)', (xs, dims, q, n, self) => {
        if (dims[1] !== null) return ruleOf(p)(xs, dims, q, n, self);
        return [ct.bind(self, [front(xs[0]!, dims[0]!), xs[1]!], q), 0] as Out;
      });
    case 'scatterAdd':
      return m('scatters along the unshifted axis (shared indices)', (xs, dims, q, n, self) => {
        if (dims[1] !== null) return ruleOf(p)(xs, dims, q, n, self);
        const at = (x: ct.Tensor, d: number | null | undefined) =>
          d === null || d === undefined ? ct.broadcastTo(ct.reshape(x, [1, ...x.shape]), [n, ...x.shape]) : front(x, d);
        return [ct.bind(self, [at(xs[0]!, dims[0]), xs[1]!, at(xs[2]!, dims[2])], q), 0] as Out;
      });
    default:
      return [];
  }
}

/** Every batching-rule mutant of a primitive. */
export function batchMutantsOf(p: ct.Primitive): BatchMutant[] {
  return [...genericMutants(p), ...broadcastMutants(p), ...paramMutants(p)];
}

/** Whether the vmap laws caught a batching-rule mutant, with the report of the law that did. */
export interface BatchKillResult {
  readonly mutant: string;
  readonly kind: BatchMutantKind;
  readonly killed: boolean;
  readonly report?: string;
  readonly runs: number;
}

/** The vmap laws that can see a primitive's own batching rule (jit evaluates registered records, jacobians batch other primitives). */
export const BATCH_MUTANT_LAWS: readonly VmapLawName[] = ['vmap', 'nested', 'grad', 'jvp', 'grad-of-sum'];

/** Run the vmap laws on a mutant over random cases; it is killed when some law fails on some case. */
export function killBatchMutant(
  m: BatchMutant,
  cases: fc.Arbitrary<PrimCase>,
  opts: { numRuns?: number; seed?: number; laws?: readonly VmapLawName[] } = {},
): BatchKillResult {
  let report: string | undefined;
  const laws = opts.laws ?? BATCH_MUTANT_LAWS;
  const r = fc.check(
    fc.property(cases, fc.integer(), (c, seed) => {
      const res = primitiveVmapLaw(m.prim, c, seed, { laws });
      if (!res.ok) report ??= formatFailure(res, m.name);
      return res.ok;
    }),
    { numRuns: opts.numRuns ?? 40, endOnFailure: true, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) },
  );
  return { mutant: m.name, kind: m.kind, killed: r.failed, ...(report ? { report } : {}), runs: r.numRuns };
}
