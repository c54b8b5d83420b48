/**
 * The strided map kernel (shaders/map.wgsl) from the host side: builds the
 * bindings, loads and expression for a given operand list, collapses the
 * iteration space and records one dispatch. Elementwise maths, broadcasting,
 * where, cast and every data-movement primitive go through here.
 */
import type { DType } from '../../tensor/dtype.js';
import { sizeOf, type Shape } from '../../tensor/shape.js';
import { threadsGrid, wgslType, type KernelContext } from './context.js';
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

export function runMap(ctx: KernelContext, spec: MapSpec): void {
  const n = sizeOf(spec.shape);
  if (n === 0) return;
  const ops = [spec.out, ...spec.inputs];
  const c = collapse(
    spec.shape,
    ops.map((o) => o.strides),
  );
  checkRank(spec.label, c.shape.length);
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
  const key = `map|${rank}|${outT}|${inTs.join(',')}|${spec.expr}|${prelude}`;
  const pipeline = ctx.pipeline(
    key,
    () => {
      const bindings = inTs.map((t, k) => `@group(0) @binding(${k + 1}) var<storage, read> in${k}: array<${t}>;`);
      bindings.push(`@group(0) @binding(${inTs.length + 1}) var<storage, read_write> out: array<${outT}>;`);
      const loads = inTs.map((t, k) => `  let x${k}: ${t} = in${k}[off[${k + 1}]];`);
      return instantiate('map', {
        BINDINGS: bindings.join('\n'),
        PRELUDE: prelude,
        RANK: rank,
        NOPS: ops.length,
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
