/**
 * The fused elementwise kernel: what `jit` hands a backend for one fusion
 * group. A group is a DAG of elementwise primitives (those whose record has
 * a `fusion` description: unary and binary maths, comparisons, `where`) that
 * all iterate over one output shape. Its inputs are read with numpy
 * broadcasting into that shape; every node is computed per element as the
 * primitive of that name computes it, including the rounding to the node's
 * dtype after each node (as the unfused ops store each result); its outputs
 * are fresh contiguous row-major buffers of the group's shape.
 *
 * Backends implement {@link FusedBackend}. The reference for every backend's
 * fused code is `runFusedEagerly` (src/jit/fused.ts): the same nodes run one
 * primitive at a time through the ordinary kernels of that backend.
 */
import type { Aval } from '../tensor/Aval.js';
import type { DType } from '../tensor/dtype.js';
import type { Shape } from '../tensor/shape.js';
import type { Storage } from './Backend.js';

/**
 * How an elementwise primitive computes one element (the `fusion` field of
 * its record). Each description computes exactly what the primitive's own
 * kernels compute per element.
 */
export interface FusionSpec {
  /** The scalar function of the CPU kernel (its result is then stored in the output dtype). */
  readonly f: (...xs: number[]) => number;
  /** The WGSL expression over `x0`, `x1`, … (`t` is the WGSL type of the first operand) and the helper functions it calls. */
  readonly wgsl: (t: string) => string;
  readonly prelude?: string;
  /** The wasm operation: a unary or binary op of the wasm elementwise kernels (comparisons by operator), or `where`. */
  readonly wasm:
    | { readonly kind: 'unary'; readonly op: string }
    | { readonly kind: 'binary'; readonly op: string }
    | { readonly kind: 'where' };
}

/** One node of a fused kernel; `args` index earlier nodes. */
export type FusedNode =
  /** Group input `input`, read with broadcasting into the group's shape. */
  | { readonly kind: 'input'; readonly input: number; readonly dtype: DType }
  /** A scalar constant (broadcast). jit never makes a -0 literal (some shader compilers fold a constant -0 as +0). */
  | { readonly kind: 'literal'; readonly value: number; readonly dtype: DType }
  /** The elementwise primitive `op`, described by `spec`, applied to earlier nodes (all of the group's shape). */
  | {
      readonly kind: 'op';
      readonly op: string;
      readonly spec: FusionSpec;
      readonly args: readonly number[];
      readonly dtype: DType;
    };

/**
 * A reduction fused after the elementwise nodes: `op` over `axes` of the
 * kernel's shape applied to the values of `node`, as the `sum` / `max`
 * primitive with those axes computes it (the reduced axes are dropped; max
 * propagates NaN; the summation order may differ from the unfused kernel's,
 * so sums agree to rounding, not bit for bit).
 */
export interface FusedReduction {
  readonly node: number;
  readonly op: 'sum' | 'max';
  /** Sorted, distinct axes of the kernel's shape. */
  readonly axes: readonly number[];
}

/**
 * A matmul whose result is the kernel's input 0 (an epilogue fused into the
 * matmul: bias, activation, scaling applied as each block of the product is
 * computed). The kernel computes `matmul(a, b)` exactly as the matmul primitive
 * does (batched, batch dims broadcast; its shape is the kernel's shape) and never
 * reads input 0 from memory: `runFused` then receives the buffers of `a` and `b`
 * in place of input 0's (inputs `[a, b, input 1, input 2, …]`).
 */
export interface FusedMatmul {
  readonly a: Aval;
  readonly b: Aval;
}

/** A fused elementwise kernel: nodes in topological order over one iteration shape, with one or more outputs. */
export interface FusedKernel {
  /** The iteration shape, which is every output's shape. */
  readonly shape: Shape;
  /** The inputs' shapes and dtypes; each broadcasts to `shape` (numpy rules, aligned on the right). */
  readonly inputs: readonly Aval[];
  readonly nodes: readonly FusedNode[];
  /** The nodes whose values are the kernel's outputs (dtype: the node's), in order. */
  readonly outputs: readonly number[];
  /** Reductions of nodes, each one more output after `outputs` (of the reduced shape); only for backends with `fusesReductions`. */
  readonly reductions?: readonly FusedReduction[];
  /** Input 0 is this matmul's product (never together with `reductions`); only for backends with `fusesMatmul`. */
  readonly matmul?: FusedMatmul;
}

/** A backend that runs fused kernels (cpu: generated JavaScript; wasm: a SIMD program; webgpu: generated WGSL). */
export interface FusedBackend {
  /** Run `kernel` on buffers holding its inputs; returns one fresh buffer per output (owned by the caller). */
  runFused(kernel: FusedKernel, inputs: readonly Storage[]): Storage[];
  /** The code this backend runs for `kernel` (JavaScript, WGSL, or the wasm program as text), for `lower`. */
  fusedSource(kernel: FusedKernel): string;
  /** Whether a node of primitive `op` on operands of `dtype` can run in a fused kernel (default: every fusible primitive). */
  canFuse?(op: string, dtype: DType): boolean;
  /** Whether this backend runs kernels with `reductions`. */
  readonly fusesReductions?: boolean;
  /** Whether this backend runs kernels with a `matmul` (elementwise epilogues fused into the product). */
  readonly fusesMatmul?: boolean;
}

/** Whether a backend runs fused kernels. */
export const isFusedBackend = (b: object): b is FusedBackend =>
  typeof (b as Partial<FusedBackend>).runFused === 'function' && typeof (b as Partial<FusedBackend>).fusedSource === 'function';

/** The kernel as one line per node (for `lower` and error messages). */
export function fusedToText(k: FusedKernel): string {
  const lines = k.nodes.map((n, i) => {
    const rhs =
      n.kind === 'input' ? `in${n.input}` : n.kind === 'literal' ? String(n.value) : `${n.op} ${n.args.map((a) => `v${a}`).join(' ')}`;
    return `v${i}:${n.dtype} = ${rhs}`;
  });
  const ins = k.inputs
    .map((a, i) => {
      const m =
        i === 0 && k.matmul
          ? ` = matmul ${k.matmul.a.dtype}[${k.matmul.a.shape.join(',')}] ${k.matmul.b.dtype}[${k.matmul.b.shape.join(',')}]`
          : '';
      return `in${i}:${a.dtype}[${a.shape.join(',')}]${m}`;
    })
    .join(' ');
  const reds = (k.reductions ?? []).map((r) => `${r.op}[axes=${r.axes.join(',')}] v${r.node}`);
  const outs = [...k.outputs.map((o) => `v${o}`), ...reds].join(', ');
  return `fused[${k.shape.join(',')}] (${ins}) {\n  ${lines.join('\n  ')}\n} -> (${outs})`;
}
