/**
 * Fused elementwise kernels on the CPU (src/backends/fused.ts): one
 * JavaScript loop over the output elements computes every node of the group
 * per element and stores each output, instead of one loop and one buffer per
 * primitive.
 *
 * Each kernel becomes a function generated with `new Function` and cached by
 * the kernel's structure (nodes, dtypes and how each input is read), so
 * kernels that differ only in their shapes share code: dimensions and strides
 * are arguments. Inputs are read in one of three ways: the full shape
 * (element i), a single value (read once, before the loop, together with
 * every node that depends only on such values and on literals), or general
 * broadcasting (an odometer over the iteration space, with adjacent
 * dimensions that step alike collapsed into one). The common arithmetic is
 * written inline as JavaScript with the semantics of the primitive's scalar
 * function; other nodes call that function. Every node is rounded to its
 * dtype (Math.fround for f32, ToInt32 for i32) exactly as the unfused op
 * stores its result in a typed array, so the results are bit for bit those
 * of the ops run one by one.
 *
 * Fused reductions (sum, max) fold their node into a Float64Array of output
 * cells during the same loop, so the reduced node is never stored: each
 * reduction's cell walks the iteration space like a broadcast input (stride 0
 * along the reduced axes), and a cell that stays fixed along the inner loop
 * is folded in a local. Values are folded in row-major order in doubles and
 * stored once in the dtype, as the unfused reduce kernel does, so sums and
 * maxima are bit for bit the unfused ones.
 *
 * A kernel with a matmul (its input 0 is the product of `a` and `b`)
 * computes the product a tile of rows at a time into a small scratch buffer
 * with the matmul kernel's own inner loop (cpu/kernels.ts `gemmBt`: each
 * element a dot product summed in ascending order in a double, then stored in
 * the dtype), and runs the elementwise nodes over each tile while it is in
 * cache, writing the outputs directly: the product is stored only when it is
 * itself an output, and it is bit for bit the unfused matmul's.
 *
 * Where code generation is forbidden (a strict Content-Security-Policy), an
 * interpreter runs the same plan with closures built once per kernel: same
 * results, slower. {@link setFusedInterpreter} forces it.
 */
import { allocArray, dtypeOfArray, type DType, type TypedArray } from '../../tensor/dtype.js';
import { broadcastStrides, shapesEqual, sizeOf, type Shape } from '../../tensor/shape.js';
import { fusedToText, type FusedKernel, type FusedNode, type FusedReduction } from '../fused.js';
import { gemmBt, transposeMatrices } from './kernels.js';

/**
 * How an input is read: the full shape (element i), one value for all elements, general broadcasting, or (input 0 of a
 * kernel with a matmul) the tile of the product being computed.
 */
type Access = 'full' | 'scalar' | 'strided' | 'product';

/** Its letter in a plan's key. */
const ACCESS_KEY: Readonly<Record<Access, string>> = { full: 'f', scalar: 's', strided: 'b', product: 'p' };

/** The product of a kernel with a matmul, as the plan computes it: tiles of `rows` rows of each [m, n] matrix. */
interface MatmulPlan {
  readonly dtype: DType;
  /** Matrices in the product (the batch dims' size), and the matrices' dims. */
  readonly batch: number;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  /** Rows per tile (a multiple of 4, as the matmul kernel blocks its rows, except where m is smaller). */
  readonly rows: number;
  /** Per matrix of the product: where its matrix of `a` starts, and its matrix of bᵀ. */
  readonly aOff: readonly number[];
  readonly bOff: readonly number[];
  /** Per input read with broadcasting (else null): where each matrix's first element is read, and the row and column strides. */
  readonly inBatch: readonly (readonly number[] | null)[];
  readonly inRow: readonly number[];
  readonly inCol: readonly number[];
  /** Whether a live node reads the product (else it is not computed). */
  readonly used: boolean;
}

/** Elements of the product per tile (rows × n, at least 4 rows). */
const TILE = 2048;

/** A fused reduction as the plan runs it. */
interface PlanReduction {
  readonly node: number;
  readonly op: 'sum' | 'max';
  readonly dtype: DType;
  /** Elements of the reduced output. */
  readonly size: number;
  /** The output cell stays the same along the innermost collapsed dimension (the loop folds into a local). */
  readonly innerFixed: boolean;
}

/** What the runs of one kernel share: how each node and input is handled (independent of the data). */
interface Plan {
  readonly kernel: FusedKernel;
  /** Elements of the iteration shape. */
  readonly n: number;
  /** Nodes some output depends on. */
  readonly live: readonly boolean[];
  /** Nodes computed once per run (literals, single-value inputs and what depends only on them). */
  readonly invariant: readonly boolean[];
  /** Per input. */
  readonly access: readonly Access[];
  /** The collapsed iteration space of the strided inputs and the reductions, and the inputs' strides in it (null for the others). */
  readonly dims: readonly number[];
  readonly strides: readonly (readonly number[] | null)[];
  /** The reductions, and the strides of their output cells in the collapsed iteration space. */
  readonly reductions: readonly PlanReduction[];
  readonly rstrides: readonly (readonly number[])[];
  /** The literals rounded to their dtype, by node. */
  readonly literals: readonly number[];
  /** Whether a node is computed by inline JavaScript rather than by calling its scalar function. */
  readonly inline: readonly boolean[];
  /** The matmul computing input 0, if any. */
  readonly mm: MatmulPlan | null;
}

type Compiled = (
  ins: readonly TypedArray[],
  outs: readonly TypedArray[],
  F: readonly (((...xs: number[]) => number) | null)[],
  n: number,
  D: readonly number[],
  S: readonly (readonly number[] | null)[],
  A: readonly Float64Array[],
  R: readonly (readonly number[])[],
) => void;

