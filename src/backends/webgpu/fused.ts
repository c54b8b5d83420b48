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
 *
 * Reductions (sum, max over axes of the group's shape) run as generated
 * kernels of shaders/fused_reduce.wgsl, one per set of reduced axes: each
 * output cell is folded by one workgroup (a tree in workgroup memory) or, for
 * small reduced blocks, one thread, which computes the nodes a reduction needs
 * element by element and folds them without storing them. The elementwise
 * outputs, if any, are written by the elementwise kernel in the same batch.
 * Past the binding or parameter limits the reduced nodes are materialised
 * and reduced one by one.
 */
import type { FusedKernel, FusedNode, FusedReduction } from '../fused.js';
import { sizeOf, type Shape } from '../../tensor/shape.js';
import { threadsGrid, wgslType, type KernelContext, type SharedBuffer } from './context.js';
import { broadcastStrides, checkRank, collapse } from './layout.js';
import { META_BYTES } from './gpuConstants.js';
import { divmodWgsl, FAST_DIVISION_BOUND, flatAddressing, flatPlan, reductionEntry, type FlatPlan, unravelWgsl } from './mapKernel.js';
import { type MatmulShapes, matmulMetaWords, matmulSource, runMatmul } from './kernels.js';
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

/**
 * The `let` lines computing the nodes of `k` (only those in `keep`, when given), with `indent`; collects the
 * helper functions they call into `preludes`. Input node reads use `o<k>`, the input's offset.
 */
function nodeLines(
  k: FusedKernel,
  indent: string,
  preludes: string[],
  keep?: ReadonlySet<number>,
  read: (input: number) => string = (j) => `in${j}[o${j}]`,
): string[] {
  const label = 'fused kernel';
  const inTs = k.inputs.map((a) => wgslType(label, a.dtype));
  const types = k.nodes.map((n) => wgslType(n.kind === 'op' ? n.op : label, n.dtype));
  const body: string[] = [];
  k.nodes.forEach((n, i) => {
    const t = types[i]!;
    if (n.kind === 'op') {
      for (const a of n.args) {
        if (!(a >= 0 && a < i)) throw new Error(`fused kernel: node ${i} (${n.op}) uses node ${a}, which is not an earlier node`);
      }
    }
    if (keep && !keep.has(i)) return;
    if (n.kind === 'input') {
      const it = inTs[n.input];
      if (it === undefined) throw new Error(`fused kernel: node ${i} reads input ${n.input}, which does not exist`);
      body.push(`${indent}let v${i}: ${t} = ${it === t ? read(n.input) : `${t}(${read(n.input)})`};`);
    } else if (n.kind === 'literal') {
      // a variable, not a constant: WGSL evaluates constant expressions when the shader is created (and rejects
      // some, such as a division by zero), while the unfused kernels compute on the GPU at run time
      body.push(`${indent}var v${i}: ${t} = ${literalWgsl(n.value, t)};`);
    } else {
      if (n.spec.prelude && !preludes.includes(n.spec.prelude)) preludes.push(n.spec.prelude);
      body.push(`${indent}let v${i}: ${t} = ${t}(${opExpr(n, types)});`);
    }
  });
  return body;
}

/** The input bindings of a fused kernel, then one read-write output binding per type in `outTypes`. */
function bindingLines(k: FusedKernel, outTypes: readonly string[]): string[] {
  const inTs = k.inputs.map((a) => wgslType('fused kernel', a.dtype));
  const bindings = inTs.map((t, j) => `@group(0) @binding(${j + 1}) var<storage, read> in${j}: array<${t}>;`);
  outTypes.forEach((t, j) => {
    bindings.push(`@group(0) @binding(${inTs.length + 1 + j}) var<storage, read_write> out${j}: array<${t}>;`);
  });
  return bindings;
}

const nodeType = (k: FusedKernel, o: number, what: string): 'f32' | 'i32' => {
  const n = k.nodes[o];
  if (n === undefined) throw new Error(`fused kernel: ${what} names node ${o}, which does not exist`);
  return wgslType(n.kind === 'op' ? n.op : 'fused kernel', n.dtype);
};

const sources = new WeakMap<FusedKernel, Map<string, string>>();

/**
 * The WGSL source of a fused kernel's elementwise outputs (independent of its shape and its inputs' shapes);
 * `fast`: its element indices are below FAST_DIVISION_BOUND (the index division goes through f32).
 */
export function fusedWgsl(k: FusedKernel, fast = true, straight = true): string {
  let perKernel = sources.get(k);
  if (!perKernel) {
    perKernel = new Map();
    sources.set(k, perKernel);
  }
  const key = `${fast}|${straight}`;
  const cached = perKernel.get(key);
  if (cached !== undefined) return cached;
  const outTypes = k.outputs.map((o, j) => nodeType(k, o, `output ${j}`));
  const preludes: string[] = [];
  const body = nodeLines(k, '  ', preludes);
  k.outputs.forEach((o, j) => {
    body.push(`  out${j}[i] = v${o};`);
  });
  const src = instantiate('fused', {
    BINDINGS: bindingLines(k, outTypes).join('\n'),
    PRELUDE: preludes.join('\n'),
    DIVMOD: divmodWgsl(fast),
    INDEX: offsetsWgsl(k.inputs.length, straight),
    BODY: body.join('\n'),
  });
  perKernel.set(key, src);
  return src;
}

const flatSources = new WeakMap<FusedKernel, Map<string, string>>();
const COMPONENTS = ['x', 'y', 'z', 'w'] as const;

/**
 * The WGSL source of a fused kernel's elementwise outputs in a flat form (shaders/fused_flat.wgsl, FlatPlan): every
 * input contiguous over the iteration space or one scalar, thread i computing element i, or with `vec4` the quad
 * 4i..4i+3 (contiguous inputs and the outputs read and written as vec4, the nodes computed once per component);
 * or the 'rows' form (rows of quads, inputs contiguous along the row or one value per row). Depends on the nodes,
 * dtypes, the form and which inputs are scalars only (offsets and row strides travel in the parameter block).
 */
export function fusedFlatWgsl(k: FusedKernel, plan: FlatPlan): string {
  const { vec4, scalar } = plan;
  const addr = flatAddressing(plan);
  let perKernel = flatSources.get(k);
  if (!perKernel) {
    perKernel = new Map();
    flatSources.set(k, perKernel);
  }
  const key = `${plan.form}|${vec4 ? 4 : 1}|${scalar.map((b) => (b ? 's' : 'v')).join('')}|${addr.prelude}`;
  const cached = perKernel.get(key);
  if (cached !== undefined) return cached;
  const outTypes = k.outputs.map((o, j) => nodeType(k, o, `output ${j}`));
  const inTs = k.inputs.map((a) => wgslType('fused kernel', a.dtype));
  const arr = (t: string, s: boolean) => (vec4 && !s ? `array<vec4<${t}>>` : `array<${t}>`);
  const bindings = inTs.map((t, j) => `@group(0) @binding(${j + 1}) var<storage, read> in${j}: ${arr(t, scalar[j]!)};`);
  outTypes.forEach((t, j) => {
    bindings.push(`@group(0) @binding(${inTs.length + 1 + j}) var<storage, read_write> out${j}: ${arr(t, false)};`);
  });
  const used = new Set(k.nodes.flatMap((n) => (n.kind === 'input' ? [n.input] : [])));
  const preludes: string[] = [];
  const body: string[] = addr.index ? [addr.index] : [];
  if (vec4) {
    inTs.forEach((t, j) => {
      if (used.has(j)) body.push(`  let q${j}: ${scalar[j] ? t : `vec4<${t}>`} = in${j}[${addr.at(j)}];`);
    });
    outTypes.forEach((t, j) => {
      body.push(`  var s${j}: vec4<${t}>;`);
    });
    for (const c of COMPONENTS) {
      body.push('  {');
      body.push(...nodeLines(k, '    ', preludes, undefined, (j) => (scalar[j] ? `q${j}` : `q${j}.${c}`)));
      k.outputs.forEach((o, j) => {
        body.push(`    s${j}.${c} = v${o};`);
      });
      body.push('  }');
    }
    k.outputs.forEach((_, j) => {
      body.push(`  out${j}[i] = s${j};`);
    });
  } else {
    body.push(...nodeLines(k, '  ', preludes, undefined, (j) => `in${j}[${addr.at(j)}]`));
    k.outputs.forEach((o, j) => {
      body.push(`  out${j}[i] = v${o};`);
    });
  }
  if (addr.prelude) preludes.push(addr.prelude);
  const src = instantiate('fused_flat', { BINDINGS: bindings.join('\n'), PRELUDE: preludes.join('\n'), BODY: body.join('\n') });
  perKernel.set(key, src);
  return src;
}

/** The identity and the combine (of `a` and `b`) of a reduction, as the unfused sum and max kernels fold (max propagates NaN). */
function initCombine(op: FusedReduction['op'], t: 'f32' | 'i32'): [string, (a: string, b: string) => string] {
  if (op === 'sum') return [`${t}(0)`, (a, b) => `${a} + ${b}`];
  if (t === 'f32') return ['-f32_inf()', (a, b) => `select(${a}, ${b}, ${b} > ${a} || is_nan(${b}))`];
  return ['i32(-2147483647 - 1)', (a, b) => `max(${a}, ${b})`];
}

/** The nodes that `roots` depend on (themselves included). */
function ancestors(k: FusedKernel, roots: readonly number[]): Set<number> {
  const seen = new Set<number>();
  const stack = [...roots];
  while (stack.length > 0) {
    const i = stack.pop()!;
    if (seen.has(i)) continue;
    const n = k.nodes[i];
    if (n === undefined) throw new Error(`fused kernel: a reduction names node ${i}, which does not exist`);
    seen.add(i);
    if (n.kind === 'op') stack.push(...n.args);
  }
  return seen;
}

/**
 * The collapsed rank up to which fused.wgsl computes the inputs' offsets in straight-line code: the host pads
 * the collapsed shape to this rank with leading size-1 dims, so one source serves every shape up to it; past it,
 * a loop over the rank (a second source).
 */
const STRAIGHT_RANK = 4;

/**
 * The inputs' offsets `o0..` of element `i` in fused.wgsl (meta: [1] rank, [2..2+rank) shape, input j's strides at
 * 2 + rank·(j+1)): with `straight`, straight-line code with constant parameter indices for rank STRAIGHT_RANK;
 * else a loop over the rank.
 */
function offsetsWgsl(inputs: number, straight: boolean): string {
  const r = STRAIGHT_RANK;
  if (straight) {
    const lines = unravelWgsl('  ', 'i', 'idx', r, (d) => 1 + d);
    for (let j = 0; j < inputs; j++) lines.push(`  let o${j} = ${sumTerms('idx', r, (d) => 2 + r * (j + 1) + d - 1)};`);
    return lines.join('\n');
  }
  const lines = Array.from({ length: inputs }, (_, j) => `  var o${j} = 0u;`);
  lines.push('  let rank = m(1u);', '  var rem = i;', '  for (var d = rank; d > 0u; d--) {');
  lines.push('    let qr = index_divmod(rem, m(1u + d));', '    rem = qr.x;');
  for (let j = 0; j < inputs; j++) lines.push(`    o${j} += qr.y * m(1u + rank * ${j + 1}u + d);`);
  lines.push('  }');
  return lines.join('\n');
}

/** `name1 * m(at(1)) + … + name<rank> * m(at(rank))`, or `0u` for rank 0. */
function sumTerms(name: string, rank: number, at: (d: number) => number): string {
  if (rank === 0) return '0u';
  return Array.from({ length: rank }, (_, i) => `${name}${i + 1} * m(${at(i + 1)}u)`).join(' + ');
}

const reduceSources = new WeakMap<FusedKernel, Map<string, string>>();

/**
 * The WGSL source of the reductions `which` (indices into `k.reductions`, all over the same axes) of a fused
 * kernel: one kernel computing the nodes they need per element and folding them, one output per reduction
 * (independent of the shape and of the axes, which travel in the parameter block).
 */
export function fusedReduceWgsl(k: FusedKernel, which: readonly number[], fast = true): string {
  let perKernel = reduceSources.get(k);
  if (!perKernel) {
    perKernel = new Map();
    reduceSources.set(k, perKernel);
  }
  const key = `${fast}|${which.join(',')}`;
  const cached = perKernel.get(key);
  if (cached !== undefined) return cached;
  const reds = which.map((r) => {
    const red = k.reductions?.[r];
    if (!red) throw new Error(`fused kernel: no reduction ${r}`);
    return red;
  });
  const outTypes = reds.map((r, j) => nodeType(k, r.node, `reduction ${which[j]}`));
  const needed = ancestors(
    k,
    reds.map((r) => r.node),
  );
  const used = k.inputs.map((_, j) => k.nodes.some((n, i) => n.kind === 'input' && n.input === j && needed.has(i)));
  const usedIdx = used.flatMap((u, j) => (u ? [j] : []));
  const preludes: string[] = [];
  const body = nodeLines(k, '      ', preludes, needed);
  const fields: string[] = [];
  const inits: string[] = [];
  const combines: string[] = [];
  const folds: string[] = [];
  const stores: string[] = [];
  reds.forEach((r, j) => {
    const t = outTypes[j]!;
    const [init, combine] = initCombine(r.op, t);
    fields.push(`  r${j}: ${t},`);
    inits.push(`  a.r${j} = ${init};`);
    combines.push(`  c.r${j} = ${combine(`a.r${j}`, `b.r${j}`)};`);
    folds.push(`      acc.r${j} = ${combine(`acc.r${j}`, `v${r.node}`)};`);
    stores.push(`    out${j}[cell] = r.r${j};`);
  });
  const src = instantiate('fused_reduce', {
    BINDINGS: bindingLines(k, outTypes).join('\n'),
    PRELUDE: preludes.join('\n'),
    DIVMOD: divmodWgsl(fast),
    ACC_FIELDS: fields.join('\n'),
    ACC_INIT: inits.join('\n'),
    ACC_COMBINE: combines.join('\n'),
    BASES: usedIdx.map((j) => `  var b${j} = 0u;`).join('\n'),
    BASE_STEPS: usedIdx.map((j) => `    b${j} += qr.y * m(sb + ${j}u * w + d - 1u);`).join('\n'),
    STRIDES: usedIdx.map((j) => `    let s${j} = m(sb + ${j}u * w + kr);`).join('\n'),
    OFFSETS_ONE: usedIdx.map((j) => `      let o${j} = b${j} + j * s${j};`).join('\n'),
    OFFSETS: usedIdx.map((j) => `      var o${j} = b${j};`).join('\n'),
    STEPS: usedIdx.map((j) => `        o${j} += qr.y * m(sb + ${j}u * w + kr + d - 1u);`).join('\n'),
    BODY: body.join('\n'),
    FOLD: folds.join('\n'),
    STORES: stores.join('\n'),
  });
  perKernel.set(key, src);
  return src;
}

/** Most reductions one fused reduction kernel folds (each takes 1 KiB of workgroup memory and one binding). */
const MAX_REDUCTIONS_PER_KERNEL = 8;

/**
 * How the reductions of `k` are dispatched: groups of reductions over the same axes, each one generated kernel
 * (at most MAX_REDUCTIONS_PER_KERNEL, and within the storage-buffer limit with the inputs); null when even one
 * reduction with all the inputs exceeds the limit (the reduced nodes are then materialised first).
 */
export function reductionGroups(k: FusedKernel, maxStorageBuffers: number): number[][] | null {
  const reds = k.reductions ?? [];
  const per = Math.min(MAX_REDUCTIONS_PER_KERNEL, maxStorageBuffers - k.inputs.length);
  if (per < 1) return null;
  const byAxes = new Map<string, number[]>();
  reds.forEach((r, i) => {
    const key = r.axes.join(',');
    const g = byAxes.get(key);
    if (g) g.push(i);
    else byAxes.set(key, [i]);
  });
  const groups: number[][] = [];
  for (const g of byAxes.values()) {
    for (let s = 0; s < g.length; s += per) groups.push(g.slice(s, s + per));
  }
  return groups;
}

/** The shape of reduction `r`'s output: the kernel's shape without the reduced axes. */
export const reducedShape = (k: FusedKernel, r: FusedReduction): number[] => k.shape.filter((_, i) => !r.axes.includes(i));

/** Every WGSL source `runFused` compiles for `k` (the elementwise outputs' kernel, then one per group of reductions). */
export function fusedSources(k: FusedKernel, maxStorageBuffers: number): string {
  const reds = k.reductions ?? [];
  if (reds.length === 0) return elementwiseSource(k);
  const parts: string[] = [];
  if (k.outputs.length > 0) parts.push(`// elementwise outputs\n${elementwiseSource(elementwisePart(k))}`);
  const groups = reductionGroups(k, maxStorageBuffers);
  if (groups === null) {
    parts.unshift(`// reduced nodes materialised (too many inputs for one kernel)\n${elementwiseSource(materialising(k))}`);
    reds.forEach((r, i) => {
      parts.push(`// reduction ${i}: ${r.op}\n${fusedReduceWgsl(reductionOfInput(k, r), [0])}`);
    });
  } else {
    for (const g of groups) parts.push(`// reductions ${g.join(', ')}\n${fusedReduceWgsl(k, g)}`);
  }
  return parts.join('\n\n');
}

const elementwiseParts = new WeakMap<FusedKernel, FusedKernel>();

/** `k` without its reductions (its elementwise outputs only). */
function elementwisePart(k: FusedKernel): FusedKernel {
  let e = elementwiseParts.get(k);
  if (!e) {
    e = { shape: k.shape, inputs: k.inputs, nodes: k.nodes, outputs: k.outputs };
    elementwiseParts.set(k, e);
  }
  return e;
}

const materialisingParts = new WeakMap<FusedKernel, FusedKernel>();

/** `k` without its reductions, with the reduced nodes as more outputs after its own (each once). */
function materialising(k: FusedKernel): FusedKernel {
  let e = materialisingParts.get(k);
  if (!e) {
    const extra = [...new Set((k.reductions ?? []).map((r) => r.node))];
    e = { shape: k.shape, inputs: k.inputs, nodes: k.nodes, outputs: [...k.outputs, ...extra] };
    materialisingParts.set(k, e);
  }
  return e;
}

/** A kernel reducing its one input (the materialised values of `r.node`) as `r` does. */
function reductionOfInput(k: FusedKernel, r: FusedReduction): FusedKernel {
  const dtype = k.nodes[r.node]?.dtype;
  if (dtype === undefined) throw new Error(`fused kernel: a reduction names node ${r.node}, which does not exist`);
  return {
    shape: k.shape,
    inputs: [{ shape: k.shape, dtype }],
    nodes: [{ kind: 'input', input: 0, dtype }],
    outputs: [],
    reductions: [{ node: 0, op: r.op, axes: r.axes }],
  };
}

function checkBroadcast(k: FusedKernel, shape: Shape, j: number): void {
  const ok = shape.length <= k.shape.length && shape.every((d, i) => d === 1 || d === k.shape[k.shape.length - shape.length + i]);
  if (!ok) throw new Error(`fused kernel: input ${j} of shape [${shape.join(',')}] does not broadcast to [${k.shape.join(',')}]`);
}

/**
 * The source, parameter block and thread count of the elementwise kernel of `k` at its shape: a flat form
 * (shaders/fused_flat.wgsl) when its inputs allow one, else the strided kernel (shaders/fused.wgsl; the collapsed
 * shape padded to STRAIGHT_RANK with leading size-1 dims when it has at most that rank).
 */
function elementwiseLaunch(k: FusedKernel): { src: string; meta: readonly number[]; threads: number } {
  const n = sizeOf(k.shape);
  const c = collapse(
    k.shape,
    k.inputs.map((a) => broadcastStrides(a.shape, k.shape)),
  );
  checkRank('fused kernel', c.shape.length);
  const plan = flatPlan(
    c.shape,
    c.strides,
    c.strides.map(() => 0),
  );
  if (plan) return { src: fusedFlatWgsl(k, plan), meta: plan.meta, threads: plan.threads };
  const straight = c.shape.length <= STRAIGHT_RANK;
  const pad = straight ? STRAIGHT_RANK - c.shape.length : 0;
  const meta: number[] = [n, c.shape.length + pad, ...new Array<number>(pad).fill(1), ...c.shape];
  for (const st of c.strides) meta.push(...new Array<number>(pad).fill(0), ...st);
  return { src: fusedWgsl(k, n < FAST_DIVISION_BOUND, straight), meta, threads: n };
}

/** The elementwise source `runFused` runs for `k` at its shape (see elementwiseLaunch). */
const elementwiseSource = (k: FusedKernel): string => (sizeOf(k.shape) === 0 ? fusedWgsl(k) : elementwiseLaunch(k).src);

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
  if (k.reductions && k.reductions.length > 0) return runWithReductions(ctx, k, k.reductions, inputs, release);
  if (k.inputs.length + k.outputs.length > ctx.maxStorageBuffers) return runNodeByNode(ctx, k, inputs, release);
  const n = sizeOf(k.shape);
  const outs = k.outputs.map(() => ctx.alloc(n * 4));
  if (n === 0) return outs;
  const { src, meta, threads } = elementwiseLaunch(k);
  const pipeline = ctx.pipeline(`fused|${src}`, () => src, 'main', k.inputs.length, 'fused kernel', k.outputs.length);
  ctx.dispatch(
    pipeline,
    inputs,
    outs.map((o) => o.buffer),
    meta,
    threadsGrid(threads),
  );
  return outs;
}

