/**
 * Fused elementwise kernels on WebGPU (src/backends/fused.ts): one generated
 * WGSL compute kernel (shaders/fused.wgsl) per fusion group. The nodes become
 * `let` values built from each primitive's own WGSL expression, converted to
 * the node's type after each node exactly as the unfused map kernel stores its
 * result, so the fused kernel computes what the primitives compute one at a
 * time. The source depends only on the nodes and dtypes (the shape, rank and
 * broadcast strides travel in the parameter block), so the pipeline cache,
 * keyed by source, gives one pipeline per group whatever its shape.
 *
 * A group that binds more storage buffers (inputs and outputs) than the
 * device allows runs one node per dispatch instead, through single-node
 * kernels of the same family.
 */
import type { FusedKernel, FusedNode } from '../fused.js';
import { sizeOf, type Shape } from '../../tensor/shape.js';
import { threadsGrid, wgslType, type KernelContext, type SharedBuffer } from './context.js';
import { broadcastStrides, checkRank, collapse } from './layout.js';
import { instantiate } from './shaderTemplate.js';

/** A typed WGSL value for a literal node: the value as `full` stores it (f32: rounded, -0 kept; i32: ToInt32). */
function literalWgsl(value: number, t: 'f32' | 'i32'): string {
  if (t === 'i32') return `i32(${value | 0})`;
  const v = Math.fround(value);
  if (Number.isNaN(v)) return 'f32_nan()';
  if (v === Number.POSITIVE_INFINITY) return 'f32_inf()';
  if (v === Number.NEGATIVE_INFINITY) return '-f32_inf()';
  // the decimal form of the f32 value read back as an abstract float is that f32 value exactly
  if (Object.is(v, -0)) return 'bitcast<f32>(0x80000000u)';
  return `f32(${String(v)})`;
}

/** The primitive's WGSL expression with its operands x0, x1, … replaced by the given values. */
function opExpr(n: Extract<FusedNode, { kind: 'op' }>, types: readonly ('f32' | 'i32')[]): string {
  const first = n.args[0];
  if (first === undefined) throw new Error(`fused kernel: '${n.op}' has no operands`);
  return n.spec.wgsl(types[first]!).replace(/\bx([0-9]+)\b/g, (_, k: string) => {
    const a = n.args[Number(k)];
    if (a === undefined) throw new Error(`fused kernel: '${n.op}' uses operand x${k} but has ${n.args.length} operands`);
    return `(v${a})`;
  });
}

const sources = new WeakMap<FusedKernel, string>();

/** The WGSL source of a fused kernel (independent of its shape and its inputs' shapes). */
export function fusedWgsl(k: FusedKernel): string {
  const cached = sources.get(k);
  if (cached !== undefined) return cached;
  const label = 'fused kernel';
  const inTs = k.inputs.map((a) => wgslType(label, a.dtype));
  const types = k.nodes.map((n) => wgslType(n.kind === 'op' ? n.op : label, n.dtype));
  const bindings = inTs.map((t, j) => `@group(0) @binding(${j + 1}) var<storage, read> in${j}: array<${t}>;`);
  k.outputs.forEach((o, j) => {
    const t = types[o];
    if (t === undefined) throw new Error(`fused kernel: output ${j} names node ${o}, which does not exist`);
    bindings.push(`@group(0) @binding(${inTs.length + 1 + j}) var<storage, read_write> out${j}: array<${t}>;`);
  });
  const preludes: string[] = [];
  const body: string[] = [];
  k.nodes.forEach((n, i) => {
    const t = types[i]!;
    if (n.kind === 'input') {
      const it = inTs[n.input];
      if (it === undefined) throw new Error(`fused kernel: node ${i} reads input ${n.input}, which does not exist`);
      body.push(`  let v${i}: ${t} = ${it === t ? `in${n.input}[o${n.input}]` : `${t}(in${n.input}[o${n.input}])`};`);
    } else if (n.kind === 'literal') {
      // a variable, not a constant: WGSL evaluates constant expressions when the shader is created (and rejects
      // some, such as a division by zero), while the unfused kernels compute on the GPU at run time
      body.push(`  var v${i}: ${t} = ${literalWgsl(n.value, t)};`);
    } else {
      for (const a of n.args) {
        if (!(a >= 0 && a < i)) throw new Error(`fused kernel: node ${i} (${n.op}) uses node ${a}, which is not an earlier node`);
      }
      if (n.spec.prelude && !preludes.includes(n.spec.prelude)) preludes.push(n.spec.prelude);
      body.push(`  let v${i}: ${t} = ${t}(${opExpr(n, types)});`);
    }
  });
  k.outputs.forEach((o, j) => {
    body.push(`  out${j}[i] = v${o};`);
  });
  const src = instantiate('fused', {
    BINDINGS: bindings.join('\n'),
    PRELUDE: preludes.join('\n'),
    OFFSETS: inTs.map((_, j) => `  var o${j} = 0u;`).join('\n'),
    STEPS: inTs.map((_, j) => `    o${j} += idx * m(1u + rank * ${j + 1}u + d);`).join('\n'),
    BODY: body.join('\n'),
  });
  sources.set(k, src);
  return src;
}

