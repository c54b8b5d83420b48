/**
 * Combinators: build layers from layers. `serial` composes (splitting the
 * PRNG key across its layers), `parallel` applies one layer per input,
 * `fanOut(n)` copies its input n times, `fanInSum` / `fanInConcat` merge
 * several inputs, `residual(f)` is x + f(x), `identity` does nothing, and
 * `lambda(name, f)` wraps any differentiable function as a parameter-free
 * layer.
 *
 * Type-level shape checking: `serial` checks that every layer's `Out` fits the
 * next layer's `In` (literal dimensions and ranks); a mismatch makes the call
 * a compile-time error whose message names the layer's position. Run-time
 * `init` checks every shape and names the position and both shapes.
 */
import type { Tensor } from '../tensor/Tensor.js';
import { fmt } from '../tensor/shape.js';
import { ShapeError } from '../tensor/ShapeError.js';
import { add } from '../ops/elementwise.js';
import { concat } from '../ops/structural.js';
import { split } from './random.js';
import {
  isMultiShape,
  makeLayer,
  noParams,
  type AnyLayer,
  type ApplyContext,
  type Arity,
  type InitResult,
  type InOf,
  type Layer,
  type NoParams,
  type OutOf,
  type ParamsOf,
  type RShape,
  type Same,
  type ShapeT,
  type Value,
} from './layer.js';

/** A run-time layer shape as text, e.g. `[-1,8]` or `([-1,8], [-1,4])` for several inputs. */
export const fmtShape = (s: RShape): string => (isMultiShape(s) ? `(${s.map(fmtShape).join(', ')})` : fmt(s as readonly number[]));

/** Wrap an error thrown by layer `i` so it names the position (nested positions chain). */
function atPosition(where: string, i: number, l: AnyLayer, shape: RShape, e: unknown): never {
  const msg = e instanceof Error ? e.message : String(e);
  throw new ShapeError(where, `layer ${i} (${l.name}) with input ${fmtShape(shape)}: ${msg}`);
}

// ---- type-level chain checking ----

/** One shape fits an input: `Same` fits anything, a shape of unknown rank (ShapeT) fits anything. */
type FitsOne<C, I> = I extends Same ? true : C extends Same ? true : [C] extends [I] ? true : readonly number[] extends C ? true : false;
type FitsAll<C, I> = C extends readonly [infer c, ...infer cr]
  ? I extends readonly [infer i, ...infer ir]
    ? FitsOne<c, i> extends true
      ? FitsAll<cr, ir>
      : false
    : true
  : true;
type Fits<C, I> = C extends readonly (readonly number[])[]
  ? I extends readonly (readonly number[])[]
    ? FitsAll<C, I>
    : FitsOne<C, I>
  : FitsOne<C, I>;
type After<Cur, L> = InOf<L> extends Same ? (OutOf<L> extends Same ? Cur : OutOf<L>) : OutOf<L>;

/** `unknown` when the chain fits, otherwise an object type describing the first mismatch. */
export type CheckChain<Ls, Cur = Same, Pos extends unknown[] = []> = Ls extends readonly [infer L, ...infer R]
  ? Fits<Cur, InOf<L>> extends true
    ? CheckChain<R, After<Cur, L>, [...Pos, 0]>
    : {
        readonly shapeMismatch: `serial: layer ${Pos['length']} does not accept the previous layer's output`;
        readonly got: Cur;
        readonly expects: InOf<L>;
      }
  : unknown;

type FirstIn<Ls> = Ls extends readonly [infer L, ...infer R] ? (InOf<L> extends Same ? FirstIn<R> : InOf<L>) : Same;
type FinalOut<Ls, Cur = Same> = Ls extends readonly [infer L, ...infer R] ? FinalOut<R, After<Cur, L>> : Cur;

/** The parameter tree of a serial composition: a tuple of the layers' parameters. */
export type SerialParams<Ls extends readonly AnyLayer[]> = { readonly [K in keyof Ls]: ParamsOf<Ls[K]> };
/** The layer type of `serial(...layers)`: the first declared input, the last output and the tuple of parameters. */
export type Serial<Ls extends readonly AnyLayer[]> = Layer<
  FirstIn<Ls> extends Same ? Same : FirstIn<Ls>,
  FinalOut<Ls> extends Same ? (FirstIn<Ls> extends Same ? Same : ShapeT) : FinalOut<Ls>,
  SerialParams<Ls>
>;

/**
 * Compose layers left to right; `init` splits the key across the layers, so does `apply` for ctx.key.
 * A layer whose input does not fit the previous output is a compile error (where the types know the shapes)
 * and an error of `init` naming its position.
 *
 * @example
 * ```ts
 * const model = nn.serial(nn.dense(256), nn.relu, nn.dense(10));
 * const { params } = model.init(nn.random.key(0), [-1, 64]); // params: readonly [DenseParams, {}, DenseParams]
 * const logits = model.apply(params, x); // [batch, 64] → [batch, 10]
 * ```
 */