/** The parameter block of a reduction over `axes` (layout in shaders/fused_reduce.wgsl), its output and reduced sizes. */
function reductionLayout(k: FusedKernel, axes: readonly number[]): { meta: number[]; nOut: number; nRed: number } {
  const strides = k.inputs.map((a) => broadcastStrides(a.shape, k.shape));
  const keptDims = k.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const kept = collapse(
    keptDims.map((i) => k.shape[i]!),
    strides.map((st) => keptDims.map((i) => st[i]!)),
  );
  const red = collapse(
    axes.map((i) => k.shape[i]!),
    strides.map((st) => axes.map((i) => st[i]!)),
  );
  checkRank('fused kernel', kept.shape.length);
  checkRank('fused kernel', red.shape.length);
  const nOut = sizeOf(kept.shape);
  const nRed = sizeOf(red.shape);
  const meta = [nOut, nRed, kept.shape.length, red.shape.length, ...kept.shape, ...red.shape];
  k.inputs.forEach((_, j) => {
    meta.push(...kept.strides[j]!, ...red.strides[j]!);
  });
  return { meta, nOut, nRed };
}

/** Records one generated reduction kernel for the reductions `which` of `k` (all over the same axes); returns their outputs. */
function runReductionGroup(ctx: KernelContext, k: FusedKernel, which: readonly number[], inputs: readonly GPUBuffer[]): SharedBuffer[] {
  const reds = which.map((r) => k.reductions![r]!);
  const { meta, nOut, nRed } = reductionLayout(k, reds[0]!.axes);
  const outs = reds.map(() => ctx.alloc(nOut * 4));
  if (nOut === 0) return outs;
  if (nRed === 0) {
    // a sum over an empty axis is 0 (the max primitive rejects empty axes in its shape rule)
    reds.forEach((r, j) => {
      if (r.op !== 'sum') throw new Error(`fused kernel: ${r.op} over an empty axis`);
      ctx.clear(outs[j]!.buffer, nOut * 4);
    });
    return outs;
  }
  const src = fusedReduceWgsl(k, which, Math.max(nOut, nRed) < FAST_DIVISION_BOUND);
  const { entry, groups } = reductionEntry(ctx, nOut, nRed);
  const pipeline = ctx.pipeline(`fused_reduce|${src}`, () => src, entry, k.inputs.length, 'fused kernel', reds.length);
  ctx.dispatch(
    pipeline,
    inputs,
    outs.map((o) => o.buffer),
    meta,
    groups,
  );
  return outs;
}

