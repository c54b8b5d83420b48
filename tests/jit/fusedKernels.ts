/**
 * Random fused kernels (src/backends/fused.ts) for the tests of every
 * backend's fused code against the reference (runFusedEagerly: the same
 * nodes one primitive at a time), and random input data for them.
 */
import fc from 'fast-check';
import type { FusedKernel, FusedNode } from '../../src/backends/fused.js';
import { lookupPrimitive } from '../../src/ops/primitives.js';
import type { Aval } from '../../src/tensor/Aval.js';
import type { DType, TypedArray } from '../../src/tensor/dtype.js';
import { sizeOf } from '../../src/tensor/shape.js';

/** The fusible primitives by arity, and which of them take i32 operands. */
export const FLOAT_UNARY = ['neg', 'exp', 'log', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'sqrt', 'square', 'abs', 'reciprocal', 'sign'];
export const INT_UNARY = ['neg', 'relu', 'square', 'abs', 'sign'];
export const FLOAT_BINARY = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum'];
export const INT_BINARY = ['add', 'sub', 'mul', 'maximum', 'minimum'];
export const COMPARISONS = ['greater', 'greaterEqual', 'less', 'lessEqual', 'equal', 'notEqual'];

/** An op node of a built-in fusible primitive. */
export function opNode(op: string, args: readonly number[], dtype: DType): FusedNode {
  const spec = lookupPrimitive(op)?.fusion;
  if (!spec) throw new Error(`${op} is not fusible`);
  return { kind: 'op', op, spec, args, dtype };
}

/** A shape that broadcasts to `shape`: some leading dims dropped, some dims set to 1. */
const broadcastable = (shape: readonly number[]) =>
  fc
    .tuple(fc.integer({ min: 0, max: shape.length }), fc.array(fc.boolean(), { minLength: shape.length, maxLength: shape.length }))
    .map(([drop, ones]) => shape.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d)));

/** Options of {@link arbFusedKernel}. */
export interface ArbOptions {
  readonly dtype?: DType;
  readonly maxRank?: number;
  readonly maxDim?: number;
  readonly maxNodes?: number;
}

/** A random fused kernel over f32 (or i32) values: 1-3 inputs, up to `maxNodes` ops, 1-2 outputs. */
export function arbFusedKernel(opts: ArbOptions = {}): fc.Arbitrary<FusedKernel> {
  const dtype = opts.dtype ?? 'f32';
  const unary = dtype === 'i32' ? INT_UNARY : FLOAT_UNARY;
  const binary = [...(dtype === 'i32' ? INT_BINARY : FLOAT_BINARY), ...COMPARISONS];
  return fc
    .array(fc.integer({ min: 1, max: opts.maxDim ?? 5 }), { minLength: 0, maxLength: opts.maxRank ?? 3 })
    .chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        inputShapes: fc.array(broadcastable(shape), { minLength: 1, maxLength: 3 }),
        ops: fc.array(
          fc.record({
            kind: fc.constantFrom('unary', 'binary', 'binary', 'where', 'literal'),
            unary: fc.constantFrom(...unary),
            binary: fc.constantFrom(...binary),
            picks: fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
            value: fc.constantFrom(0, 1, -1, 0.5, 2, 3),
          }),
          { minLength: 1, maxLength: opts.maxNodes ?? 8 },
        ),
        extraOut: fc.option(fc.nat()),
      }),
    )
    .map(({ shape, inputShapes, ops, extraOut }) => {
      const inputs: Aval[] = inputShapes.map((s) => ({ shape: s, dtype }));
      const nodes: FusedNode[] = inputs.map((_, i) => ({ kind: 'input', input: i, dtype }));
      for (const o of ops) {
        const [p, q, r] = o.picks.map((k) => k % nodes.length) as [number, number, number];
        if (o.kind === 'literal') nodes.push({ kind: 'literal', value: dtype === 'i32' ? Math.trunc(o.value) : o.value, dtype });
        else if (o.kind === 'unary') nodes.push(opNode(o.unary, [p], dtype));
        else if (o.kind === 'binary') nodes.push(opNode(o.binary, [p, q], dtype));
        else nodes.push(opNode('where', [p, q, r], dtype));
      }
      const last = nodes.length - 1;
      const outputs = extraOut === null || extraOut % nodes.length === last ? [last] : [last, extraOut % nodes.length];
      return { shape, inputs, nodes, outputs };
    });
}

/** Random data for each input of a kernel: small integers for i32, values in [-3, 3] with a few specials for f32. */
export function arbInputs(k: FusedKernel): fc.Arbitrary<TypedArray[]> {
  return fc.tuple(
    ...k.inputs.map((a) => {
      const n = sizeOf(a.shape);
      if (a.dtype === 'i32')
        return fc.array(fc.integer({ min: -9, max: 9 }), { minLength: n, maxLength: n }).map((v) => Int32Array.from(v));
      const v = fc.oneof(
        { weight: 20, arbitrary: fc.double({ min: -3, max: 3, noNaN: true }) },
        { weight: 1, arbitrary: fc.constantFrom(0, -0, 1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY) },
      );
      return fc.array(v, { minLength: n, maxLength: n }).map((xs) => Float32Array.from(xs));
    }),
  );
}

/** Same values bit for bit, except that every NaN equals every NaN; `tol` relative tolerance for finite floats. */
export function sameValues(a: TypedArray, b: TypedArray, tol = 0): string | null {
  if (a.length !== b.length) return `lengths ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    if (tol > 0 && Number.isFinite(x) && Number.isFinite(y) && Math.abs(x - y) <= tol * Math.max(1, Math.abs(x), Math.abs(y))) continue;
    return `element ${i}: ${x} vs ${y}`;
  }
  return null;
}
