/**
 * cotangent: a functional, immutable automatic-differentiation DSL.
 * Everything public is exported from here: `import * as ct from 'cotangent'`.
 *
 * @module cotangent
 */
export { Tensor } from './tensor/Tensor.js';
export type { Shape } from './tensor/shape.js';
export type { DType, TypedArray } from './tensor/dtype.js';
export type { Nested } from './tensor/format.js';
export { ShapeError, ValueError } from './tensor/ShapeError.js';

export type { Backend, BackendName, Storage, Aval, CpuKernel, CpuInput } from './backends/Backend.js';
export { init, getBackend, backendInfo, shutdown, syncBackend, type InitOptions } from './core/init.js';
export type { WgslKernel, WgslCallInfo, WebGpuOptions, AdapterChoice, WebGpuStats } from './backends/webgpu/index.js';

export { scope, scopeAsync, keep, resetPeakBytes, peakBytes, type MemoryStats } from './core/memory.js';
export { memoryStats } from './core/stats.js';
export { setDebug, debugCounters, NumericsError, type DebugOptions, type DebugCounters } from './core/debug.js';
export { jit, type JitOptions, type Jitted } from './jit/jit.js';
export { vmap, BatchTracer, type VmapOptions, type AxisSpec } from './transforms/vmap.js';
export { Zero, isZero, type MaybeZero } from './core/Zero.js';
export type {
  Primitive,
  CustomCall,
  Rules,
  JvpRule,
  VjpRule,
  BatchRule,
  RuleDeclaration,
  Partial as PartialDerivative,
} from './core/Primitive.js';
export { bind } from './core/trace.js';
export { flatten as treeFlatten, unflatten as treeUnflatten, mapLeaves as treeMap, treeLeaves, type TreeDef } from './core/pytree.js';

export {
  tensor,
  scalar,
  zeros,
  ones,
  full,
  arange,
  linspace,
  eye,
  zerosLike,
  onesLike,
  fullLike,
  fromTypedArray,
  type TensorLike,
  type CreateOptions,
} from './ops/creation.js';
export {
  neg,
  exp,
  log,
  sin,
  cos,
  tanh,
  sigmoid,
  relu,
  sqrt,
  square,
  abs,
  reciprocal,
  sign,
  erf,
  erfc,
  log1p,
  expm1,
  softplus,
  logaddexp,
  add,
  sub,
  mul,
  div,
  pow,
  maximum,
  minimum,
  greater,
  greaterEqual,
  less,
  lessEqual,
  equal,
  notEqual,
  where,
  unaryOps,
  binaryOps,
  elementwiseRules,
  type UnaryName,
  type UnaryOp,
  type BinaryOp,
  type BinaryName,
} from './ops/elementwise.js';
export { inversePermutation } from './ops/util.js';
export { linear as linearRules, zeroDerivative as zeroDerivativeRules, handWritten as handWrittenRules } from './ops/rules.js';
export {
  reshape,
  transpose,
  matrixTranspose,
  broadcastTo,
  unbroadcast,
  expandDims,
  squeeze,
  slice,
  pad,
  concat,
  stack,
  cast,
  stopGradient,
  flatten,
} from './ops/structural.js';
export { sum, max, argmax, type ReduceOptions } from './ops/reduce.js';
export { matmul } from './ops/matmul.js';
export {
  conv2dGeneral,
  conv2dInputGrad,
  conv2dFilterGrad,
  convOutSize,
  type ConvParams,
  type ConvInputGradParams,
  type ConvFilterGradParams,
} from './ops/conv.js';
export { take, scatterAdd, takeAlongAxis, type IndexAxisParams, type IndexLike, type IndexNested } from './ops/indexing.js';
export { cumsum, cumprod, argsort, sort, topk, type CumulativeOptions, type CumsumParams, type ArgsortParams } from './ops/order.js';
export { einsum, einsumPath, EINSUM_OPTIMAL_MAX, type EinsumPath, type EinsumStep } from './ops/einsum.js';
export { mean, min, argmin, logsumexp, softmax, logSoftmax, softmaxCrossEntropy, oneHot, clip } from './ops/composite.js';
export { silu, gelu, type GeluOptions } from './ops/activations.js';
export { toBackend } from './ops/transfer.js';
export { primitives, primNames, lookupPrimitive, type PrimName, type PrimParams } from './ops/primitives.js';

export { jvp } from './transforms/jvp.js';
export { jacfwd, jacrev, hessian, type JacOptions, type JacobianOfFn, type HessianOfFn } from './transforms/jacobian.js';
export {
  vjp,
  grad,
  valueAndGrad,
  type GradOptions,
  type GradOptionsAux,
  type GradOptionsNoAux,
  type GradOf,
  type ScalarFn,
  type ScalarAuxFn,
} from './transforms/vjp.js';
export type { Argnums, Fn, TensorTree, TangentOf, GradsOf, JacobianOf } from './transforms/argnums.js';
export { definePrimitive, type PrimitiveDefinition, type DefinedPrimitive } from './ops/define.js';
export { customJvp, customVjp, type CustomJvpRule } from './transforms/custom.js';
export {
  scan,
  cond,
  foriLoop,
  whileLoop,
  type ScanOptions,
  type ScanParams,
  type CondParams,
  type WhileParams,
} from './transforms/control.js';
export { checkpoint, remat } from './transforms/checkpoint.js';
export { linearize } from './transforms/linearize.js';
export {
  makeGraph,
  trace,
  graphToText,
  graphToDot,
  evalGraph,
  type Graph,
  type GraphVar,
  type GraphEqn,
  type GraphConst,
} from './transforms/graph.js';
export { graphToSvg, dotToSvg } from './transforms/graphSvg.js';

// networks (also importable as 'cotangent/nn'; data sets and checkpoints are in 'cotangent/io', Node only)
export * as nn from './nn/index.js';
export * as random from './nn/random.js';
