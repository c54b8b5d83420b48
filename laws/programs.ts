/**
 * Random programs for fuzzing: DAGs of primitives and small composites with
 * broadcasting, fan-out (a value used several times, so cotangents
 * accumulate), reductions, matmuls and structural ops, optionally wrapped in
 * a nested transformation (grad, jvp or vjp inside the checked function).
 * A program is plain data (inputs + nodes referring to earlier values by
 * index); `buildProgram` resolves the references against the static shapes
 * (an operand that does not fit is replaced by one that does, or by the
 * first operand itself), so every generated program is well-formed.
 */
import fc from 'fast-check';
import * as ct from '../src/index.js';
import { broadcastShapes, tensorOf } from './arbitraries.js';
import { specTensor, describeSpec, type TensorSpec } from './cases.js';
import { prng, randomLike } from './numeric.js';
import type { TensorFn } from './predicates.js';

const UNARY = [
  'sin',
  'cos',
  'tanh',
  'sigmoid',
  'neg',
  'square',
  'logOnePlusSq',
  'expTanh',
  'invOnePlusSq',
  'sqrtOnePlusSq',
  'softmax',
] as const;
const BINARY = ['add', 'sub', 'mul', 'divSafe', 'whereFixed'] as const;
type BinaryOp = (typeof BINARY)[number];

/** One node of a random program: an op applied to earlier values (indices into the values so far). */
export type NodeSpec =
  | { readonly kind: 'unary'; readonly op: string; readonly a: number }
  | { readonly kind: 'binary'; readonly op: BinaryOp; readonly a: number; readonly b: number }
  | {
      readonly kind: 'reduce';
      readonly op: 'sum' | 'mean' | 'logsumexp';
      readonly a: number;
      readonly axis: number;
      readonly keepdims: boolean;
    }
  | { readonly kind: 'matmul'; readonly a: number; readonly b: number }
  | { readonly kind: 'transpose'; readonly a: number }
  | { readonly kind: 'padSlice'; readonly a: number; readonly shift: number }
  | { readonly kind: 'concatSlice'; readonly a: number; readonly b: number }
  | { readonly kind: 'flatten'; readonly a: number };

/** The transformation nested inside a random program, if any. */
export type Nesting = 'none' | 'grad' | 'jvp' | 'vjp';

/** A random program as plain data: its inputs, nodes, nested transformation and the seed of its directions. */
export interface ProgramSpec {
  readonly inputs: readonly TensorSpec[];
  readonly nodes: readonly NodeSpec[];
  /** A transformation nested inside the checked function. */
  readonly nesting: Nesting;
  /** Seed of the constant directions used by the nesting. */
  readonly seed: number;
}

/** Extra unary functions a program may use (by name), e.g. a user primitive under test. */
export type UnaryOps = Readonly<Record<string, (x: ct.Tensor) => ct.Tensor>>;

/** Options of the random program generator: unary ops to use, sizes and nestings. */
export interface ProgramOptions {
  readonly unaryOps?: UnaryOps;
  readonly maxInputs?: number;
  readonly maxNodes?: number;
  readonly nestings?: readonly Nesting[];
}

const nodeArb = (unary: readonly string[]): fc.Arbitrary<NodeSpec> =>
  fc.oneof(
    { arbitrary: fc.record({ kind: fc.constant('unary' as const), op: fc.constantFrom(...unary), a: fc.nat() }), weight: 4 },
    { arbitrary: fc.record({ kind: fc.constant('binary' as const), op: fc.constantFrom(...BINARY), a: fc.nat(), b: fc.nat() }), weight: 5 },
    {
      arbitrary: fc.record({
        kind: fc.constant('reduce' as const),
        op: fc.constantFrom('sum' as const, 'mean' as const, 'logsumexp' as const),
        a: fc.nat(),
        axis: fc.nat(),
        keepdims: fc.boolean(),
      }),
      weight: 2,
    },
    { arbitrary: fc.record({ kind: fc.constant('matmul' as const), a: fc.nat(), b: fc.nat() }), weight: 2 },
    { arbitrary: fc.record({ kind: fc.constant('transpose' as const), a: fc.nat() }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant('padSlice' as const), a: fc.nat(), shift: fc.nat({ max: 2 }) }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant('concatSlice' as const), a: fc.nat(), b: fc.nat() }), weight: 1 },
    { arbitrary: fc.record({ kind: fc.constant('flatten' as const), a: fc.nat() }), weight: 1 },
  );