function checkBroadcast(k: FusedKernel, shape: Shape, j: number): void {
  const ok = shape.length <= k.shape.length && shape.every((d, i) => d === 1 || d === k.shape[k.shape.length - shape.length + i]);
  if (!ok) throw new Error(`fused kernel: input ${j} of shape [${shape.join(',')}] does not broadcast to [${k.shape.join(',')}]`);
}

/**
 * Records the dispatches of `k` over the input buffers (contiguous, of the
 * shapes `k.inputs` gives) and returns one fresh buffer per output; `release`
 * gives back the temporary buffers of the node-by-node fallback.
 */
export function runFusedKernel(
  ctx: KernelContext,
  k: FusedKernel,
  inputs: readonly GPUBuffer[],
  release: (b: SharedBuffer) => void,
): SharedBuffer[] {
  if (inputs.length !== k.inputs.length) throw new Error(`fused kernel: ${k.inputs.length} inputs expected, got ${inputs.length}`);
  k.inputs.forEach((a, j) => {
    checkBroadcast(k, a.shape, j);
  });
  if (k.inputs.length + k.outputs.length > ctx.maxStorageBuffers) return runNodeByNode(ctx, k, inputs, release);
  const src = fusedWgsl(k);
  const n = sizeOf(k.shape);
  const outs = k.outputs.map(() => ctx.alloc(n * 4));
  if (n === 0) return outs;
  const c = collapse(
    k.shape,
    k.inputs.map((a) => broadcastStrides(a.shape, k.shape)),
  );
  checkRank('fused kernel', c.shape.length);
  const meta: number[] = [n, c.shape.length, ...c.shape];
  for (const st of c.strides) meta.push(...st);
  const pipeline = ctx.pipeline(`fused|${src}`, () => src, 'main', k.inputs.length, 'fused kernel', k.outputs.length);
  ctx.dispatch(
    pipeline,
    inputs,
    outs.map((o) => o.buffer),
    meta,
    threadsGrid(n),
  );
  return outs;
}

/** One single-node kernel per node (each binds at most three inputs and one output); intermediates are released. */
function runNodeByNode(
  ctx: KernelContext,
  k: FusedKernel,
  inputs: readonly GPUBuffer[],
  release: (b: SharedBuffer) => void,
): SharedBuffer[] {
  const values = new Map<number, SharedBuffer>();
  /** The single-node kernel computing node `i` from the group's inputs, earlier results and literals. */
  const single = (i: number): SharedBuffer => {
    const n = k.nodes[i]!;
    const subInputs: FusedKernel['inputs'][number][] = [];
    const buffers: GPUBuffer[] = [];
    const nodes: FusedNode[] = [];
    const operand = (a: number): number => {
      const m = k.nodes[a]!;
      if (m.kind === 'literal') nodes.push(m);
      else {
        const computed = values.get(a);
        if (m.kind === 'input') {
          subInputs.push(k.inputs[m.input]!);
          buffers.push(inputs[m.input]!);
        } else {
          if (!computed) throw new Error(`fused kernel: node ${a} is used before it is computed`);
          subInputs.push({ shape: k.shape, dtype: m.dtype });
          buffers.push(computed.buffer);
        }
        nodes.push({ kind: 'input', input: subInputs.length - 1, dtype: m.dtype });
      }
      return nodes.length - 1;
    };
    if (n.kind === 'op') nodes.push({ ...n, args: n.args.map(operand) });
    else operand(i);
    const sub: FusedKernel = { shape: k.shape, inputs: subInputs, nodes, outputs: [nodes.length - 1] };
    return runFusedKernel(ctx, sub, buffers, release)[0]!;
  };
  const needed = new Set(k.outputs);
  k.nodes.forEach((n, i) => {
    if (n.kind === 'op') values.set(i, single(i));
  });
  const outs = k.outputs.map((o) => {
    const v = values.get(o);
    if (v && needed.delete(o)) return v;
    // an input or literal output, or an op output named twice: a fresh copy
    return single(o);
  });
  for (const [i, v] of values) {
    if (!k.outputs.includes(i)) release(v);
  }
  return outs;
}
