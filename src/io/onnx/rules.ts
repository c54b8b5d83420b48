/**
 * The ONNX rule of every built-in primitive: how one equation of a traced
 * graph becomes one or more ONNX nodes. The table is typed over all primitive
 * names (`{ [P in PrimName]: OnnxRule<PrimParams[P]> }`), so a primitive
 * without an ONNX mapping does not compile.
 *
 * Conventions: cotangent's comparisons give 1/0 in the input's dtype (ONNX's
 * give bool: cast back); `where` selects where the condition is non-zero
 * (ONNX's Where takes bool: cast, which is `c != 0`, NaN included); argmax
 * gives i32 (ONNX's ArgMax int64: cast back). Shapes in parameters
 * (reshape, broadcastTo, slice) may depend on the batch size; `shape` builds
 * them at run time when they do.
 */
import type { GraphVar } from '../../core/graphTrace.js';
import type { PrimName, PrimParams } from '../../ops/primitives.js';
import { ONNX_DTYPE, type SubGraphProto } from './schema.js';

/** A size that is an affine function of the batch size: `a · batch + b` (a = 0: a fixed size). */
export interface Dim {
  readonly a: number;
  readonly b: number;
}

/** Attribute values by name: integers (INT), integer lists (INTS), strings (STRING) or sub-graphs (GRAPH). */
export type Attrs = Readonly<Record<string, number | readonly number[] | string | { readonly graph: SubGraphProto }>>;

/** What a rule may do while it translates an equation: add nodes and constants. */
export interface OnnxBuilder {
  /** The opset the model imports. */
  readonly opset: number;
  /** Add a node with one output; returns the output's name. */
  node(op: string, inputs: readonly string[], attrs?: Attrs): string;
  /** Add a node with `count` outputs; returns their names. */
  nodeOutputs(op: string, inputs: readonly string[], attrs: Attrs, count: number): string[];
  /** A 1-D int64 constant (an initializer); returns its name. */
  ints(values: readonly number[]): string;
  /** A rank-0 constant of a cotangent dtype (or 'i64'; an initializer); returns its name. */
  scalar(value: number, dtype: string): string;
  /** A constant tensor of a cotangent dtype (row-major values; an initializer); returns its name. */
  constant(values: readonly number[], shape: readonly number[], dtype: string): string;
  /** A 1-D int64 tensor of sizes (a shape, slice bounds): a constant when every size is fixed, else computed from the batch
   * size at run time. */
  shape(dims: readonly Dim[]): string;
  /** The ONNX element type of a cotangent dtype. */
  elemType(dtype: string): number;
}

/** One equation as a rule sees it: parameters, input and output variables (shapes at the example batch size). */
export interface OnnxEqn<P> {
  readonly params: P;
  readonly inputs: readonly GraphVar[];
  readonly output: GraphVar;
  /** A numeric-list parameter as sizes, each affine in the batch size (fixed when the batch is static). */
  readonly dims: (key: string) => readonly Dim[];
}

/** The translation of one primitive: ONNX nodes from the names of the equation's inputs; returns the output's name. */
export type OnnxRule<P> = (b: OnnxBuilder, inputs: readonly string[], eqn: OnnxEqn<P>) => string;

type NoParams = Record<string, never>;

const op =
  (name: string): OnnxRule<NoParams> =>
  (b, xs) =>
    b.node(name, xs);

/** A comparison: ONNX's bool result cast to the output's dtype (1 or 0). */
const compare =
  (name: string, negate = false): OnnxRule<NoParams> =>
  (b, xs, e) => {
    const r = b.node(name, xs);
    return b.node('Cast', [negate ? b.node('Not', [r]) : r], { to: b.elemType(e.output.dtype) });
  };

/** A reduction over `axes` (keepdims 0); the identity when no axis is reduced. Axes are an input from `inputSince` on. */
const reduce =
  (name: string, inputSince: number): OnnxRule<{ readonly axes: readonly number[] }> =>
  (b, [x], e) => {
    if (e.params.axes.length === 0) return b.node('Identity', [x!]);
    if (b.opset >= inputSince) return b.node(name, [x!, b.ints(e.params.axes)], { keepdims: 0 });
    return b.node(name, [x!], { axes: e.params.axes, keepdims: 0 });
  };