/** The generated function of a kernel with a matmul: `ins[0]` is the tile, filled by `G` from `ad` and `bt`. */
type CompiledMatmul = (
  ins: readonly TypedArray[],
  outs: readonly TypedArray[],
  F: readonly (((...xs: number[]) => number) | null)[],
  M: MatmulPlan,
  G: typeof gemmBt,
  ad: TypedArray,
  bt: TypedArray,
) => void;

// ---- the kernel's checks ----

const fail = (k: FusedKernel, msg: string): never => {
  throw new Error(`fused kernel: ${msg}\n${fusedToText(k)}`);
};

/** Whether `s` broadcasts to `target` (numpy rules, aligned on the right). */
const broadcastsTo = (s: Shape, target: Shape): boolean =>
  s.length <= target.length && s.every((d, i) => d === 1 || d === target[target.length - s.length + i]);

/** The broadcast batch shape of a matmul's operands, or null where they do not broadcast. */
function batchShape(sa: Shape, sb: Shape): number[] | null {
  const a = sa.slice(0, -2);
  const b = sb.slice(0, -2);
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

function checkMatmul(k: FusedKernel): void {
  const mm = k.matmul;
  if (!mm) return;
  const { a, b } = mm;
  const txt = `matmul ${a.dtype}[${a.shape.join(',')}] x ${b.dtype}[${b.shape.join(',')}]`;
  if ((k.reductions ?? []).length > 0) fail(k, 'a kernel with a matmul has no reductions');
  if (a.shape.length < 2 || b.shape.length < 2) fail(k, `${txt}: the operands must have rank ≥ 2`);
  if (a.dtype !== b.dtype) fail(k, `${txt}: the operands' dtypes differ`);
  if (a.shape[a.shape.length - 1] !== b.shape[b.shape.length - 2]) fail(k, `${txt}: the inner dimensions differ`);
  const batch = batchShape(a.shape, b.shape) ?? fail(k, `${txt}: the batch dims do not broadcast`);
  const product = [...batch, a.shape[a.shape.length - 2]!, b.shape[b.shape.length - 1]!];
  if (!shapesEqual(product, k.shape)) fail(k, `${txt} is of shape [${product.join(',')}], not the kernel's [${k.shape.join(',')}]`);
  const in0 = k.inputs[0];
  if (!in0 || in0.dtype !== a.dtype || !shapesEqual(in0.shape, k.shape))
    fail(k, `${txt}: input 0 (the product) should be ${a.dtype}[${k.shape.join(',')}]`);
}

function checkKernel(k: FusedKernel): void {
  checkMatmul(k);
  (k.reductions ?? []).forEach((r, m) => {
    if (!Number.isInteger(r.node) || r.node < 0 || r.node >= k.nodes.length)
      fail(k, `reduction ${m} reads node ${r.node}, which does not exist (${k.nodes.length} nodes)`);
    if (r.op !== 'sum' && r.op !== 'max') fail(k, `reduction ${m} is '${String(r.op)}', not sum or max`);
    r.axes.forEach((a, q) => {
      if (!Number.isInteger(a) || a < 0 || a >= k.shape.length)
        fail(k, `reduction ${m}: axis ${a} is out of bounds for rank ${k.shape.length}`);
      if (q > 0 && a <= r.axes[q - 1]!) fail(k, `reduction ${m}: axes [${r.axes.join(',')}] are not sorted and distinct`);
      if (r.op === 'max' && k.shape[a] === 0) fail(k, `reduction ${m}: max over the empty axis ${a}`);
    });
  });
  k.inputs.forEach((a, j) => {
    if (!broadcastsTo(a.shape, k.shape)) fail(k, `input ${j} of shape [${a.shape.join(',')}] does not broadcast to [${k.shape.join(',')}]`);
  });
  k.nodes.forEach((node, i) => {
    if (node.kind === 'input') {
      const a = k.inputs[node.input];
      if (!a) fail(k, `node ${i} reads input ${node.input}, but the kernel has ${k.inputs.length} inputs`);
      else if (a.dtype !== node.dtype) fail(k, `node ${i} reads input ${node.input} of dtype ${a.dtype} as ${node.dtype}`);
    } else if (node.kind === 'op') {
      for (const a of node.args) {
        if (!Number.isInteger(a) || a < 0 || a >= i) fail(k, `node ${i} (${node.op}) takes node ${a}, which is not an earlier node`);
      }
      const arity = INLINE[node.op]?.arity;
      if (arity !== undefined && node.args.length !== arity)
        fail(k, `node ${i} (${node.op}) has ${node.args.length} arguments, not ${arity}`);
    }
  });
  for (const o of k.outputs) {
    if (!Number.isInteger(o) || o < 0 || o >= k.nodes.length) fail(k, `output node ${o} does not exist (${k.nodes.length} nodes)`);
  }
}

// ---- inline arithmetic ----

interface Inline {
  readonly arity: number;
  /** The wasm operation its fusion description must name (a primitive of another name or meaning is called instead). */
  readonly wasm: string;
  /** The JavaScript expression over the argument expressions (same value as the primitive's scalar function). */
  readonly js: (x: readonly string[]) => string;
  /**
   * The arguments whose values the result may be; when all have the node's dtype (and the other results are 0 or ±1), no
   * rounding is needed.
   */
  readonly passes?: readonly number[];
  /** The result is exact in a float dtype when its argument is of the node's dtype (negation, absolute value). */
  readonly exactFloat?: boolean;
}

const cmp = (op: string): Inline => ({
  arity: 2,
  wasm: op,
  js: ([a, b]) => `(${a} ${op === '==' ? '===' : op === '!=' ? '!==' : op} ${b} ? 1 : 0)`,
  passes: [],
});

const INLINE: Readonly<Record<string, Inline>> = {
  add: { arity: 2, wasm: 'add', js: ([a, b]) => `${a} + ${b}` },
  sub: { arity: 2, wasm: 'sub', js: ([a, b]) => `${a} - ${b}` },
  mul: { arity: 2, wasm: 'mul', js: ([a, b]) => `${a} * ${b}` },
  div: { arity: 2, wasm: 'div', js: ([a, b]) => `${a} / ${b}` },
  neg: { arity: 1, wasm: 'neg', js: ([a]) => `-${a}`, exactFloat: true },
  square: { arity: 1, wasm: 'square', js: ([a]) => `${a} * ${a}` },
  abs: { arity: 1, wasm: 'abs', js: ([a]) => `Math.abs(${a})`, exactFloat: true },
  reciprocal: { arity: 1, wasm: 'reciprocal', js: ([a]) => `1 / ${a}` },
  relu: { arity: 1, wasm: 'relu', js: ([a]) => `(${a} > 0 || ${a} !== ${a} ? ${a} : 0)`, passes: [0] },
  sign: { arity: 1, wasm: 'sign', js: ([a]) => `(${a} > 0 ? 1 : ${a} < 0 ? -1 : ${a})`, passes: [0] },
  maximum: { arity: 2, wasm: 'maximum', js: ([a, b]) => `(${a} >= ${b} || ${a} !== ${a} ? ${a} : ${b})`, passes: [0, 1] },
  minimum: { arity: 2, wasm: 'minimum', js: ([a, b]) => `(${a} <= ${b} || ${a} !== ${a} ? ${a} : ${b})`, passes: [0, 1] },
  greater: cmp('>'),
  greaterEqual: cmp('>='),
  less: cmp('<'),
  lessEqual: cmp('<='),
  equal: cmp('=='),
  notEqual: cmp('!='),
  where: { arity: 3, wasm: 'where', js: ([c, a, b]) => `(${c} !== 0 ? ${a} : ${b})`, passes: [1, 2] },
};

/** The inline form of an op node, when its fusion description is the built-in one of that name. */
function inlineOf(node: FusedNode & { kind: 'op' }): Inline | undefined {
  const il = INLINE[node.op];
  if (!il || node.args.length !== il.arity) return undefined;
  const w = node.spec.wasm;
  return (w.kind === 'where' ? 'where' : w.op) === il.wasm ? il : undefined;
}

/** Whether the inline result needs no rounding to the node's dtype. */
function exactInline(il: Inline, node: FusedNode & { kind: 'op' }, nodes: readonly FusedNode[]): boolean {
  const same = (a: number): boolean => nodes[a]!.dtype === node.dtype;
  if (il.passes) return il.passes.every((p) => same(node.args[p]!));
  return il.exactFloat === true && node.dtype !== 'i32' && same(node.args[0]!);
}

/** The value a reduction's output cells start from. */
const initOf = (op: 'sum' | 'max'): number => (op === 'sum' ? 0 : -Infinity);

/** Strides of a reduction's output cells over the kernel's axes: 0 along the reduced axes, row-major over the kept ones. */
function reductionStrides(shape: Shape, axes: readonly number[]): number[] {
  const st = new Array<number>(shape.length).fill(0);
  let s = 1;
  for (let ax = shape.length - 1; ax >= 0; ax--) {
    if (!axes.includes(ax)) {
      st[ax] = s;
      s *= shape[ax]!;
    }
  }
  return st;
}

/** The reduced output's shape (the reduced axes dropped). */
const reducedShape = (shape: Shape, r: FusedReduction): number[] => shape.filter((_, ax) => !r.axes.includes(ax));

/** A value as the dtype's typed array stores it. */
const roundTo = (dtype: DType, v: number): number => (dtype === 'f32' ? Math.fround(v) : dtype === 'i32' ? v | 0 : v);

// ---- the plan ----

/** Collapse the iteration space: drop dimensions of size 1, merge neighbours that every input steps through alike. */
function collapse(shape: Shape, strides: readonly (readonly number[])[]): { dims: number[]; strides: number[][] } {
  const dims: number[] = [];
  const out: number[][] = strides.map(() => []);
  shape.forEach((d, ax) => {
    if (d === 1) return;
    const last = dims.length - 1;
    if (last >= 0 && strides.every((s, j) => out[j]![last] === s[ax]! * d)) {
      dims[last]! *= d;
      strides.forEach((s, j) => {
        out[j]![last] = s[ax]!;
      });
    } else {
      dims.push(d);
      strides.forEach((s, j) => {
        out[j]!.push(s[ax]!);
      });
    }
  });
  return { dims, strides: out };
}

function makePlan(k: FusedKernel): Plan {
  checkKernel(k);
  const n = sizeOf(k.shape);
  const nodes = k.nodes;
  const live = nodes.map(() => false);
  for (const o of k.outputs) live[o] = true;
  const reds = k.reductions ?? [];
  for (const r of reds) live[r.node] = true;
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (live[i] && node.kind === 'op') for (const a of node.args) live[a] = true;
  }
  const access: Access[] = k.inputs.map((a, j) => {
    const size = sizeOf(a.shape);
    return j === 0 && k.matmul ? 'product' : size === n ? 'full' : size === 1 ? 'scalar' : 'strided';
  });
  const stridedIdx = access.flatMap((acc, j) => (acc === 'strided' ? [j] : []));
  // the strided inputs and the reductions' output cells walk one collapsed iteration space
  const c = collapse(k.shape, [
    ...stridedIdx.map((j) => broadcastStrides(k.inputs[j]!.shape, k.shape)),
    ...reds.map((r) => reductionStrides(k.shape, r.axes)),
  ]);
  if (c.dims.length === 0 && reds.length > 0) {
    // a single element: one dimension of size 1
    c.dims.push(1);
    for (const st of c.strides) st.push(0);
  }
  const strides: (number[] | null)[] = access.map(() => null);
  stridedIdx.forEach((j, q) => {
    strides[j] = c.strides[q]!;
  });
  const rstrides = reds.map((_, m) => c.strides[stridedIdx.length + m]!);
  const reductions: PlanReduction[] = reds.map((r, m) => ({
    node: r.node,
    op: r.op,
    dtype: nodes[r.node]!.dtype,
    size: sizeOf(reducedShape(k.shape, r)),
    innerFixed: rstrides[m]![c.dims.length - 1] === 0,
  }));
  const invariant: boolean[] = [];
  const inline: boolean[] = [];
  const literals: number[] = [];
  for (const node of nodes) {
    // a literal holds what the unfused `full` stores for it: the value in the dtype
    literals.push(node.kind === 'literal' ? roundTo(node.dtype, node.value) : 0);
    inline.push(node.kind === 'op' && inlineOf(node) !== undefined);
    invariant.push(
      node.kind === 'literal' ||
        (node.kind === 'input' && access[node.input] === 'scalar') ||
        (node.kind === 'op' && node.args.every((a) => invariant[a])),
    );
  }
  const mm = k.matmul
    ? matmulPlan(
        k,
        access,
        nodes.some((node, i) => live[i] && node.kind === 'input' && node.input === 0),
      )
    : null;
  return { kernel: k, n, live, invariant, access, dims: c.dims, strides, reductions, rstrides, literals, inline, mm };
}

