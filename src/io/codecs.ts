/**
 * io-ts codecs for everything cotangent reads back: the safetensors header
 * entries, the checkpoint metadata (architecture, input shape, optimiser),
 * and JSON carried inside metadata strings. `formatErrors` turns io-ts
 * validation errors into one readable line per problem.
 */
import * as t from 'io-ts';
import type { LayerSpec } from '../nn/layer.js';
import { checkSpec } from '../nn/spec.js';

/** The brand of {@link NonNegInt}. */
export interface NonNegIntBrand {
  readonly NonNegInt: unique symbol;
}
/** A non-negative integer. */
export const NonNegInt = t.brand(t.number, (n): n is t.Branded<number, NonNegIntBrand> => Number.isInteger(n) && n >= 0, 'NonNegInt');

/** The safetensors dtypes cotangent reads and writes: F32, F64, I32. */
export const SafetensorsDType = t.keyof({ F32: null, F64: null, I32: null });
export type SafetensorsDType = t.TypeOf<typeof SafetensorsDType>;

/** A tensor entry of a safetensors header: dtype, shape and byte offsets (no other field). */
export const TensorEntry = t.strict({
  dtype: SafetensorsDType,
  shape: t.array(NonNegInt),
  data_offsets: t.tuple([NonNegInt, NonNegInt]),
});
export type TensorEntry = t.TypeOf<typeof TensorEntry>;

/** A record of strings (the safetensors `__metadata__`). */
export const StringMap = t.record(t.string, t.string);

/** A string holding JSON that must decode with `inner`. */
export function jsonString<A, O>(inner: t.Type<A, O>, name = `JSON<${inner.name}>`): t.Type<A, string> {
  return new t.Type<A, string>(
    name,
    (u): u is A => inner.is(u),
    (u, c) => {
      if (typeof u !== 'string') return t.failure(u, c, 'expected a JSON string');
      let parsed: unknown;
      try {
        parsed = JSON.parse(u);
      } catch (e) {
        return t.failure(u, c, `invalid JSON (${(e as Error).message})`);
      }
      return inner.validate(parsed, c);
    },
    (a) => JSON.stringify(inner.encode(a)),
  );
}

const specProblem = (u: unknown): string | undefined => {
  try {
    checkSpec(u, { allowLambda: true });
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
};

/**
 * A layer description: `{ type, ...args }`, nested `layers` / `layer` and
 * every field checked against SPEC_LIMITS (iteratively: any nesting depth is
 * refused with a message, never a stack overflow).
 */
export const LayerSpecCodec: t.Type<LayerSpec> = new t.Type<LayerSpec>(
  'LayerSpec',
  (u): u is LayerSpec => specProblem(u) === undefined,
  (u, c) => {
    const problem = specProblem(u);
    return problem === undefined ? t.success(u as LayerSpec) : t.failure(u, c, problem);
  },
  t.identity,
);

/** A shape whose dimensions are non-negative integers or -1 (the batch axis). */
export const ShapeCodec = t.array(t.union([NonNegInt, t.literal(-1)]));

/** The optimiser part of a checkpoint's metadata: its configuration, step and slot names. */
export const OptimizerMeta = t.type({
  config: t.record(t.string, t.unknown),
  step: NonNegInt,
  slots: t.array(t.string),
});
export type OptimizerMeta = t.TypeOf<typeof OptimizerMeta>;

/** The `__metadata__` of a cotangent checkpoint (all values are strings, as safetensors requires). */
export const CheckpointMeta = t.intersection([
  t.type({ format: t.literal('cotangent'), version: t.literal('1') }),
  t.partial({
    architecture: jsonString(LayerSpecCodec),
    inputShape: jsonString(ShapeCodec),
    optimizer: jsonString(OptimizerMeta),
    classes: jsonString(t.array(t.string)),
    info: jsonString(t.record(t.string, t.unknown)),
  }),
]);
export type CheckpointMeta = t.TypeOf<typeof CheckpointMeta>;

/** io-ts validation errors as one readable line: the first five problems (path and reason), separated by '; '. */
export function formatErrors(errors: t.Errors): string {
  return errors
    .slice(0, 5)
    .map((e) => {
      const path = e.context
        .map((c) => c.key)
        .filter((k) => k !== '')
        .join('.');
      if (e.message !== undefined) return e.message;
      let v: string | undefined;
      try {
        v = JSON.stringify(e.value);
      } catch {
        v = '(too deep to show)';
      }
      return (
        `${path || '(root)'}: invalid value ${v && v.length > 60 ? `${v.slice(0, 60)}…` : v} (expected ` +
        `${e.context[e.context.length - 1]?.type.name ?? '?'})`
      );
    })
    .join('; ');
}