/** An arbitrary of random programs (inputs are f64, values in [-2, 2]). */
export function program(opts: ProgramOptions = {}): fc.Arbitrary<ProgramSpec> {
  const { maxInputs = 3, maxNodes = 8, nestings = ['none', 'none', 'grad', 'jvp', 'vjp'] } = opts;
  return fc
    .record({
      m: fc.integer({ min: 1, max: 3 }),
      n: fc.integer({ min: 1, max: 3 }),
      kinds: fc.array(fc.nat({ max: 5 }), { minLength: 1, maxLength: maxInputs }),
      nodes: fc.array(nodeArb([...UNARY, ...Object.keys(opts.unaryOps ?? {})]), { minLength: 1, maxLength: maxNodes }),
      nesting: fc.constantFrom(...nestings),
      seed: fc.integer(),
    })
    .chain(({ m, n, kinds, nodes, nesting, seed }) => {
      const family = [[m, n], [n], [m, 1], [], [1, n], [n, m]];
      return fc.tuple(...kinds.map((k) => tensorOf(family[k]!))).map((inputs) => ({ inputs, nodes, nesting, seed }));
    });
}

type Shape = readonly number[];
const canBroadcast = (a: Shape, b: Shape) => {
  for (let i = 1; i <= Math.min(a.length, b.length); i++) {
    const x = a[a.length - i]!;
    const y = b[b.length - i]!;
    if (x !== y && x !== 1 && y !== 1) return false;
  }
  return true;
};

/** A node with its operands resolved to value indices, and its output shape. */
type Step = { readonly text: string; readonly shape: Shape; readonly run: (vals: readonly ct.Tensor[]) => ct.Tensor };

const unaryFn: Record<string, (x: ct.Tensor) => ct.Tensor> = {
  sin: ct.sin,
  cos: ct.cos,
  tanh: ct.tanh,
  sigmoid: ct.sigmoid,
  neg: ct.neg,
  square: ct.square,
  logOnePlusSq: (x) => ct.log(ct.add(1, ct.square(x))),
  expTanh: (x) => ct.exp(ct.tanh(x)),
  invOnePlusSq: (x) => ct.reciprocal(ct.add(1, ct.square(x))),
  sqrtOnePlusSq: (x) => ct.sqrt(ct.add(1, ct.square(x))),
  softmax: (x) => (x.ndim === 0 ? ct.sigmoid(x) : ct.softmax(x, -1)),
};

/** A fixed 0/1 pattern on the backend and dtype of `like` (the condition of whereFixed). */
function checkerboard(shape: Shape, like: ct.Tensor): ct.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const backend = ct.zerosLike(ct.reshape(like, [-1])).backendName as ct.BackendName;
  return ct.tensor(
    Float64Array.from({ length: n }, (_, i) => (i % 3 === 1 ? 0 : 1)),
    { shape: [...shape], dtype: like.dtype, backend },
  );
}

const binaryFn: Record<BinaryOp, (a: ct.Tensor, b: ct.Tensor) => ct.Tensor> = {
  add: ct.add,
  sub: ct.sub,
  mul: ct.mul,
  divSafe: (a, b) => ct.div(a, ct.add(1, ct.square(b))),
  whereFixed: (a, b) => ct.where(checkerboard(broadcastShapes(a.shape, b.shape), a), a, b),
};