function matmulPlan(k: FusedKernel, access: readonly Access[], used: boolean): MatmulPlan {
  const { a, b } = k.matmul!;
  const rank = k.shape.length;
  const m = k.shape[rank - 2]!;
  const n = k.shape[rank - 1]!;
  const kk = a.shape[a.shape.length - 1]!;
  const bshape = k.shape.slice(0, -2);
  const batch = sizeOf(bshape);
  const aStrides = broadcastStrides(a.shape.slice(0, -2), bshape);
  const bStrides = broadcastStrides(b.shape.slice(0, -2), bshape);
  const inStrides = k.inputs.map((x, j) => (access[j] === 'strided' ? broadcastStrides(x.shape, k.shape) : null));
  const aOff: number[] = [];
  const bOff: number[] = [];
  const inBatch = inStrides.map((st) => (st ? ([] as number[]) : null));
  // the batch dims' odometer, matrix by matrix
  const idx = new Array<number>(bshape.length).fill(0);
  for (let t = 0; t < batch; t++) {
    let ao = 0;
    let bo = 0;
    for (let q = 0; q < bshape.length; q++) {
      ao += idx[q]! * aStrides[q]!;
      bo += idx[q]! * bStrides[q]!;
    }
    aOff.push(ao * m * kk);
    bOff.push(bo * kk * n);
    inStrides.forEach((st, j) => {
      if (st) inBatch[j]!.push(bshape.reduce((o, _, q) => o + idx[q]! * st[q]!, 0));
    });
    for (let q = bshape.length - 1; q >= 0; q--) {
      if (++idx[q]! < bshape[q]!) break;
      idx[q] = 0;
    }
  }
  const rows = Math.min(m, Math.max(4, Math.floor(TILE / Math.max(1, n) / 4) * 4));
  return {
    dtype: a.dtype,
    batch,
    m,
    k: kk,
    n,
    rows,
    aOff,
    bOff,
    inBatch,
    inRow: inStrides.map((st) => st?.[rank - 2] ?? 0),
    inCol: inStrides.map((st) => st?.[rank - 1] ?? 0),
    used,
  };
}

