/**
 * The strided map kernel (shaders/map.wgsl) from the host side: builds the
 * bindings, loads and expression for a given operand list, collapses the
 * iteration space and records one dispatch. Elementwise maths, broadcasting,
 * where, cast and every data-movement primitive go through here.
 */
import type { DType } from '../../tensor/dtype.js';
import { sizeOf, type Shape } from '../../tensor/shape.js';
import { grid, threadsGrid, wgslType, type KernelContext } from './context.js';
import { checkRank, collapse } from './layout.js';
import { instantiate } from './shaderTemplate.js';

export interface MapOperand {
  readonly buffer: GPUBuffer;
  readonly dtype: DType;
  readonly offset: number;
  readonly strides: readonly number[];
}

export interface MapSpec {
  readonly label: string;
  /** Iteration shape (every operand's strides are aligned with it). */
  readonly shape: Shape;
  readonly out: MapOperand;
  readonly inputs: readonly MapOperand[];
  /** WGSL expression in x0, x1, ... (the inputs' values); converted to the output type. */
  readonly expr: string;
  /** Extra WGSL (helper functions) the expression uses. */
  readonly prelude?: string;
}

/**
 * The flat forms of an iteration space walked by operands with the given (collapsed) strides and offsets, for
 * shaders/fused_flat.wgsl. 'flat': at most one dimension, every operand walking it contiguously (stride 1) or one
 * scalar (stride 0); thread i takes element i, or with `vec4` (element count and the contiguous operands' offsets
 * multiples of 4) the quad 4i..4i+3. 'rows': two dimensions [rows, cols] with cols a multiple of 4 and every
 * operand's column stride 1 (read as vec4: its row stride and offset multiples of 4) or 0 (one value per row, or one
 * overall: a broadcast bias or a scalar); thread i takes quad i, its row and column found by one index division.
 * Null when neither applies (the strided kernels).
 */
export interface FlatPlan {
  readonly form: 'flat' | 'rows';
  /** Elements. */
  readonly n: number;
  readonly vec4: boolean;
  /** Per operand: read as one scalar (per row for 'rows') rather than a contiguous run. */
  readonly scalar: readonly boolean[];
  /** Threads that do work. */
  readonly threads: number;
  /**
   * The parameter block: [0] threads, [1] quads per row ('rows'), then per operand k at 2 + 2k its offset and row
   * stride, in units of its binding (quads for the vec4 operands).
   */
  readonly meta: readonly number[];
}

export function flatPlan(shape: readonly number[], strides: readonly (readonly number[])[], offsets: readonly number[]): FlatPlan | null {
  if (shape.length <= 1) {
    const n = shape.length === 0 ? 1 : shape[0]!;
    const scalar = strides.map((st) => (st.length === 0 ? true : st[0] === 0 ? true : st[0] === 1 ? false : null));
    if (scalar.some((s) => s === null)) return null;
    const vec4 = n % 4 === 0 && offsets.every((o, k) => scalar[k] || o % 4 === 0);
    const q = vec4 ? 4 : 1;
    const meta = [n / q, 0, ...offsets.flatMap((o, k) => [scalar[k] ? o : o / q, 0])];
    return { form: 'flat', n, vec4, scalar: scalar as boolean[], threads: n / q, meta };
  }
  if (shape.length !== 2) return null;
  const [rows, cols] = shape as [number, number];
  if (cols % 4 !== 0) return null;
  const scalar = strides.map((st) => st[1] === 0);
  const ok = strides.every((st, k) => st[1] === 0 || (st[1] === 1 && st[0]! % 4 === 0 && offsets[k]! % 4 === 0));
  if (!ok) return null;
  const threads = (rows * cols) / 4;
  const meta = [threads, cols / 4, ...offsets.flatMap((o, k) => (scalar[k] ? [o, strides[k]![0]!] : [o / 4, strides[k]![0]! / 4]))];
  return { form: 'rows', n: rows * cols, vec4: true, scalar, threads, meta };
}

/**
 * WGSL of a flat plan: `index` (lines finding thread i's row and column, for 'rows') and `at(k)`, the index of
 * operand k's value (quad or scalar) in its binding; `prelude` the helper functions they call.
 */
export function flatAddressing(plan: FlatPlan): { prelude: string; index: string; at: (k: number) => string } {
  const off = (k: number) => `m(${2 + 2 * k}u)`;
  const rs = (k: number) => `m(${3 + 2 * k}u)`;
  if (plan.form === 'flat') return { prelude: '', index: '', at: (k) => (plan.scalar[k] ? off(k) : `i + ${off(k)}`) };
  return {
    prelude: divmodWgsl(plan.threads < FAST_DIVISION_BOUND),
    index: '  let rc = index_divmod(i, m(1u));',
    at: (k) => (plan.scalar[k] ? `${off(k)} + rc.x * ${rs(k)}` : `${off(k)} + rc.x * ${rs(k)} + rc.y`),
  };
}