export function serial<const Ls extends readonly AnyLayer[]>(...layers: Ls & CheckChain<Ls>): Serial<Ls> {
  const ls = layers as readonly AnyLayer[];
  return makeLayer<InOf<Serial<Ls>>, OutOf<Serial<Ls>>, SerialParams<Ls>>({
    name: `serial(${ls.map((l) => l.name).join(', ')})`,
    spec: { type: 'serial', layers: ls.map((l) => l.spec) },
    init: (key, inputShape) => {
      const keys = split(key, ls.length);
      let shape = inputShape;
      const params = ls.map((l, i) => {
        try {
          const r = l.init(keys[i]!, shape);
          shape = r.outputShape;
          return r.params;
        } catch (e) {
          return atPosition('serial', i, l, shape, e);
        }
      });
      return { params: params as unknown as SerialParams<Ls>, outputShape: shape };
    },
    apply: (params, x, ctx) => {
      const ps = params as readonly unknown[];
      const keys = ctx?.key ? split(ctx.key, ls.length) : undefined;
      let v: Value = x as Value;
      ls.forEach((l, i) => {
        v = l.apply(ps[i], v as never, keys ? { ...ctx, key: keys[i] } : ctx);
      });
      return v as never;
    },
  }) as Serial<Ls>;
}

/** The identity layer. */
export const identity: Layer<Same, Same, NoParams> = makeLayer<Same, Same, NoParams>({
  name: 'identity',
  spec: { type: 'identity' },
  init: (_k, s) => ({ params: noParams, outputShape: s }),
  apply: (_p, x) => x,
});

type InsOf<Ls extends readonly AnyLayer[]> = { readonly [K in keyof Ls]: InOf<Ls[K]> extends ShapeT ? InOf<Ls[K]> : ShapeT };
type OutsOf<Ls extends readonly AnyLayer[]> = { readonly [K in keyof Ls]: OutOf<Ls[K]> extends ShapeT ? OutOf<Ls[K]> : ShapeT };

/**
 * Apply layer i to input i (the input is an array of as many tensors as layers).
 *
 * @example
 * ```ts
 * // two branches on copies of the input, summed: x ↦ dense(x) + dense(x)
 * const block = nn.serial(nn.fanOut(2), nn.parallel(nn.dense(8), nn.dense(8)), nn.fanInSum);
 * ```
 */
export function parallel<const Ls extends readonly AnyLayer[]>(...layers: Ls): Layer<InsOf<Ls>, OutsOf<Ls>, SerialParams<Ls>> {
  return makeLayer<InsOf<Ls>, OutsOf<Ls>, SerialParams<Ls>>({
    name: `parallel(${layers.map((l) => l.name).join(', ')})`,
    spec: { type: 'parallel', layers: layers.map((l) => l.spec) },
    init: (key, inputShape) => {
      if (!isMultiShape(inputShape) || inputShape.length !== layers.length) {
        throw new ShapeError('parallel', `expects ${layers.length} inputs, got ${fmtShape(inputShape)}`);
      }
      const keys = split(key, layers.length);
      const rs = layers.map((l, i) => {
        try {
          return l.init(keys[i]!, inputShape[i]!);
        } catch (e) {
          return atPosition('parallel', i, l, inputShape[i]!, e);
        }
      });
      return { params: rs.map((r) => r.params) as unknown as SerialParams<Ls>, outputShape: rs.map((r) => r.outputShape) };
    },
    apply: (params, x, ctx) => {
      const xs = x as readonly Value[];
      if (!Array.isArray(xs) || xs.length !== layers.length)
        throw new ShapeError('parallel', `expects an array of ${layers.length} inputs`);
      const keys = ctx?.key ? split(ctx.key, layers.length) : undefined;
      return layers.map((l, i) => l.apply((params as readonly unknown[])[i], xs[i], keys ? { ...ctx, key: keys[i] } : ctx)) as never;
    },
  });
}

type Repeat<N extends number, T, Acc extends unknown[] = []> = number extends N
  ? T[]
  : Acc['length'] extends N
    ? Acc
    : Repeat<N, T, [...Acc, T]>;

/**
 * Copy the input n times (a list of n tensors).
 *
 * @example
 * ```ts
 * const twoHeads = nn.serial(nn.fanOut(2), nn.parallel(nn.dense(4), nn.dense(4)), nn.fanInConcat); // [..., 8]
 * ```
 */
export function fanOut<const N extends number>(n: N): Layer<ShapeT, Repeat<N, ShapeT>, NoParams> {
  if (!Number.isInteger(n) || n < 1) throw new ShapeError('fanOut', `n must be a positive integer, got ${n}`);
  return makeLayer<ShapeT, Repeat<N, ShapeT>, NoParams>({
    name: `fanOut(${n})`,
    spec: { type: 'fanOut', n },
    init: (_k, s) => {
      if (isMultiShape(s)) throw new ShapeError('fanOut', `expects one input, got ${fmtShape(s)}`);
      return { params: noParams, outputShape: Array.from({ length: n }, () => s) };
    },
    apply: (_p, x) => Array.from({ length: n }, () => x) as never,
  });
}