// ---- code generation ----

const numberLiteral = (v: number): string => (Object.is(v, -0) ? '-0' : String(v));

const rounded = (dtype: DType, e: string): string => (dtype === 'f32' ? `fround(${e})` : dtype === 'i32' ? `(${e}) | 0` : e);

/** The structure a generated function depends on (not the shapes, strides or scalar functions, which are its arguments). */
function planKey(p: Plan): string {
  const nodes = p.kernel.nodes.map((node, i) => {
    if (!p.live[i]) return '-';
    const inv = p.invariant[i] ? '*' : '';
    if (node.kind === 'input') return `i${node.input}${node.dtype}`;
    if (node.kind === 'literal') return `l${numberLiteral(p.literals[i]!)}${node.dtype}`;
    return `${p.inline[i] ? 'x' : 'f'}${node.op}(${node.args.join(',')})${node.dtype}${inv}`;
  });
  const reds = p.reductions.map((r) => `${r.op}(${r.node})${r.innerFixed ? 'f' : ''}`);
  const mm = p.mm ? `mm${p.mm.dtype}${p.mm.used ? '' : '-'}|` : '';
  return `${mm}${p.access.map((a) => ACCESS_KEY[a]).join('')}|${nodes.join(' ')}|${p.kernel.outputs.join(',')}|${reds.join(',')}`;
}

/** The inputs that live nodes read, in order. */
function usedInputs(p: Plan): number[] {
  const used = new Set<number>();
  p.kernel.nodes.forEach((node, i) => {
    if (p.live[i] && node.kind === 'input') used.add(node.input);
  });
  return [...used].sort((a, b) => a - b);
}

