/**
 * WGSL kernels for user-defined primitives (`definePrimitive({ ..., wgsl })`).
 * Two forms:
 *
 * - `{ kind: 'elementwise', expr, prelude? }`: `expr` is a WGSL expression in
 *   `x0`, `x1`, ... (the inputs, broadcast to the output shape, in their WGSL
 *   types f32 / i32); its value is converted to the output dtype. `prelude`
 *   may define helper functions. Example: `{ kind: 'elementwise', expr: 'x0 * x1 + 1.0' }`.
 *
 * - `{ kind: 'module', code, entryPoint?, workgroups, meta? }`: a whole WGSL
 *   compute module with this binding convention (group 0):
 *     binding 0     the parameter block (declared for you; read words with `m(i)`),
 *     bindings 1..n the n inputs, `var<storage, read> ... : array<f32|i32>`,
 *     binding n+1   the output, `var<storage, read_write> ... : array<f32|i32>`.
 *   Inputs are contiguous row-major. The parameter block holds `meta(call)` when given,
 *   else [output size, input 0 size, input 1 size, ...]. `workgroups(call)`
 *   gives the dispatch size. The helpers `f32_inf()`, `f32_nan()`,
 *   `is_nan(x)` are available.
 */
import type { Aval, KernelCall } from '../Backend.js';
import { bytesPerElement } from '../../tensor/dtype.js';
import { sizeOf } from '../../tensor/shape.js';
import { wgslType, type KernelContext, type SharedBuffer } from './context.js';
import { shaderSources } from './shaderSources.js';

/** What a user WGSL kernel's `workgroups` and `meta` functions see of a call: input and output shapes/dtypes and the parameters. */
export interface WgslCallInfo {
  readonly inputs: readonly Aval[];
  readonly out: Aval;
  readonly params: unknown;
}

/**
 * The WebGPU kernel of a user primitive: a WGSL expression of `x0, x1, ...` applied elementwise, or a whole compute module with
 * its dispatch size.
 */
export type WgslKernel =
  | { readonly kind: 'elementwise'; readonly expr: string; readonly prelude?: string }
  | {
      readonly kind: 'module';
      readonly code: string;
      readonly entryPoint?: string;
      readonly workgroups: (call: WgslCallInfo) => readonly [number, number?, number?];
      readonly meta?: (call: WgslCallInfo) => readonly number[];
    };

export function isWgslKernel(k: unknown): k is WgslKernel {
  if (typeof k !== 'object' || k === null) return false;
  const o = k as { kind?: unknown; expr?: unknown; code?: unknown; workgroups?: unknown };
  return (
    (o.kind === 'elementwise' && typeof o.expr === 'string') ||
    (o.kind === 'module' && typeof o.code === 'string' && typeof o.workgroups === 'function')
  );
}

/** The error text for a user primitive without a WGSL kernel applied to WebGPU tensors (one text wherever it is detected). */
export const noWgslKernel = (name: string): string =>
  `${name}: this user primitive has no WGSL kernel, so it cannot run on the webgpu backend (give definePrimitive a \`wgsl\` ` +
  `kernel, e.g. { kind: 'elementwise', expr: 'x0 * x1' }, or move the inputs with toBackend(x, "cpu"))`;

export function runUserKernel(
  ctx: KernelContext,
  call: KernelCall,
  elementwise: (ctx: KernelContext, call: KernelCall, expr: string, prelude?: string) => SharedBuffer,
): SharedBuffer {
  const k = call.wgsl;
  if (k === undefined) {
    throw new Error(noWgslKernel(call.name));
  }
  if (!isWgslKernel(k)) {
    throw new Error(
      `${call.name}: its wgsl field is not a WgslKernel ({ kind: 'elementwise', expr } or { kind: 'module', code, workgroups })`,
    );
  }
  wgslType(call.name, call.out.dtype);
  for (const x of call.inputs) wgslType(call.name, x.dtype);
  if (k.kind === 'elementwise') return elementwise(ctx, call, k.expr, k.prelude);
  const info: WgslCallInfo = { inputs: call.inputs.map((x) => ({ shape: x.shape, dtype: x.dtype })), out: call.out, params: call.params };
  const bytes = sizeOf(call.out.shape) * bytesPerElement(call.out.dtype);
  const out = ctx.alloc(bytes);
  if (bytes === 0) return out;
  const entry = k.entryPoint ?? 'main';
  const pipeline = ctx.pipeline(
    `user|${call.name}|${entry}|${k.code}`,
    () => `${shaderSources['common']}\n${k.code}`,
    entry,
    call.inputs.length,
    call.name,
  );
  const meta = k.meta ? k.meta(info) : [sizeOf(call.out.shape), ...call.inputs.map((x) => sizeOf(x.shape))];
  const [x, y = 1, z = 1] = k.workgroups(info);
  ctx.dispatch(
    pipeline,
    call.inputs.map((i) => ctx.bufferOf(i.storage)),
    out.buffer,
    meta,
    [x, y, z],
  );
  return out;
}
