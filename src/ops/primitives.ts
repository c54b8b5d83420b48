/**
 * The registry of built-in primitives. The `satisfies` clause makes the
 * compiler refuse a primitive with a missing rule or kernel, and `PrimName`
 * is the key of every per-primitive table (law domains, mutant facts,
 * WebGPU equivalence domains, op functions by name) so that a new primitive
 * missing from any of them does not compile.
 */
import type { Primitive } from '../core/Primitive.js';
import type { Builtin } from './rules.js';
import { binaryPrims, unaryPrims, wherePrim } from './elementwise.js';
import { matmulPrim } from './matmul.js';
import {
  conv2dFilterGradPrim,
  conv2dInputGradPrim,
  conv2dPrim,
  type ConvFilterGradParams,
  type ConvInputGradParams,
  type ConvParams,
} from './conv.js';
import { scatterAddPrim, takePrim, type IndexAxisParams } from './indexing.js';
import { argsortPrim, cumsumPrim, type ArgsortParams, type CumsumParams } from './order.js';
import { argmaxPrim, maxPrim, type AxisParams } from './reduce.js';
import {
  broadcastToPrim,
  castPrim,
  concatPrim,
  padPrim,
  reshapePrim,
  slicePrim,
  stopGradientPrim,
  sumPrim,
  transposePrim,
  type AxesParams,
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
  conv2d: ConvParams;
  conv2dInputGrad: ConvInputGradParams;
  conv2dFilterGrad: ConvFilterGradParams;
  take: IndexAxisParams;
  scatterAdd: IndexAxisParams;
  cumsum: CumsumParams;
  argsort: ArgsortParams;
};

/** The name of a built-in primitive. */
export type PrimName = keyof PrimParams;

/** Every built-in primitive record by name: shape rule, CPU and WebGPU kernels, JVP and VJP rules. */
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
  conv2d: conv2dPrim,
  conv2dInputGrad: conv2dInputGradPrim,
  conv2dFilterGrad: conv2dFilterGradPrim,
  take: takePrim,
  scatterAdd: scatterAddPrim,
  cumsum: cumsumPrim,
  argsort: argsortPrim,
} satisfies { [P in PrimName]: Builtin<PrimParams[P]> };

/** Every built-in primitive's name, in the registry's order. */
export const primNames = Object.keys(primitives) as PrimName[];

/** User-defined primitives registered by name (for graph evaluation and backends). */
const userPrimitives = new Map<string, Primitive>();

/** Register a user primitive by name (definePrimitive does this). */
export function registerPrimitive(p: Primitive): void {
  if (p.name in primitives) throw new Error(`definePrimitive: '${p.name}' is the name of a built-in primitive`);
  userPrimitives.set(p.name, p);
}

/** The record of a built-in or registered user primitive, by name. */
export function lookupPrimitive(name: string): Primitive | undefined {
  return (primitives as Readonly<Record<string, Primitive>>)[name] ?? userPrimitives.get(name);
}