/**
 * The statements computing the live nodes: `pre` before the loop (the inputs, outputs, scalar functions and invariant
 * nodes), `each` per element (the varying nodes and the outputs' stores at `at`); `read` is how input j is read.
 */
function nodeLines(p: Plan, read: (j: number) => string, at: string): { pre: string[]; each: string[] } {
  const k = p.kernel;
  const nodes = k.nodes;
  const value = (i: number): string => {
    const node = nodes[i]!;
    if (node.kind === 'input') return read(node.input);
    if (node.kind === 'literal') return numberLiteral(p.literals[i]!);
    const args = node.args.map((a) => `v${a}`);
    const il = p.inline[i] ? inlineOf(node) : undefined;
    if (il) return exactInline(il, node, nodes) ? il.js(args) : rounded(node.dtype, il.js(args));
    return rounded(node.dtype, `f${i}(${args.join(', ')})`);
  };
  const pre: string[] = ['const fround = Math.fround;'];
  for (const j of usedInputs(p)) pre.push(`const x${j} = ins[${j}];`);
  for (let m = 0; m < k.outputs.length; m++) pre.push(`const o${m} = outs[${m}];`);
  const each: string[] = [];
  nodes.forEach((node, i) => {
    if (!p.live[i]) return;
    if (node.kind === 'op' && !p.inline[i]) pre.push(`const f${i} = F[${i}];`);
    (p.invariant[i] ? pre : each).push(`const v${i} = ${value(i)};`);
  });
  k.outputs.forEach((o, m) => {
    each.push(`o${m}[${at}] = v${o};`);
  });
  return { pre, each };
}

const indent = (lines: readonly string[], by: string): string => lines.map((l) => `${by}${l}\n`).join('');

/** The body of the generated function `(ins, outs, F, n, D, S, A, R)`. */
function generateBody(p: Plan): string {
  const strided = usedInputs(p).filter((j) => p.access[j] === 'strided');
  const read = (j: number): string => (p.access[j] === 'full' ? `x${j}[i]` : p.access[j] === 'scalar' ? `x${j}[0]` : `x${j}[p${j}]`);
  const lines = nodeLines(p, read, 'i');
  const pre = ['if (n === 0) return;', ...lines.pre];
  const each = lines.each;
  // each reduction folds its node into its output cell (a${m}[q${m}]) as the unfused reduce kernel does, in the same
  // row-major order, in a double; a cell fixed along the inner loop is folded in a local (s${m}) and stored after it
  const reds = p.reductions;
  reds.forEach((r, m) => {
    const v = `v${r.node}`;
    const cell = r.innerFixed ? `s${m}` : `a${m}[q${m}]`;
    pre.push(`const a${m} = A[${m}];`);
    each.push(r.op === 'sum' ? `${cell} += ${v};` : `if (${v} > ${cell} || ${v} !== ${v}) ${cell} = ${v};`);
  });
  if (strided.length === 0 && reds.length === 0) return `${indent(pre, '  ')}  for (let i = 0; i < n; i++) {\n${indent(each, '    ')}  }\n`;
  // general broadcasting and reductions: the inner loop walks the last collapsed dimension, an odometer the others
  pre.push('const last = D.length - 1;', 'const m = D[last];', 'const idx = new Int32Array(D.length);');
  for (const j of strided) pre.push(`const S${j} = S[${j}];`, `const t${j} = S${j}[last];`, `let b${j} = 0;`);
  reds.forEach((r, m) => {
    pre.push(`const R${m} = R[${m}];`, ...(r.innerFixed ? [] : [`const u${m} = R${m}[last];`]), `let c${m} = 0;`);
  });
  const open = [
    ...strided.map((j) => `let p${j} = b${j};`),
    ...reds.flatMap((r, m) => [`let q${m} = c${m};`, ...(r.innerFixed ? [`let s${m} = a${m}[q${m}];`] : [])]),
  ];
  const step = [...strided.map((j) => `p${j} += t${j};`), ...reds.flatMap((r, m) => (r.innerFixed ? [] : [`q${m} += u${m};`]))];
  const close = reds.flatMap((r, m) => (r.innerFixed ? [`a${m}[q${m}] = s${m};`] : []));
  const bases = [...strided.map((j) => [`b${j}`, `S${j}`]), ...reds.map((_, m) => [`c${m}`, `R${m}`])];
  const carry = [
    'for (let d = last - 1; d >= 0; d--) {',
    ...bases.map(([b, s]) => `  ${b} += ${s}[d];`),
    '  if (++idx[d] < D[d]) break;',
    ...bases.map(([b, s]) => `  ${b} -= ${s}[d] * D[d];`),
    '  idx[d] = 0;',
    '}',
  ];
  return (
    `${indent(pre, '  ')}  for (let i = 0; i < n; ) {\n${indent(open, '    ')}` +
    `    for (let j = 0; j < m; j++, i++) {\n${indent([...each, ...step], '      ')}    }\n` +
    `${indent([...close, ...carry], '    ')}  }\n`
  );
}

const PARAMS = ['ins', 'outs', 'F', 'n', 'D', 'S', 'A', 'R'] as const;

/**
 * The body of the generated function `(ins, outs, F, M, G, ad, bt)` of a kernel with a matmul: per matrix of the product,
 * per tile of rows, `G` (the matmul kernel's gemm) fills the tile `ins[0]` from `ad` and `bt` (bᵀ), then every node runs
 * over the tile row by row: element e of the kernel, q of the tile; each broadcast input j at p{j}, from the matrix's
 * base, stepping by its row and column strides.
 */