function resolve(spec: ProgramSpec, ops: UnaryOps = {}): Step[] {
  const shapes: Shape[] = spec.inputs.map((s) => s.shape);
  const names: string[] = spec.inputs.map((_, i) => `x${i}`);
  const steps: Step[] = [];
  const push = (text: string, shape: Shape, run: Step['run']) => {
    steps.push({ text: `v${steps.length} = ${text}`, shape, run });
    shapes.push(shape);
    names.push(`v${steps.length - 1}`);
  };
  for (const node of spec.nodes) {
    const ai = node.a % shapes.length;
    const a = shapes[ai]!;
    const an = names[ai]!;
    const unaryFallback = () => push(`tanh(${an})`, a, (v) => ct.tanh(v[ai]!));
    switch (node.kind) {
      case 'unary': {
        const fn = ops[node.op] ?? unaryFn[node.op];
        if (!fn) throw new Error(`random program: unknown unary op '${node.op}' (pass it in unaryOps)`);
        push(`${node.op}(${an})`, a, (v) => fn(v[ai]!));
        break;
      }
      case 'binary': {
        const cands = shapes.map((_, i) => i).filter((i) => canBroadcast(a, shapes[i]!));
        const bi = cands[node.b % cands.length]!;
        push(`${node.op}(${an}, ${names[bi]})`, broadcastShapes(a, shapes[bi]!), (v) => binaryFn[node.op](v[ai]!, v[bi]!));
        break;
      }
      case 'reduce': {
        if (a.length === 0) {
          unaryFallback();
          break;
        }
        const axis = node.axis % a.length;
        const out = node.keepdims ? a.map((d, i) => (i === axis ? 1 : d)) : a.filter((_, i) => i !== axis);
        const f = node.op === 'sum' ? ct.sum : node.op === 'mean' ? ct.mean : ct.logsumexp;
        push(`${node.op}(${an}, axis ${axis}${node.keepdims ? ', keepdims' : ''})`, out, (v) =>
          f(v[ai]!, axis, { keepdims: node.keepdims }),
        );
        break;
      }
      case 'matmul': {
        if (a.length !== 2) {
          unaryFallback();
          break;
        }
        const cands = shapes.map((_, i) => i).filter((i) => shapes[i]!.length === 2 && (shapes[i]![0] === a[1] || shapes[i]![1] === a[1]));
        const bi = cands.length ? cands[node.b % cands.length]! : ai;
        const b = shapes[bi]!;
        const tr = b[0] !== a[1];
        push(`matmul(${an}, ${names[bi]}${tr ? 'ᵀ' : ''})`, [a[0]!, tr ? b[0]! : b[1]!], (v) =>
          ct.matmul(v[ai]!, tr ? ct.matrixTranspose(v[bi]!) : v[bi]!),
        );
        break;
      }
      case 'transpose':
        push(`transpose(${an})`, [...a].reverse(), (v) => ct.transpose(v[ai]!));
        break;
      case 'padSlice': {
        if (a.length === 0) {
          unaryFallback();
          break;
        }
        const w = a.map((_, i) => (i === 0 ? ([1, 1] as [number, number]) : ([0, 0] as [number, number])));
        const begin = a.map((_, i) => (i === 0 ? node.shift : 0));
        push(`slice(pad(${an}, 1 on axis 0), start ${node.shift})`, a, (v) => ct.slice(ct.pad(v[ai]!, w), begin, [...a]));
        break;
      }
      case 'concatSlice': {
        if (a.length === 0) {
          unaryFallback();
          break;
        }
        const cands = shapes
          .map((_, i) => i)
          .filter((i) => shapes[i]!.length === a.length && shapes[i]!.every((d, k) => k === 0 || d === a[k]));
        const bi = cands[node.b % cands.length]!;
        const b = shapes[bi]!;
        const total = a[0]! + b[0]!;
        const start = Math.floor(total / 3);
        const size = Math.max(1, total - start - 1);
        const out = [size, ...a.slice(1)];
        push(`slice(concat(${an}, ${names[bi]}), rows ${start}..${start + size})`, out, (v) =>
          ct.slice(ct.concat([v[ai]!, v[bi]!], 0), [start], [size, ...a.slice(1).map(() => -1)]),
        );
        break;
      }
      case 'flatten':
        push(`flatten(${an})`, [a.reduce((x, y) => x * y, 1)], (v) => ct.reshape(v[ai]!, [-1]));
        break;
    }
  }
  return steps;
}

/** The program as a function of its inputs (before nesting). */
export function programFunction(spec: ProgramSpec, ops?: UnaryOps): TensorFn {
  const steps = resolve(spec, ops);
  return (...xs) => {
    const vals: ct.Tensor[] = [...xs];
    for (const s of steps) vals.push(s.run(vals));
    return vals[vals.length - 1]!;
  };
}

/** The checked function: the program, with the nested transformation applied. */
export function buildProgram(spec: ProgramSpec, ops?: UnaryOps): TensorFn {
  const f = programFunction(spec, ops);
  if (spec.nesting === 'none') return f;
  const rand = prng(spec.seed);
  const xs = spec.inputs.map(specTensor);
  const y = f(...xs);
  switch (spec.nesting) {
    case 'grad': {
      const w = randomLike(y, rand);
      return (...a) => ct.grad((...b: ct.Tensor[]) => ct.sum(ct.mul(f(...b), w)), { argnums: 0 })(...a) as ct.Tensor;
    }
    case 'jvp': {
      const vs = xs.map((x) => randomLike(x, rand));
      return (...a) => ct.jvp(f, a, vs)[1];
    }
    case 'vjp': {
      const c = randomLike(y, rand);
      return (...a) => (ct.vjp(f, ...a)[1](c) as ct.Tensor[])[0]!;
    }
  }
}

/** The program as text, one line per node: for failure reports. */
export function programToString(spec: ProgramSpec, ops?: UnaryOps): string {
  const head = spec.inputs.map((s, i) => `x${i}: ${describeSpec(s, 4)}`).join('\n  ');
  const body = resolve(spec, ops)
    .map((s) => `${s.text}   : [${s.shape.join(',')}]`)
    .join('\n  ');
  const nest =
    spec.nesting === 'none'
      ? 'f'
      : spec.nesting === 'grad'
        ? 'x0 ↦ grad(<w, f>)(x0, ...)'
        : spec.nesting === 'jvp'
          ? 'xs ↦ jvp(f, xs, vs)[1]'
          : 'xs ↦ vjp(f, ...xs)[1](c)[0]';
  return `program (checked as ${nest}, direction seed ${spec.seed}):\n  ${head}\n  ${body}`;
}
