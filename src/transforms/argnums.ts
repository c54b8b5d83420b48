/**
 * The rules every transformation applies to the arguments it differentiates:
 * which arguments (`argnums`: one index, or an array of distinct indices) and
 * of which dtype (float only). The type-level half (`ArgnumsOf`, `GradsOf`,
 * `JacobianOf`, ...) gives each transformation its precise result type.
 */
import { flatten, type Leaf } from '../core/pytree.js';
import { isFloat } from '../tensor/dtype.js';
import { ValueError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';

/** Which argument(s) a transformation differentiates: one index, or an array of distinct indices. */
export type Argnums = number | readonly number[];

/**
 * The functions transformations accept. The parameters are `any[]` on purpose:
 * it is the widest parameter list a function type can be assigned to, and it
 * leaves un-annotated parameters (`grad((x) => ...)`) typed `any` rather than
 * `never`. Every transformation result is typed from the function's own
 * parameters (`Parameters<F>`), so no `any` reaches a result.
 */
// the widest parameter list; un-annotated parameters stay `any` instead of `never`, and results are typed from Parameters<F>
// biome-ignore lint/suspicious/noExplicitAny: see above
export type Fn = (...args: any[]) => unknown;

/**
 * The tree `T` with every leaf a tensor: the type of a gradient, tangent or
 * Jacobian block of a value of type `T` (number leaves become tensors, other
 * values are carried along unchanged).
 */
export type TensorTree<T> = T extends Tensor | number ? Tensor : T extends object ? { -readonly [K in keyof T]: TensorTree<T[K]> } : T;

/** What may be passed where a tree of type `T` is expected as a tangent or cotangent: a tensor or a number at each leaf. */
export type TangentOf<T> = T extends Tensor | number
  ? Tensor | number
  : T extends object
    ? { readonly [K in keyof T]: TangentOf<T[K]> }
    : T;

/** The `argnums` of an options type: its literal value, or 0 when absent. */
export type ArgnumsOf<O> = O extends { readonly argnums: infer A }
  ? A
  : 'argnums' extends keyof O
    ? NonNullable<O['argnums' & keyof O]> | 0
    : 0;

/** The type of argument `K` of the parameter list `Args`. */
type ArgAt<Args extends readonly unknown[], K> = K extends keyof Args ? Args[K] : never;

/**
 * The gradient(s) of the arguments `A` of a function with parameters `Args`:
 * one index → that argument's tree of tensors; an array of indices → a tuple
 * with one tree per index.
 */
export type GradsOf<Args extends readonly unknown[], A> = A extends readonly number[]
  ? { -readonly [J in keyof A]: TensorTree<ArgAt<Args, A[J]>> }
  : TensorTree<ArgAt<Args, A>>;

/**
 * The Jacobian of an output of type `Out` with respect to an input whose
 * gradient type is `In`: the output's tree with every leaf replaced by the
 * input's tree of blocks (each of shape output-leaf.shape ++ input-leaf.shape).
 */
export type JacobianOf<Out, In> = Out extends Tensor | number
  ? In
  : Out extends object
    ? { -readonly [K in keyof Out]: JacobianOf<Out[K], In> }
    : Out;

/** An index literal that is not a position of the fixed-length parameter list `Args`. */
type OutOfRange<Args extends readonly unknown[], K> = K extends number
  ? number extends K
    ? never
    : number extends Args['length']
      ? never
      : `${K}` extends keyof Args
        ? never
        : K
  : never;

/**
 * `unknown` when every index in the argnums of `O` is a position of `Args`,
 * otherwise a type no options object satisfies (a compile error at the call).
 */
export type CheckArgnums<Args extends readonly unknown[], O> = [
  OutOfRange<Args, ArgnumsOf<O> extends readonly (infer K)[] ? K : ArgnumsOf<O>>,
] extends [never]
  ? unknown
  : { readonly argnums: never };

const show = (a: unknown): string =>
  Array.isArray(a) ? `[${a.map(show).join(', ')}]` : typeof a === 'string' ? JSON.stringify(a) : String(a);

/** The argnums of a transformation, checked where the function is transformed (each an integer, none repeated). */
export interface ResolvedArgnums {
  /** The differentiated argument indices, in the order given. */
  readonly list: readonly number[];
  /** Whether argnums was an array (results are then arrays, one entry per index). */
  readonly many: boolean;
}

/**
 * Check `argnums` (default 0): a non-negative integer or an array of distinct
 * ones; errors name the transformation `op`.
 */
export function resolveArgnums(op: string, argnums: unknown): ResolvedArgnums {
  const many = Array.isArray(argnums);
  const list: unknown[] = many ? [...(argnums as unknown[])] : [argnums ?? 0];
  for (const k of list) {
    if (typeof k !== 'number' || !Number.isInteger(k)) {
      throw new ValueError(op, `argnums must be an integer or an array of integers, got ${show(argnums)}`);
    }
    if (k < 0) throw new ValueError(op, `argnums ${k} is negative; argument indices start at 0`);
  }
  const seen = new Set<number>();
  for (const k of list as number[]) {
    if (seen.has(k)) throw new ValueError(op, `argnums ${show(argnums)} repeats argument ${k}; each argument can be differentiated once`);
    seen.add(k);
  }
  return { list: list as number[], many };
}

/** Check that every index in `argnums` is below the number of arguments actually passed. */
export function checkInRange(op: string, argnums: ResolvedArgnums, count: number): void {
  for (const k of argnums.list) {
    if (k >= count) throw new ValueError(op, `argnums ${k} is out of range for ${count} argument(s)`);
  }
}

/**
 * Check that the differentiated argument `index` has only float leaves
 * (`leaves` as flattened, numbers count as f32): integer inputs have no
 * tangent space, so differentiating one is an error, as in JAX.
 */
export function checkFloatLeaves(op: string, index: number, leaves: readonly Leaf[]): void {
  leaves.forEach((l, j) => {
    if (typeof l === 'number' || isFloat(l.dtype)) return;
    const where = leaves.length === 1 ? `argument ${index}` : `argument ${index} (leaf ${j} of its tree)`;
    throw new ValueError(
      op,
      `${where} has dtype ${l.dtype}; only float (f32, f64) arguments can be differentiated — pass integer values as arguments ` +
        'outside argnums',
    );
  });
}

/** `checkFloatLeaves` for a whole argument tree. */
export function checkFloatArgument(op: string, index: number, arg: unknown): void {
  checkFloatLeaves(op, index, flatten(arg).leaves);
}