function generateMatmulBody(p: Plan): string {
  const strided = usedInputs(p).filter((j) => p.access[j] === 'strided');
  const read = (j: number): string =>
    p.access[j] === 'product' ? `x${j}[q]` : p.access[j] === 'full' ? `x${j}[e]` : p.access[j] === 'scalar' ? `x${j}[0]` : `x${j}[p${j}]`;
  const { pre, each } = nodeLines(p, read, 'e');
  pre.push('const batch = M.batch, m = M.m, k = M.k, n = M.n, rows = M.rows, AO = M.aOff, BO = M.bOff;');
  for (const j of strided) pre.push(`const I${j} = M.inBatch[${j}], r${j} = M.inRow[${j}], c${j} = M.inCol[${j}];`);
  const gemm = p.mm?.used ? ['G(ad, AO[t] + i0 * k, bt, BO[t], ins[0], 0, h, k, n);'] : [];
  return (
    `${indent(pre, '  ')}  let e = 0;\n` +
    '  for (let t = 0; t < batch; t++) {\n' +
    '    for (let i0 = 0; i0 < m; i0 += rows) {\n' +
    '      const h = m - i0 < rows ? m - i0 : rows;\n' +
    `${indent(gemm, '      ')}` +
    '      let q = 0;\n' +
    '      for (let i = i0; i < i0 + h; i++) {\n' +
    `${indent(
      strided.map((j) => `let p${j} = I${j}[t] + i * r${j};`),
      '        ',
    )}` +
    '        for (let j = 0; j < n; j++, e++, q++) {\n' +
    `${indent([...each, ...strided.map((j) => `p${j} += c${j};`)], '          ')}` +
    '        }\n      }\n    }\n  }\n'
  );
}

const MATMUL_PARAMS = ['ins', 'outs', 'F', 'M', 'G', 'ad', 'bt'] as const;

/** Whether `new Function` works here (checked once: a strict Content-Security-Policy forbids it). */
let codegenAllowed: boolean | undefined;
function codegenWorks(): boolean {
  if (codegenAllowed === undefined) {
    try {
      codegenAllowed = new Function('return 1')() === 1;
    } catch {
      codegenAllowed = false;
    }
  }
  return codegenAllowed;
}

let forceInterpreter = false;

/**
 * Run fused kernels with the interpreter even where code generation works (`true`), or generate code where it can
 * (`false`, the default).
 */
export function setFusedInterpreter(force: boolean): void {
  forceInterpreter = force;
}

/** Whether fused kernels run as generated JavaScript (else interpreted). */
export const fusedCodegen = (): boolean => !forceInterpreter && codegenWorks();

const MAX_COMPILED = 512;
const compiledByKey = new Map<string, Compiled | CompiledMatmul>();

function compiled(p: Plan): Compiled | CompiledMatmul {
  const key = planKey(p);
  let fn = compiledByKey.get(key);
  if (!fn) {
    if (compiledByKey.size >= MAX_COMPILED) compiledByKey.clear();
    fn = p.mm
      ? (new Function(...MATMUL_PARAMS, `'use strict';\n${generateMatmulBody(p)}`) as CompiledMatmul)
      : (new Function(...PARAMS, `'use strict';\n${generateBody(p)}`) as Compiled);
    compiledByKey.set(key, fn);
  }
  return fn;
}

// ---- the interpreter ----

type Fn = (...xs: number[]) => number;

/** Elements the interpreter computes at a time, node by node, in buffers that stay in cache. */
const BLOCK = 512;

/**
 * One op node over a block: its scalar function applied per element, then the node's rounding (a loop written out per
 * arity and rounding).
 */
function blockStep(node: FusedNode & { kind: 'op' }, r: Float64Array, args: readonly Float64Array[]): (len: number) => void {
  const f: Fn = node.spec.f;
  const [a = r, b = r, c = r] = args;
  const dtype = node.dtype;
  if (args.length === 1) {
    if (dtype === 'f32')
      return (len) => {
        for (let t = 0; t < len; t++) r[t] = Math.fround(f(a[t]!));
      };
    if (dtype === 'i32')
      return (len) => {
        for (let t = 0; t < len; t++) r[t] = f(a[t]!) | 0;
      };
    return (len) => {
      for (let t = 0; t < len; t++) r[t] = f(a[t]!);
    };
  }
  if (args.length === 2) {
    if (dtype === 'f32')
      return (len) => {
        for (let t = 0; t < len; t++) r[t] = Math.fround(f(a[t]!, b[t]!));
      };
    if (dtype === 'i32')
      return (len) => {
        for (let t = 0; t < len; t++) r[t] = f(a[t]!, b[t]!) | 0;
      };
    return (len) => {
      for (let t = 0; t < len; t++) r[t] = f(a[t]!, b[t]!);
    };
  }
  if (args.length === 3)
    return (len) => {
      for (let t = 0; t < len; t++) r[t] = roundTo(dtype, f(a[t]!, b[t]!, c[t]!));
    };
  return (len) => {
    for (let t = 0; t < len; t++) r[t] = roundTo(dtype, f(...args.map((x) => x[t]!)));
  };
}

/** A kernel's closures and buffers, built once: it runs block by block, each node over the whole block in turn. */
interface Interpreter {
  /**
   * `accs`: one accumulator per reduction, holding its initial value in every cell; with a matmul, `ins[0]` is the tile
   * the product is computed in, from `ad` and `bt` (bᵀ).
   */
  run(ins: readonly TypedArray[], outs: readonly TypedArray[], accs: readonly Float64Array[], ad?: TypedArray, bt?: TypedArray): void;
}