type ConvP = PrimParams['conv2d'];
/** The ONNX attributes of a convolution: strides, dilations, pads [top, left, bottom, right], groups. */
const convAttrs = (p: ConvP, swap = false): Attrs => ({
  strides: swap ? p.dilation : p.stride,
  dilations: swap ? p.stride : p.dilation,
  pads: [p.pads[0][0], p.pads[1][0], p.pads[0][1], p.pads[1][1]],
  group: swap ? 1 : p.groups,
});
const NHWC_TO_NCHW = [0, 3, 1, 2];
const NCHW_TO_NHWC = [0, 2, 3, 1];
/** HWIO [kh, kw, Cg, Cout] to ONNX's weight layout [Cout, Cg, kh, kw] (also ConvTranspose's [C, M/group, kh, kw] here). */
const HWIO_TO_OIHW = [3, 2, 0, 1];

/** The permutation moving axes [from, from + count) to the front, the others in order after them. */
const toFront = (rank: number, from: number, count: number): number[] => {
  const moved = Array.from({ length: count }, (_, i) => from + i);
  return [...moved, ...Array.from({ length: rank }, (_, i) => i).filter((i) => i < from || i >= from + count)];
};
const inverse = (perm: readonly number[]): number[] => {
  const r = new Array<number>(perm.length);
  perm.forEach((p, i) => {
    r[p] = i;
  });
  return r;
};

/** log(1 + x) = x · ln(u) / (u − 1), u = 1 + x (Kahan: exact where u rounds to 1, accurate near 0); +∞ stays +∞. */
function log1p(b: OnnxBuilder, x: string, dtype: string): string {
  const u = b.node('Add', [x, b.scalar(1, dtype)]);
  const d = b.node('Sub', [u, b.scalar(1, dtype)]);
  const r = b.node('Div', [b.node('Mul', [x, b.node('Log', [u])]), d]);
  const near = b.node('Where', [b.node('Equal', [d, b.scalar(0, dtype)]), x, r]);
  return b.node('Where', [b.node('IsInf', [x], { detect_negative: 0 }), x, near]);
}