/**
 * A kernel with reductions: its elementwise outputs (if any) by the elementwise kernel, then each group of
 * reductions over the same axes by one generated kernel that recomputes the reduced nodes per element without
 * storing them. Past the storage-buffer or parameter limits the reduced nodes are materialised and reduced one
 * by one.
 */
function runWithReductions(
  ctx: KernelContext,
  k: FusedKernel,
  reds: readonly FusedReduction[],
  inputs: readonly GPUBuffer[],
  release: (b: SharedBuffer) => void,
): SharedBuffer[] {
  const groups = reductionGroups(k, ctx.maxStorageBuffers);
  const fits = groups?.every((g) => reductionLayout(k, reds[g[0]!]!.axes).meta.length <= META_BYTES / 4);
  if (!groups || !fits) {
    const extra = [...new Set(reds.map((r) => r.node))];
    const bufs = runFusedKernel(ctx, materialising(k), inputs, release);
    const reduced = reds.map((r) => {
      const values = bufs[k.outputs.length + extra.indexOf(r.node)]!;
      return runReductionGroup(ctx, reductionOfInput(k, r), [0], [values.buffer])[0]!;
    });
    for (const b of bufs.slice(k.outputs.length)) release(b);
    return [...bufs.slice(0, k.outputs.length), ...reduced];
  }
  const outs = k.outputs.length > 0 ? runFusedKernel(ctx, elementwisePart(k), inputs, release) : [];
  const results: SharedBuffer[] = [];
  for (const g of groups) {
    const bufs = runReductionGroup(ctx, k, g, inputs);
    g.forEach((r, j) => {
      results[r] = bufs[j]!;
    });
  }
  return [...outs, ...results];
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

// ---- matmul epilogues ----

/** The epilogue of `k` (a kernel with a matmul) without its matmul: input 0 is then a buffer holding the product. */
const epilogueParts = new WeakMap<FusedKernel, FusedKernel>();
function withoutMatmul(k: FusedKernel): FusedKernel {
  let e = epilogueParts.get(k);
  if (!e) {
    e = { shape: k.shape, inputs: k.inputs, nodes: k.nodes, outputs: k.outputs };
    epilogueParts.set(k, e);
  }
  return e;
}

/** Checks a kernel with a matmul: operands of rank ≥ 2 and one dtype, inner dims equal, the product of the kernel's shape. */
function checkMatmul(k: FusedKernel): MatmulShapes {
  const mm = k.matmul!;
  const { a, b } = mm;
  const txt = `matmul ${a.dtype}[${a.shape.join(',')}] ${b.dtype}[${b.shape.join(',')}]`;
  const fail = (why: string): never => {
    throw new Error(`fused kernel (${txt}): ${why}`);
  };
  if ((k.reductions ?? []).length > 0) fail('a kernel with a matmul has no reductions');
  if (a.shape.length < 2 || b.shape.length < 2) fail('the WebGPU backend fuses epilogues into matmuls of operands of rank 2 or more');
  if (a.dtype !== b.dtype || a.dtype !== k.inputs[0]?.dtype)
    fail(`the operands and the product (input 0: ${k.inputs[0]?.dtype}) have one dtype`);
  const K = a.shape[a.shape.length - 1]!;
  if (b.shape[b.shape.length - 2] !== K) fail(`inner dims ${K} and ${b.shape[b.shape.length - 2]} differ`);
  const batch = broadcastBatch(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = batch && [...batch, a.shape[a.shape.length - 2]!, b.shape[b.shape.length - 1]!];
  if (!out) fail('the batch dims do not broadcast');
  const same = (s: Shape) => s.length === k.shape.length && s.every((d, i) => d === k.shape[i]);
  if (!same(out!)) fail(`the product [${out!.join(',')}] is not the kernel's shape [${k.shape.join(',')}]`);
  if (!same(k.inputs[0]!.shape)) fail(`input 0 (the product) has shape [${k.inputs[0]!.shape.join(',')}], not the kernel's`);
  return { a: a.shape, b: b.shape, out: k.shape, t: wgslType('matmul', a.dtype) };
}

/** numpy broadcasting of two batch shapes, or null. */
function broadcastBatch(x: Shape, y: Shape): number[] | null {
  const r = Math.max(x.length, y.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const p = x[x.length - r + i] ?? 1;
    const q = y[y.length - r + i] ?? 1;
    if (p !== q && p !== 1 && q !== 1) return null;
    out.push(p === 1 ? q : p);
  }
  return out;
}

const epilogueSources = new WeakMap<FusedKernel, Map<boolean, string>>();

/**
 * The {{EPILOGUE}} of a matmul kernel computing the nodes of `k` (src/backends/webgpu/kernels.ts MatmulEpilogue): the
 * inputs 1, 2, … of `k` at bindings 3, 4, … (read by element with broadcast offsets: each input's offset of the batch,
 * computed once per thread by `epilogue_setup`, plus row and column times its strides), its outputs after them.
 * `store_c(i, row, col, p)` writes the product value p (its bits) to output 0 at i; `epilogue_finish` then walks the
 * thread's block (the rows and columns the matmul kernel passes it, clipped to C at run time), reads each value
 * back, computes the nodes as the fused elementwise kernel does and writes every output at i. The nodes thus appear
 * once in the kernel, in a loop, rather than at each of the thread's unrolled stores (up to 512 of them: compiling
 * that many copies takes a software adapter minutes); the value read back is the one just written by the same
 * thread. With `vec4`, each value is a quad of C (columns col..col+3 of one row): the nodes run once per component
 * and the outputs are written as vec4. The product stays in output 0 only where it is that output.
 */
export function matmulEpilogueWgsl(k: FusedKernel, vec4: boolean): string {
  let perKernel = epilogueSources.get(k);
  if (!perKernel) {
    perKernel = new Map();
    epilogueSources.set(k, perKernel);
  }
  const cached = perKernel.get(vec4);
  if (cached !== undefined) return cached;
  const E = k.inputs.length - 1;
  const t = wgslType('matmul', k.inputs[0]!.dtype);
  const inTs = k.inputs.map((a) => wgslType('fused kernel', a.dtype));
  const outTypes = k.outputs.map((o, j) => nodeType(k, o, `output ${j}`));
  if (outTypes.length === 0) throw new Error('fused kernel: a matmul epilogue without outputs');
  const v4 = (x: string) => (vec4 ? `vec4<${x}>` : x);
  const lines: string[] = [];
  for (let j = 1; j <= E; j++) lines.push(`@group(0) @binding(${2 + j}) var<storage, read> in${j}: array<${inTs[j]!}>;`);
  outTypes.forEach((ot, j) => {
    lines.push(`@group(0) @binding(${3 + E + j}) var<storage, read_write> out${j}: array<${v4(ot)}>;`);
  });
  const used = [...new Set(k.nodes.flatMap((n) => (n.kind === 'input' && n.input > 0 ? [n.input] : [])))].sort((x, y) => x - y);
  // the parameters after B's batch strides: input j's batch strides, then (after all of them) its row and column strides
  const batchStride = (j: number, d: string) => `m(4u + ${j + 2}u * BR + ${d})`;
  const rowCol = (j: number) => [`m(5u + ${E + 3}u * BR + ${2 * (j - 1)}u)`, `m(5u + ${E + 3}u * BR + ${2 * (j - 1) + 1}u)`];
  for (const j of used) lines.push(`var<private> eb${j}: u32;`);
  lines.push('fn epilogue_setup(batch: u32) {');
  if (used.length > 0) {
    lines.push('  var rem = batch;', '  for (var d = BR; d > 0u; d--) {', '    let dim = m(4u + d);', '    let idx = rem % dim;');
    lines.push('    rem = rem / dim;');
    for (const j of used) lines.push(`    eb${j} += idx * ${batchStride(j, 'd')};`);
    lines.push('  }');
  }
  lines.push('}');
  lines.push(`fn store_c(i: u32, row: u32, col: u32, p: ${v4(t)}) {`, `  out0[i] = bitcast<${v4(outTypes[0]!)}>(p);`, '}');
  const preludes: string[] = [];
  lines.push('fn epilogue_finish(c_base: u32, row0: u32, rows: u32, col0: u32, cols: u32, step: u32) {');
  lines.push('  let M = m(0u);', `  let NC = m(1u)${vec4 ? ' / 4u' : ''};`);
  lines.push('  let r_end = min(rows, M - min(row0, M));', '  let q_end = min(cols, (NC - min(col0, NC) + step - 1u) / step);');
  lines.push('  for (var r = 0u; r < r_end; r++) {', '    let row = row0 + r;', '    for (var q = 0u; q < q_end; q++) {');
  lines.push('      let cq = col0 + q * step;', '      let i = c_base + row * NC + cq;');
  lines.push(`      let p = bitcast<${v4(t)}>(out0[i]);`);
  const offsets = (indent: string, col: string) =>
    used.map((j) => {
      const [rs, cs] = rowCol(j);
      return `${indent}let o${j} = eb${j} + row * ${rs} + ${col} * ${cs};`;
    });
  if (vec4) {
    outTypes.forEach((ot, j) => {
      lines.push(`      var s${j}: vec4<${ot}>;`);
    });
    COMPONENTS.forEach((c, q) => {
      lines.push('      {');
      lines.push(...offsets('        ', `(4u * cq + ${q}u)`));
      lines.push(...nodeLines(k, '        ', preludes, undefined, (j) => (j === 0 ? `p.${c}` : `in${j}[o${j}]`)));
      k.outputs.forEach((o, j) => {
        lines.push(`        s${j}.${c} = v${o};`);
      });
      lines.push('      }');
    });
    k.outputs.forEach((_, j) => {
      lines.push(`      out${j}[i] = s${j};`);
    });
  } else {
    lines.push(...offsets('      ', 'cq'));
    lines.push(...nodeLines(k, '      ', preludes, undefined, (j) => (j === 0 ? 'p' : `in${j}[o${j}]`)));
    k.outputs.forEach((o, j) => {
      lines.push(`      out${j}[i] = v${o};`);
    });
  }
  lines.push('    }', '  }', '}');
  const src = [...lines, ...preludes].join('\n');
  perKernel.set(vec4, src);
  return src;
}

/** Whether the matmul with `k`'s epilogue fits one kernel: its buffers within the storage-buffer limit, its parameters in the slot. */
function epilogueFits(k: FusedKernel, maxStorageBuffers: number): boolean {
  const E = k.inputs.length - 1;
  return 2 + E + k.outputs.length <= maxStorageBuffers && matmulMetaWords(Math.max(k.shape.length - 2, 0), E) <= META_BYTES / 4;
}

/**
 * Runs a kernel with a matmul (inputs `[a, b, input 1, …]`): one matmul kernel computing the product with the
 * matmul primitive's own kernel and arithmetic and applying the nodes where it stores C (matmulEpilogueWgsl). Past
 * the storage-buffer or parameter limits, the product is computed by the plain matmul kernel into a temporary
 * buffer and the nodes run as a fused elementwise kernel reading it (same values, one more dispatch).
 */
export function runFusedMatmul(
  ctx: KernelContext,
  k: FusedKernel,
  inputs: readonly GPUBuffer[],
  release: (b: SharedBuffer) => void,
): SharedBuffer[] {
  const s = checkMatmul(k);
  if (inputs.length !== k.inputs.length + 1)
    throw new Error(
      `fused kernel: ${k.inputs.length + 1} input buffers expected (a, b of its matmul, then inputs 1…), got ${inputs.length}`,
    );
  k.inputs.forEach((a, j) => {
    checkBroadcast(k, a.shape, j);
  });
  const n = sizeOf(k.shape);
  if (!epilogueFits(k, ctx.maxStorageBuffers)) {
    const product = ctx.alloc(n * 4);
    runMatmul(ctx, s, inputs[0]!, inputs[1]!, product.buffer);
    const outs = runFusedKernel(ctx, withoutMatmul(k), [product.buffer, ...inputs.slice(2)], release);
    release(product);
    return outs;
  }
  const outs = k.outputs.map(() => ctx.alloc(n * 4));
  if (outs.length === 0) return outs;
  runMatmul(ctx, s, inputs[0]!, inputs[1]!, {
    source: (vec4) => matmulEpilogueWgsl(k, vec4),
    inputs: inputs.slice(2),
    strides: k.inputs.slice(1).map((a) => broadcastStrides(a.shape, k.shape)),
    outputs: outs.map((o) => o.buffer),
  });
  return outs;
}

/** The WGSL `runFused` runs for a kernel with a matmul: the matmul kernel with the epilogue, or the product then the epilogue. */
export function fusedMatmulSource(ctx: KernelContext, k: FusedKernel): string {
  const s = checkMatmul(k);
  if (!epilogueFits(k, ctx.maxStorageBuffers)) {
    return (
      `// the product (the plain matmul kernel; the epilogue's buffers exceed one kernel)\n${matmulSource(ctx, s)}\n\n` +
      `// the epilogue\n${elementwiseSource(withoutMatmul(k))}`
    );
  }
  return matmulSource(ctx, s, {
    source: (vec4) => matmulEpilogueWgsl(k, vec4),
    strides: k.inputs.slice(1).map((a) => broadcastStrides(a.shape, k.shape)),
  });
}