/** Folds a block of values into the reduction's cells (`cells[t]` for value t), in order, as the unfused reduce kernel does. */
function foldStep(op: 'sum' | 'max'): (acc: Float64Array, cells: Float64Array, vals: Float64Array | number, len: number) => void {
  if (op === 'sum')
    return (acc, cells, vals, len) => {
      if (typeof vals === 'number') for (let t = 0; t < len; t++) acc[cells[t]!]! += vals;
      else for (let t = 0; t < len; t++) acc[cells[t]!]! += vals[t]!;
    };
  return (acc, cells, vals, len) => {
    for (let t = 0; t < len; t++) {
      const v = typeof vals === 'number' ? vals : vals[t]!;
      const c = cells[t]!;
      if (v > acc[c]! || Number.isNaN(v)) acc[c] = v;
    }
  };
}

function interpreter(p: Plan): Interpreter {
  const k = p.kernel;
  const nodes = k.nodes;
  const n = p.n;
  const mm = p.mm;
  // with a matmul, the blocks are the tiles of the product
  const block = mm ? Math.max(1, mm.rows * mm.n) : Math.max(1, Math.min(BLOCK, n));
  // a buffer per live node that varies, and per invariant node used by one that varies (filled once per run)
  const bufs: (Float64Array | null)[] = nodes.map((_, i) => (p.live[i] && !p.invariant[i] ? new Float64Array(block) : null));
  const invariantValue = new Float64Array(nodes.length);
  nodes.forEach((node, i) => {
    if (node.kind === 'op' && bufs[i]) for (const a of node.args) bufs[a] ??= new Float64Array(block);
  });
  const once: ((ins: readonly TypedArray[]) => void)[] = [];
  const steps: ((len: number) => void)[] = [];
  // the inputs read per element: where each input node's buffer takes its values from
  const reads: { readonly input: number; readonly buf: Float64Array }[] = [];
  nodes.forEach((node, i) => {
    if (!p.live[i]) return;
    const r = bufs[i];
    if (!p.invariant[i]) {
      if (node.kind === 'input') reads.push({ input: node.input, buf: r! });
      else if (node.kind === 'op')
        steps.push(
          blockStep(
            node,
            r!,
            node.args.map((a) => bufs[a]!),
          ),
        );
      return;
    }
    if (node.kind === 'input') {
      const j = node.input;
      once.push((ins) => {
        invariantValue[i] = ins[j]![0]!;
      });
    } else if (node.kind === 'literal') {
      const v = p.literals[i]!;
      once.push(() => {
        invariantValue[i] = v;
      });
    } else {
      const f: Fn = node.spec.f;
      const dtype = node.dtype;
      const args = node.args;
      once.push(() => {
        invariantValue[i] = roundTo(dtype, f(...args.map((a) => invariantValue[a]!)));
      });
    }
    if (r) once.push(() => r.fill(invariantValue[i]!));
  });
  // full-shape inputs are copied a block at a time; the others, and the reductions' output cells, walk the collapsed iteration space
  const copies = reads.filter((x) => p.access[x.input] === 'full');
  const tiles = reads.filter((x) => p.access[x.input] === 'product');
  const strided = reads.filter((x) => p.access[x.input] === 'strided');
  const walking = [...new Set(strided.map((x) => x.input))];
  const reds = p.reductions;
  const nw = walking.length;
  const w = nw + reds.length;
  const c = collapse(k.shape, [
    ...walking.map((j) => broadcastStrides(k.inputs[j]!.shape, k.shape)),
    ...reds.map((_, m) => reductionStrides(k.shape, k.reductions![m]!.axes)),
  ]);
  const rank = c.dims.length;
  const st = new Float64Array(rank * w);
  for (let q = 0; q < w; q++) for (let d = 0; d < rank; d++) st[d * w + q] = c.strides[q]![d]!;
  const slot = strided.map((x) => walking.indexOf(x.input));
  // per reduction: the output cell of each element of the block, and how it folds a block
  const cells = reds.map(() => new Float64Array(block));
  const folds = reds.map((r) => foldStep(r.op));
  return {
    run(ins, outs, accs, ad, bt) {
      if (n === 0) return;
      for (const s of once) s(ins);
      // the odometer, carried from block to block
      const idx = new Array<number>(rank).fill(0);
      const pos = new Float64Array(w);
      const xs = strided.map((x) => ins[x.input]!);
      // with a matmul: the matrix and the first row of the next tile
      let t0 = 0;
      let i0 = 0;
      let len = 0;
      for (let e0 = 0; e0 < n; e0 += len) {
        if (mm) {
          const h = Math.min(mm.rows, mm.m - i0);
          if (mm.used) gemmBt(ad!, mm.aOff[t0]! + i0 * mm.k, bt!, mm.bOff[t0]!, ins[0]!, 0, h, mm.k, mm.n);
          len = h * mm.n;
          i0 += h;
          if (i0 === mm.m) {
            i0 = 0;
            t0++;
          }
        } else len = Math.min(block, n - e0);
        for (const x of copies) x.buf.set(ins[x.input]!.subarray(e0, e0 + len));
        for (const x of tiles) x.buf.set(ins[0]!.subarray(0, len));
        for (let t = 0; t < len && w > 0; t++) {
          for (let r = 0; r < strided.length; r++) strided[r]!.buf[t] = xs[r]![pos[slot[r]!]!]!;
          for (let m = 0; m < reds.length; m++) cells[m]![t] = pos[nw + m]!;
          for (let d = rank - 1; d >= 0; d--) {
            for (let q = 0; q < w; q++) pos[q]! += st[d * w + q]!;
            if (++idx[d]! < c.dims[d]!) break;
            for (let q = 0; q < w; q++) pos[q]! -= st[d * w + q]! * c.dims[d]!;
            idx[d] = 0;
          }
        }
        for (const s of steps) s(len);
        k.outputs.forEach((o, m) => {
          const r = bufs[o];
          if (r) outs[m]!.set(r.subarray(0, len), e0);
          else outs[m]!.fill(invariantValue[o]!, e0, e0 + len);
        });
        reds.forEach((r, m) => {
          folds[m]!(accs[m]!, cells[m]!, bufs[r.node] ?? invariantValue[r.node]!, len);
        });
      }
    },
  };
}