/** The ONNX translation of every built-in primitive, by name. */
export const onnxRules: { readonly [P in PrimName]: OnnxRule<PrimParams[P]> } = {
  neg: op('Neg'),
  exp: op('Exp'),
  log: op('Log'),
  sin: op('Sin'),
  cos: op('Cos'),
  tanh: op('Tanh'),
  sigmoid: op('Sigmoid'),
  // relu(x) = max(x, 0): Relu for floats; Max with a zero of the dtype for integers
  relu: (b, [x], e) => (e.output.dtype === 'i32' ? b.node('Max', [x!, b.scalar(0, 'i32')]) : b.node('Relu', [x!])),
  sqrt: op('Sqrt'),
  square: (b, [x]) => b.node('Mul', [x!, x!]),
  abs: op('Abs'),
  reciprocal: op('Reciprocal'),
  sign: op('Sign'),
  erf: op('Erf'),
  // erfc x = 1 − erf x (ONNX has no erfc; the f32 result is accurate in absolute terms, not relative for x ≳ 2)
  erfc: (b, [x], e) => b.node('Sub', [b.scalar(1, e.output.dtype), b.node('Erf', [x!])]),
  log1p: (b, [x], e) => log1p(b, x!, e.output.dtype),
  // expm1 x = (u − 1) · x / ln u, u = eˣ (Kahan: exact where u rounds to 1); u = ∞ gives ∞, u − 1 = −1 gives −1
  expm1: (b, [x], e) => {
    const u = b.node('Exp', [x!]);
    const d = b.node('Sub', [u, b.scalar(1, e.output.dtype)]);
    const r = b.node('Mul', [d, b.node('Div', [x!, b.node('Log', [u])])]);
    const near = b.node('Where', [b.node('Equal', [d, b.scalar(0, e.output.dtype)]), x!, r]);
    const saturated = b.node('Or', [b.node('IsInf', [u]), b.node('Equal', [d, b.scalar(-1, e.output.dtype)])]);
    return b.node('Where', [saturated, d, near]);
  },
  // softplus x = relu(x) + log1p(e^(−|x|)) (no overflow, accurate far left; ONNX Runtime's Softplus has no f64 kernel)
  softplus: (b, [x], e) =>
    b.node('Add', [b.node('Relu', [x!]), log1p(b, b.node('Exp', [b.node('Neg', [b.node('Abs', [x!])])]), e.output.dtype)]),
  add: op('Add'),
  sub: op('Sub'),
  mul: op('Mul'),
  div: op('Div'),
  pow: op('Pow'),
  maximum: op('Max'),
  minimum: op('Min'),
  // logaddexp(a, b) = max(a, b) + log1p(e^(−|a − b|)); at a tie (equal infinities included) max + ln 2
  logaddexp: (b, [x, y], e) => {
    const m = b.node('Max', [x!, y!]);
    const r = b.node('Add', [m, log1p(b, b.node('Exp', [b.node('Neg', [b.node('Abs', [b.node('Sub', [x!, y!])])])]), e.output.dtype)]);
    return b.node('Where', [b.node('Equal', [x!, y!]), b.node('Add', [m, b.scalar(Math.LN2, e.output.dtype)]), r]);
  },
  greater: compare('Greater'),
  greaterEqual: compare('GreaterOrEqual'),
  less: compare('Less'),
  lessEqual: compare('LessOrEqual'),
  equal: compare('Equal'),
  notEqual: compare('Equal', true),
  where: (b, [c, x, y]) => b.node('Where', [b.node('Cast', [c!], { to: ONNX_DTYPE.BOOL }), x!, y!]),
  matmul: op('MatMul'),
  stopGradient: op('Identity'),
  // allowzero: a 0 in the shape is a size, not "copy the input's size"
  reshape: (b, [x], e) => b.node('Reshape', [x!, b.shape(e.dims('shape'))], { allowzero: 1 }),
  broadcastTo: (b, [x], e) => b.node('Expand', [x!, b.shape(e.dims('shape'))]),
  transpose: (b, [x], e) => b.node('Transpose', [x!], { perm: e.params.perm }),
  slice: (b, [x], e) => {
    const starts = e.dims('starts');
    if (starts.length === 0) return b.node('Identity', [x!]);
    const ends = e.dims('sizes').map((d, i) => ({ a: d.a + starts[i]!.a, b: d.b + starts[i]!.b }));
    return b.node('Slice', [x!, b.shape(starts), b.shape(ends), b.ints(starts.map((_, i) => i))]);
  },
  pad: (b, [x], e) => {
    const { lo, hi } = e.params;
    if (lo.length === 0) return b.node('Identity', [x!]);
    return b.node('Pad', [x!, b.ints([...lo, ...hi])], { mode: 'constant' });
  },
  concat: (b, xs, e) => b.node('Concat', xs, { axis: e.params.axis }),
  cast: (b, [x], e) => b.node('Cast', [x!], { to: b.elemType(e.params.dtype) }),
  sum: reduce('ReduceSum', 13),
  max: reduce('ReduceMax', 18),
  // NHWC / HWIO to ONNX's NCHW / OIHW around Conv
  conv2d: (b, [x, w], e) => {
    const xs = b.node('Transpose', [x!], { perm: NHWC_TO_NCHW });
    const ws = b.node('Transpose', [w!], { perm: HWIO_TO_OIHW });
    return b.node('Transpose', [b.node('Conv', [xs, ws], convAttrs(e.params))], { perm: NCHW_TO_NHWC });
  },
  // the transpose of conv2d in x is ConvTranspose with the same weights; output_padding adds the rows and columns at the end
  // of x that no window reads, so that the output is inputSize
  conv2dInputGrad: (b, [g, w], e) => {
    const p = e.params;
    const [, ho, wo] = e.inputs[0]!.shape as [number, number, number];
    const [kh, kw] = e.inputs[1]!.shape as [number, number];
    const covered = (n: number, s: number, k: number, d: number, lo: number, hi: number) => s * (n - 1) + (k - 1) * d + 1 - lo - hi;
    const outPad = [
      p.inputSize[0] - covered(ho, p.stride[0], kh, p.dilation[0], p.pads[0][0], p.pads[0][1]),
      p.inputSize[1] - covered(wo, p.stride[1], kw, p.dilation[1], p.pads[1][0], p.pads[1][1]),
    ];
    const gs = b.node('Transpose', [g!], { perm: NHWC_TO_NCHW });
    const ws = b.node('Transpose', [w!], { perm: HWIO_TO_OIHW });
    const y = b.node('ConvTranspose', [gs, ws], { ...convAttrs(p), output_padding: outPad });
    return b.node('Transpose', [y], { perm: NCHW_TO_NHWC });
  },
  // w̄[a,b,c,o] = Σ_{n,i,j} x[n, i·s + a·d − top, …, c] · g[n,i,j,o]: a convolution of x [Cin, N, H, W] by g [Cout, N, Ho, Wo]
  // with stride and dilation swapped, cut to the kernel's size; with groups, the blocks of matching groups are kept
  conv2dFilterGrad: (b, [x, g], e) => {
    const p = e.params;
    const [kh, kw] = p.kernelSize;
    const cin = e.inputs[0]!.shape[3]!;
    const cout = e.inputs[1]!.shape[3]!;
    const xs = b.node('Transpose', [x!], { perm: [3, 0, 1, 2] });
    const gs = b.node('Transpose', [g!], { perm: [3, 0, 1, 2] });
    const full = b.node('Conv', [xs, gs], convAttrs(p, true));
    let r = b.node('Slice', [full, b.ints([0, 0]), b.ints([kh, kw]), b.ints([2, 3])]); // [Cin, Cout, kh, kw]
    const G = p.groups;
    if (G > 1) {
      const cg = cin / G;
      const og = cout / G;
      const eye = Array.from({ length: G * G }, (_, i) => (Math.floor(i / G) === i % G ? 1 : 0));
      const blocks = b.node('Reshape', [r, b.ints([G, cg, G, og, kh, kw])]);
      const diag = b.node('Mul', [blocks, b.constant(eye, [G, 1, G, 1, 1, 1], e.output.dtype)]);
      r = b.node('Reshape', [b.node('ReduceSum', [diag, b.ints([0])], { keepdims: 0 }), b.ints([cg, cout, kh, kw])]);
    }
    return b.node('Transpose', [r], { perm: [2, 3, 0, 1] });
  },
  // numpy.take is Gather (negative indices count from the end in both)
  take: (b, [x, i], e) => b.node('Gather', [x!, i!], { axis: e.params.axis }),
  // the indexed axis to the front of x and the index axes to the front of the updates, then ScatterND with reduction add;
  // negative indices are taken modulo the axis's size
  scatterAdd: (b, [x, i, u], e) => {
    const { axis } = e.params;
    const rank = e.inputs[0]!.shape.length;
    const k = e.inputs[1]!.shape.length;
    const xPerm = toFront(rank, axis, 1);
    const uPerm = toFront(rank - 1 + k, axis, k);
    const n = b.node('Shape', [x!], { start: axis, end: axis + 1 });
    const idx = b.node('Mod', [b.node('Unsqueeze', [b.node('Cast', [i!], { to: ONNX_DTYPE.INT64 }), b.ints([k])]), n]);
    const xt = b.node('Transpose', [x!], { perm: xPerm });
    const ut = b.node('Transpose', [u!], { perm: uPerm });
    return b.node('Transpose', [b.node('ScatterND', [xt, idx, ut], { reduction: 'add' })], { perm: inverse(xPerm) });
  },
  cumsum: (b, [x], e) => b.node('CumSum', [x!, b.scalar(e.params.axis, 'i64')], { exclusive: 0, reverse: e.params.reverse ? 1 : 0 }),
  // ascending stable order: TopK of all the axis's values, smallest first (ties by index); int64 indices cast to i32
  argsort: (b, [x], e) => {
    const { axis } = e.params;
    const n = b.node('Shape', [x!], { start: axis, end: axis + 1 });
    const [, idx] = b.nodeOutputs('TopK', [x!, n], { axis, largest: 0, sorted: 1 }, 2);
    return b.node('Cast', [idx!], { to: ONNX_DTYPE.INT32 });
  },
  // ArgMax gives int64 and, like cotangent, the first index of the largest value
  argmax: (b, [x], e) =>
    b.node('Cast', [b.node('ArgMax', [x!], { axis: e.params.axis, keepdims: 0, select_last_index: 0 })], { to: ONNX_DTYPE.INT32 }),
};