function mergeInputs(op: string, s: RShape): readonly (readonly number[])[] {
  if (!isMultiShape(s) || s.length === 0) throw new ShapeError(op, `expects several inputs, got ${fmtShape(s)}`);
  for (const e of s) if (isMultiShape(e)) throw new ShapeError(op, `inputs must be single tensors, got ${fmtShape(s)}`);
  return s as readonly (readonly number[])[];
}

const dimsMatch = (a: number, b: number): boolean => a === b || a === -1 || b === -1;

/**
 * Sum several inputs of the same shape.
 *
 * @example
 * ```ts
 * const block = nn.serial(nn.fanOut(2), nn.parallel(nn.dense(8), nn.identity), nn.fanInSum); // dense(x) + x
 * ```
 */
export const fanInSum: Layer<readonly ShapeT[], ShapeT, NoParams> = makeLayer<readonly ShapeT[], ShapeT, NoParams>({
  name: 'fanInSum',
  spec: { type: 'fanInSum' },
  init: (_k, s) => {
    const ss = mergeInputs('fanInSum', s);
    for (const e of ss) {
      if (e.length !== ss[0]!.length || e.some((d, i) => !dimsMatch(d, ss[0]![i]!)))
        throw new ShapeError('fanInSum', `input shapes differ: ${fmtShape(s)}`);
    }
    return { params: noParams, outputShape: ss[0]! };
  },
  apply: (_p, xs) => (xs as Tensor[]).reduce((a, b) => add(a, b)),
});

/**
 * Concatenate several inputs along their last axis.
 *
 * @example
 * ```ts
 * const wide = nn.serial(nn.fanOut(2), nn.parallel(nn.dense(3), nn.dense(5)), nn.fanInConcat); // [..., 8]
 * ```
 */
export const fanInConcat: Layer<readonly ShapeT[], ShapeT, NoParams> = makeLayer<readonly ShapeT[], ShapeT, NoParams>({
  name: 'fanInConcat',
  spec: { type: 'fanInConcat' },
  init: (_k, s) => {
    const ss = mergeInputs('fanInConcat', s);
    const r = ss[0]!.length;
    for (const e of ss) {
      if (e.length !== r || r === 0 || e.slice(0, -1).some((d, i) => !dimsMatch(d, ss[0]![i]!))) {
        throw new ShapeError('fanInConcat', `input shapes differ outside the last axis: ${fmtShape(s)}`);
      }
    }
    return { params: noParams, outputShape: [...ss[0]!.slice(0, -1), ss.reduce((a, e) => a + e[r - 1]!, 0)] };
  },
  apply: (_p, xs) => concat(xs as Tensor[], -1),
});

/**
 * x + f(x); f must keep the shape of its input.
 *
 * @example
 * ```ts
 * const block = nn.residual(nn.serial(nn.dense(64), nn.relu, nn.dense(64))); // on inputs [..., 64]
 * ```
 */
export function residual<L extends AnyLayer>(f: L): Layer<Same, Same, ParamsOf<L>> {
  return makeLayer<Same, Same, ParamsOf<L>>({
    name: `residual(${f.name})`,
    spec: { type: 'residual', layer: f.spec },
    init: (key, s) => {
      let r: InitResult<ParamsOf<L>>;
      try {
        r = f.init(key, s);
      } catch (e) {
        return atPosition('residual', 0, f, s, e);
      }
      if (fmtShape(r.outputShape) !== fmtShape(s))
        throw new ShapeError('residual', `the branch ${f.name} maps ${fmtShape(s)} to ${fmtShape(r.outputShape)}; it must keep the shape`);
      return { params: r.params as ParamsOf<L>, outputShape: s };
    },
    apply: (p, x, ctx) => add(x, f.apply(p, x, ctx) as Tensor),
  });
}

/**
 * Wrap a differentiable, shape-preserving function as a parameter-free layer.
 * Give `outputShape` when the function changes the shape.
 *
 * @example
 * ```ts
 * const square = nn.lambda('square', (x) => ct.mul(x, x));
 * const meanLast = nn.lambda('meanLast', (x) => ct.mean(x, -1), (s) => s.slice(0, -1));
 * ```
 */
export function lambda(
  name: string,
  f: (x: Tensor, ctx?: ApplyContext) => Tensor,
  outputShape?: (s: readonly number[]) => readonly number[],
): Layer<Same, Same, NoParams> {
  return makeLayer<Same, Same, NoParams>({
    name,
    spec: { type: 'lambda', name },
    init: (_k, s) => {
      if (isMultiShape(s)) throw new ShapeError(name, `expects one input, got ${fmtShape(s)}`);
      return { params: noParams, outputShape: outputShape ? outputShape(s as readonly number[]) : s };
    },
    apply: (_p, x, ctx) => f(x, ctx),
  });
}

export type { Arity };