// ---- running ----

interface Prepared {
  readonly plan: Plan;
  /** The scalar functions by node (null for inputs, literals and inline nodes). */
  readonly fns: readonly (Fn | null)[];
  fn?: Compiled | CompiledMatmul;
  interp?: Interpreter;
}

const prepared = new WeakMap<FusedKernel, Prepared>();

function prepare(k: FusedKernel): Prepared {
  let pr = prepared.get(k);
  if (!pr) {
    const plan = makePlan(k);
    pr = { plan, fns: k.nodes.map((node, i) => (node.kind === 'op' && !plan.inline[i] ? node.spec.f : null)) };
    prepared.set(k, pr);
  }
  return pr;
}

/**
 * Runs `k` on its inputs' typed arrays (with a matmul: `[a, b, input 1, input 2, …]`); returns one fresh typed array per
 * output.
 */
export function runFusedCpu(k: FusedKernel, inputs: readonly TypedArray[]): TypedArray[] {
  const pr = prepare(k);
  const p = pr.plan;
  const expected = k.matmul ? [k.matmul.a, k.matmul.b, ...k.inputs.slice(1)] : k.inputs;
  const names = (j: number): string => (k.matmul ? (j === 0 ? 'a' : j === 1 ? 'b' : `input ${j - 1}`) : `input ${j}`);
  if (inputs.length !== expected.length) throw new Error(`fused kernel: ${expected.length} inputs expected, got ${inputs.length}`);
  inputs.forEach((x, j) => {
    const a = expected[j]!;
    const dtype = dtypeOfArray(x);
    if (dtype !== a.dtype || x.length !== sizeOf(a.shape))
      throw new Error(`fused kernel: ${names(j)} should hold ${a.dtype}[${a.shape.join(',')}], got ${x.length} elements of ${dtype}`);
  });
  const outs = k.outputs.map((o) => allocArray(k.nodes[o]!.dtype, p.n));
  const mm = p.mm;
  if (mm) {
    if (p.n === 0) return outs;
    // bᵀ as the matmul kernel makes it, and the tile the product is computed in (input 0)
    const ad = inputs[0]!;
    const bt = mm.used ? transposeMatrices(inputs[1]!, mm.dtype, mm.k, mm.n) : inputs[1]!;
    const ins = [allocArray(mm.dtype, mm.rows * mm.n), ...inputs.slice(2)];
    if (fusedCodegen()) {
      pr.fn ??= compiled(p);
      (pr.fn as CompiledMatmul)(ins, outs, pr.fns, mm, gemmBt, ad, bt);
    } else {
      pr.interp ??= interpreter(p);
      pr.interp.run(ins, outs, [], ad, bt);
    }
    return outs;
  }
  // reductions accumulate in doubles and are stored once in their dtype, as the unfused reduce kernel does
  const accs = p.reductions.map((r) => new Float64Array(r.size).fill(initOf(r.op)));
  if (fusedCodegen()) {
    pr.fn ??= compiled(p);
    (pr.fn as Compiled)(inputs, outs, pr.fns, p.n, p.dims, p.strides, accs, p.rstrides);
  } else {
    pr.interp ??= interpreter(p);
    pr.interp.run(inputs, outs, accs);
  }
  const reduced = p.reductions.map((r, m) => {
    const acc = accs[m]!;
    if (r.dtype === 'f64') return acc;
    const out = allocArray(r.dtype, r.size);
    out.set(acc);
    return out;
  });
  return [...outs, ...reduced];
}

/** The JavaScript that runs `k` (or, where kernels are interpreted, a description of the kernel saying so). */
export function fusedCpuSource(k: FusedKernel): string {
  const p = prepare(k).plan;
  const reds = (k.reductions ?? []).map((r) => `${r.op}[axes=${r.axes.join(',')}] v${r.node}`);
  const mm = k.matmul
    ? `\n// in0 = matmul ${k.matmul.a.dtype}[${k.matmul.a.shape.join(',')}] x ${k.matmul.b.dtype}[${k.matmul.b.shape.join(',')}], ` +
      `computed ${p.mm?.rows ?? 0} rows at a time into the tile ins[0] by G (the cpu matmul kernel's gemm on ad and bt = bᵀ)`
    : '';
  const head =
    `// cpu fused kernel over [${k.shape.join(',')}]; inputs: ${p.access.map((a, j) => `in${j} ${a}`).join(', ') || 'none'}` +
    (reds.length > 0 ? `; reductions (into A[m], stored after the loop): ${reds.join(', ')}` : '') +
    mm;
  if (!fusedCodegen())
    return `${head}\n// interpreted (code generation is not available): each node calls its scalar function\n${fusedToText(k)}`;
  if (p.mm) return `${head}\nfunction fusedKernel(${MATMUL_PARAMS.join(', ')}) {\n  'use strict';\n${generateMatmulBody(p)}}\n`;
  return `${head}\nfunction fusedKernel(${PARAMS.join(', ')}) {\n  'use strict';\n${generateBody(p)}}\n`;
}
