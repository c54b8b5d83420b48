/**
 * The registry of built-in primitives. The `satisfies` clause makes the
 * compiler refuse a primitive with a missing rule, and `PrimName` is the list
 * of names every backend's kernel table must cover.
 */
import type { Primitive } from '../core/Primitive.js';
import { binaryPrims, unaryPrims, wherePrim } from './elementwise.js';
import { matmulPrim } from './matmul.js';
import { argmaxPrim, maxPrim, sumPrim, type AxesParams, type AxisParams } from './reduce.js';
import {
  broadcastToPrim,
  castPrim,
  concatPrim,
  padPrim,
  reshapePrim,
  slicePrim,
  stopGradientPrim,
  transposePrim,
  type CastParams,
  type ConcatParams,
  type PadParams,
  type ReshapeParams,
  type SliceParams,
  type TransposeParams,
} from './structural.js';

type NoParams = Record<string, never>;
type UnaryName = keyof typeof unaryPrims;
type BinaryName = keyof typeof binaryPrims;

/** The parameters of every built-in primitive. */
export type PrimParams = { [K in UnaryName | BinaryName | 'where' | 'matmul' | 'stopGradient']: NoParams } & {
  reshape: ReshapeParams;
  broadcastTo: ReshapeParams;
  transpose: TransposeParams;
  slice: SliceParams;
  pad: PadParams;
  concat: ConcatParams;
  cast: CastParams;
  sum: AxesParams;
  max: AxesParams;
  argmax: AxisParams;
};

export type PrimName = keyof PrimParams;

export const primitives = {
  ...unaryPrims,
  ...binaryPrims,
  where: wherePrim,
  matmul: matmulPrim,
  stopGradient: stopGradientPrim,
  reshape: reshapePrim,
  broadcastTo: broadcastToPrim,
  transpose: transposePrim,
  slice: slicePrim,
  pad: padPrim,
  concat: concatPrim,
  cast: castPrim,
  sum: sumPrim,
  max: maxPrim,
  argmax: argmaxPrim,
} satisfies { [P in PrimName]: Primitive<PrimParams[P]> };

export const primNames = Object.keys(primitives) as PrimName[];

/** User-defined primitives registered by name (for graph evaluation and backends). */
const userPrimitives = new Map<string, Primitive>();

export function registerPrimitive(p: Primitive): void {
  if (p.name in primitives) throw new Error(`definePrimitive: '${p.name}' is the name of a built-in primitive`);
  userPrimitives.set(p.name, p);
}

export function lookupPrimitive(name: string): Primitive | undefined {
  return (primitives as Record<string, Primitive>)[name] ?? userPrimitives.get(name);
}