const COMPONENTS = ['x', 'y', 'z', 'w'] as const;

/** Threads per workgroup of the `serial` entry of the reduction kernels (reduce.wgsl, fused_reduce.wgsl). */
export const SERIAL_REDUCE_WG = 64;

/**
 * The entry of a reduction kernel (reduce.wgsl, fused_reduce.wgsl) for `nOut` cells of `nRed` elements, and its
 * grid: `serial` (one thread per cell) for small reduced blocks or many cells, and on software adapters whenever
 * the cells fill two workgroups (barriers there are emulated by the CPU and cost more than the tree saves, and a
 * leading-axis sum reads neighbouring columns from neighbouring threads); else `rows` (one workgroup per cell).
 */
export function reductionEntry(
  ctx: KernelContext,
  nOut: number,
  nRed: number,
): { entry: 'serial' | 'rows'; groups: [number, number, number] } {
  const software = ctx.adapterKind !== 'hardware';
  const serial = nRed <= 64 || nOut >= 4096 || (software && nOut >= 2 * SERIAL_REDUCE_WG);
  return serial ? { entry: 'serial', groups: grid(Math.ceil(nOut / SERIAL_REDUCE_WG)) } : { entry: 'rows', groups: grid(nOut) };
}

/** Indices below this bound are divided through f32 (see divmodWgsl). */
export const FAST_DIVISION_BOUND = 2 ** 23;

/**
 * The index division of the strided kernels, `index_divmod(a, b)` = (a / b, a % b) for b ≥ 1: integer division has
 * no SIMD form on x86, so software adapters run it lane by lane; when every dividend is below 2^23 (`fast`) it goes
 * through f32, which vectorises. The conversions are exact; WGSL allows the reciprocal 2.5 ULP of error (a relative
 * error below 2^-21.6), so the quotient estimate a · (1 / b) is within 2.9 of a / b and its truncation within 3 of
 * the quotient; four rounds of correction by the remainder's sign and size (one more than needed, a margin the
 * tests use) make it exact. Otherwise the exact integer operators.
 */
export function divmodWgsl(fast: boolean): string {
  if (!fast) return 'fn index_divmod(a: u32, b: u32) -> vec2<u32> {\n  return vec2<u32>(a / b, a % b);\n}';
  return [
    'fn index_divmod(a: u32, b: u32) -> vec2<u32> {',
    '  let bi = i32(b);',
    '  var q = i32(f32(a) * (1.0 / f32(b)));',
    '  var r = i32(a) - q * bi;',
    '  for (var k = 0; k < 4; k++) {',
    '    let lo = r < 0;',
    '    q = select(q, q - 1, lo);',
    '    r = select(r, r + bi, lo);',
    '    let hi = r >= bi;',
    '    q = select(q, q + 1, hi);',
    '    r = select(r, r - bi, hi);',
    '  }',
    '  return vec2<u32>(u32(q), u32(r));',
    '}',
  ].join('\n');
}

/** The flat map (shaders/fused_flat.wgsl): no per-dimension index arithmetic; false when the operands do not allow it. */
function runFlatMap(ctx: KernelContext, spec: MapSpec, shape: number[], strides: number[][]): boolean {
  const ops = [spec.out, ...spec.inputs];
  const plan = flatPlan(
    shape,
    strides,
    ops.map((o) => o.offset),
  );
  if (!plan || plan.scalar[0]) return false;
  const outT = wgslType(spec.label, spec.out.dtype);
  const inTs = spec.inputs.map((x) => wgslType(spec.label, x.dtype));
  const prelude = spec.prelude ?? '';
  const v4 = plan.vec4;
  const sc = plan.scalar.slice(1);
  const scalars = sc.map((s) => (s ? 's' : 'v')).join('');
  const key = `map_flat|${plan.form}|${v4 ? 4 : 1}|${scalars}|${outT}|${inTs.join(',')}|${spec.expr}|${prelude}`;
  const pipeline = ctx.pipeline(
    key,
    () => {
      const arr = (t: string, scalar: boolean) => (v4 && !scalar ? `array<vec4<${t}>>` : `array<${t}>`);
      const bindings = inTs.map((t, k) => `@group(0) @binding(${k + 1}) var<storage, read> in${k}: ${arr(t, sc[k]!)};`);
      bindings.push(`@group(0) @binding(${inTs.length + 1}) var<storage, read_write> out: ${arr(outT, false)};`);
      // operand 0 is the output, k + 1 input k
      const addr = flatAddressing(plan);
      const body: string[] = addr.index ? [addr.index] : [];
      if (v4) {
        inTs.forEach((t, k) => {
          body.push(`  let q${k}: ${sc[k] ? t : `vec4<${t}>`} = in${k}[${addr.at(k + 1)}];`);
        });
        body.push(`  var r: vec4<${outT}>;`);
        for (const c of COMPONENTS) {
          const xs = inTs.map((t, k) => `let x${k}: ${t} = q${k}${sc[k] ? '' : `.${c}`};`);
          body.push(`  {\n    ${xs.join(' ')}\n    r.${c} = ${outT}(${spec.expr});\n  }`);
        }
        body.push(`  out[${addr.at(0)}] = r;`);
      } else {
        inTs.forEach((t, k) => {
          body.push(`  let x${k}: ${t} = in${k}[${addr.at(k + 1)}];`);
        });
        body.push(`  out[${addr.at(0)}] = ${outT}(${spec.expr});`);
      }
      return instantiate('fused_flat', {
        BINDINGS: bindings.join('\n'),
        PRELUDE: [prelude, addr.prelude].filter((x) => x !== '').join('\n'),
        BODY: body.join('\n'),
      });
    },
    'main',
    inTs.length,
    spec.label,
  );
  ctx.dispatch(
    pipeline,
    spec.inputs.map((x) => x.buffer),
    spec.out.buffer,
    plan.meta,
    threadsGrid(plan.threads),
  );
  return true;
}

/**
 * Straight-line WGSL unravelling `value` (below the product of the dims) over `rank` dims whose sizes are meta
 * words `dimAt(1..rank)`: `<name>1..<name>rank` (outermost first), one index_divmod per dim but the outermost.
 */
export function unravelWgsl(indent: string, value: string, name: string, rank: number, dimAt: (d: number) => number): string[] {
  if (rank === 0) return [];
  const lines = [`${indent}var ${name}_rem = ${value};`];
  for (let d = rank; d > 1; d--) {
    lines.push(
      `${indent}let ${name}_q${d} = index_divmod(${name}_rem, m(${dimAt(d)}u));`,
      `${indent}let ${name}${d} = ${name}_q${d}.y;`,
      `${indent}${name}_rem = ${name}_q${d}.x;`,
    );
  }
  lines.push(`${indent}let ${name}1 = ${name}_rem;`);
  return lines;
}

/**
 * Straight-line WGSL for the strided map's offsets (layout in shaders/map.wgsl): the multi-index `idx1..idxR` of
 * element `i` (innermost first, one index_divmod per dim but the outermost), then `ok` = offset + Σ idx·stride for
 * each of the `nops` operands.
 */
function stridedIndexWgsl(rank: number, nops: number): string {
  const lines = unravelWgsl('  ', 'i', 'idx', rank, (d) => d);
  for (let k = 0; k < nops; k++) {
    const base = 1 + rank + k * (rank + 1);
    const terms = [`m(${base}u)`];
    for (let d = 1; d <= rank; d++) terms.push(`idx${d} * m(${base + d}u)`);
    lines.push(`  let o${k} = ${terms.join(' + ')};`);
  }
  return lines.join('\n');
}

export function runMap(ctx: KernelContext, spec: MapSpec): void {
  const n = sizeOf(spec.shape);
  if (n === 0) return;
  const ops = [spec.out, ...spec.inputs];
  const c = collapse(
    spec.shape,
    ops.map((o) => o.strides),
  );
  checkRank(spec.label, c.shape.length);
  if (runFlatMap(ctx, spec, c.shape, c.strides)) return;
  let shape = c.shape;
  let strides = c.strides;
  if (shape.length === 0) {
    shape = [1];
    strides = ops.map(() => [0]);
  }
  const rank = shape.length;
  const outT = wgslType(spec.label, spec.out.dtype);
  const inTs = spec.inputs.map((x) => wgslType(spec.label, x.dtype));
  const prelude = spec.prelude ?? '';
  const fast = n < FAST_DIVISION_BOUND;
  const key = `map|${fast}|${rank}|${outT}|${inTs.join(',')}|${spec.expr}|${prelude}`;
  const pipeline = ctx.pipeline(
    key,
    () => {
      const bindings = inTs.map((t, k) => `@group(0) @binding(${k + 1}) var<storage, read> in${k}: array<${t}>;`);
      bindings.push(`@group(0) @binding(${inTs.length + 1}) var<storage, read_write> out: array<${outT}>;`);
      const loads = inTs.map((t, k) => `  let x${k}: ${t} = in${k}[o${k + 1}];`);
      return instantiate('map', {
        BINDINGS: bindings.join('\n'),
        PRELUDE: prelude,
        DIVMOD: divmodWgsl(fast),
        INDEX: stridedIndexWgsl(rank, ops.length),
        LOADS: loads.join('\n'),
        OUT_T: outT,
        EXPR: spec.expr,
      });
    },
    'main',
    inTs.length,
    spec.label,
  );
  const meta: number[] = [n, ...shape];
  ops.forEach((o, k) => {
    meta.push(o.offset, ...strides[k]!);
  });
  ctx.dispatch(
    pipeline,
    spec.inputs.map((x) => x.buffer),
    spec.out.buffer,
    meta,
    threadsGrid(n),
  );
}
