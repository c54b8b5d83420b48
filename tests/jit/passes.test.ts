/**
 * The graph optimisation passes of jit (src/jit/passes.ts): on random
 * programs (the law kit's fuzzer, with some inputs bound to constants and
 * extra ops that the passes rewrite) the optimised graph evaluates bit for bit
 * to what the original graph evaluates, in f64 and f32; and each pass, by
 * hand, removes / merges / folds / simplifies what it should and nothing else.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import type { Graph, GraphConst, GraphEqn, GraphVar } from '../../src/core/graphTrace.js';
import type { ConcreteTensor } from '../../src/core/ConcreteTensor.js';
import { collectCreated } from '../../src/core/memory.js';
import { bind } from '../../src/core/trace.js';
import { canonicalParams, cse, dce, foldConstants, optimize, simplify } from '../../src/jit/passes.js';
import { lookupPrimitive } from '../../src/ops/primitives.js';
import type { DType } from '../../src/tensor/dtype.js';
import { buildProgram, program, programToString, specTensor, type ProgramSpec, type TensorSpec } from '../../laws/index.js';

const cpu = { backend: 'cpu' as const };

beforeAll(async () => {
  await ct.init({ backend: 'wasm' });
  await ct.init({ backend: 'cpu' }); // constants made while tracing (the `1` of x·1) live on the default backend
});

/**
 * The graph with some of its inputs turned into constants of the given values
 * (what makeGraph never produces by itself: ops on captured tensors alone run
 * eagerly while tracing, so this is how equations on constants only arise).
 */
function bindInputs(g: Graph, values: ReadonlyMap<number, ct.Tensor>): Graph {
  return {
    inputs: g.inputs.filter((_, i) => !values.has(i)),
    consts: [...g.consts, ...[...values].map(([i, value]): GraphConst => ({ var: g.inputs[i]!, value }))],
    eqns: g.eqns,
    outputs: g.outputs,
  };
}

/** Apply a built-in primitive by name (bypassing the op functions' identity shortcuts). */
const prim = (name: string, inputs: ct.Tensor[], params: Record<string, unknown> = {}): ct.Tensor =>
  bind(lookupPrimitive(name)!, inputs, params);

/** The values of a tensor, bit for bit: equal when every element is Object.is-equal (so −0 ≠ 0) or both are NaN. */
function sameBits(a: ct.Tensor, b: ct.Tensor): string | null {
  if (a.dtype !== b.dtype) return `dtype ${a.dtype} vs ${b.dtype}`;
  if (a.shape.join(',') !== b.shape.join(',')) return `shape [${a.shape}] vs [${b.shape}]`;
  const x = a.dataSync();
  const y = b.dataSync();
  for (let i = 0; i < x.length; i++) {
    if (!Object.is(x[i], y[i]) && !(Number.isNaN(x[i]) && Number.isNaN(y[i]))) return `element ${i}: ${x[i]} vs ${y[i]}`;
  }
  return null;
}

function expectSameOutputs(a: readonly ct.Tensor[], b: readonly ct.Tensor[]): void {
  expect(b.length).toBe(a.length);
  a.forEach((t, i) => {
    expect(sameBits(t, b[i]!), `output ${i}`).toBeNull();
  });
}

const names = (vs: readonly GraphVar[]) => vs.map((v) => v.name);
const prims = (g: Graph) => g.eqns.map((e) => e.prim);

/** Freeze a graph's structure (arrays, records, variables, parameters; not the constant tensors). */
function deepFreeze(g: Graph): Graph {
  const freeze = (x: unknown): void => {
    if (x === null || typeof x !== 'object' || Object.isFrozen(x) || x instanceof ct.Tensor) return;
    Object.freeze(x);
    for (const v of Object.values(x)) freeze(v);
  };
  freeze(g);
  return g;
}

/** The structure of a graph as JSON (constants by their variables). */
const snapshot = (g: Graph): string => JSON.stringify({ ...g, consts: g.consts.map((c) => c.var) });

// ---- random programs ----

/** Extra unary ops for the fuzzer: each gives a pass something to do (and some must be left alone). */
const passOps: Record<string, (x: ct.Tensor) => ct.Tensor> = {
  timesOne: (x) => ct.mul(x, 1),
  oneTimes: (x) => ct.mul(ct.scalar(1, { dtype: x.dtype as DType }), x),
  plusNegZero: (x) => ct.add(x, -0),
  negZeroPlus: (x) => ct.add(ct.scalar(-0, { dtype: x.dtype as DType }), x),
  plusZero: (x) => ct.add(x, 0), // not an identity for x = −0: must stay
  minusZero: (x) => ct.sub(x, 0),
  minusNegZero: (x) => ct.sub(x, -0), // x + 0: must stay
  zeroMinus: (x) => ct.sub(0, x), // −x, not x: must stay
  negNeg: (x) => ct.neg(ct.neg(x)),
  reshapeSame: (x) => prim('reshape', [x], { shape: [...x.shape] }),
  reshapeTwice: (x) => prim('reshape', [prim('reshape', [x], { shape: [x.size] })], { shape: [...x.shape] }),
  reshapeThrice: (x) =>
    prim('reshape', [prim('reshape', [prim('reshape', [x], { shape: [x.size] })], { shape: [1, x.size] })], { shape: [...x.shape] }),
  broadcastSame: (x) => prim('broadcastTo', [x], { shape: [...x.shape] }),
  broadcastTwice: (x) =>
    ct.sum(prim('broadcastTo', [prim('broadcastTo', [x], { shape: [1, ...x.shape] })], { shape: [2, 1, ...x.shape] }), [0, 1]),
  transposeTwice: (x) => ct.transpose(ct.transpose(x)),
  transposeChain: (x) => {
    // [n,2,3] with distinct offsets → [2,3,n] → [3,2,n] → [n,3,2], weighted and summed: a wrongly composed permutation shows
    const d = x.dtype as DType;
    const y = ct.add(ct.reshape(x, [x.size, 1, 1]), ct.tensor([0, 1, 2, 3, 4, 5], { shape: [1, 2, 3], dtype: d, ...cpu }));
    const t = ct.transpose(ct.transpose(ct.transpose(y, [1, 2, 0]), [1, 0, 2]), [2, 0, 1]);
    const w = ct.tensor([0.25, 0.5, 0.75, 1, 1.25, 1.5], { shape: [1, 3, 2], dtype: d, ...cpu });
    return ct.reshape(ct.sum(ct.mul(t, w), [1, 2]), [...x.shape]);
  },
  transposeSame: (x) => prim('transpose', [x], { perm: x.shape.map((_, i) => i) }),
  sinTwice: (x) => ct.add(ct.sin(x), ct.sin(x)),
  sumsOfBoth: (x) => (x.ndim === 2 ? ct.add(ct.sum(x, 0, { keepdims: true }), ct.sum(x, 1, { keepdims: true })) : ct.cos(x)),
  constChain: (x) => ct.mul(x, ct.sum(ct.exp(ct.sin(ct.tensor([0.5, -0.25, 1], { dtype: x.dtype as DType, ...cpu }))))),
};

const SPECIALS = [0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1, -1];

/** A random program with some input values replaced by special values (±0, NaN, ±∞) and some inputs bound to constants. */
const fuzzCase = (dtype: DType) =>
  fc
    .record({
      spec: program({ unaryOps: passOps, maxNodes: 10, nestings: ['none', 'none', 'grad', 'jvp', 'vjp'] }),
      specials: fc.array(fc.tuple(fc.nat(), fc.nat(), fc.constantFrom(...SPECIALS)), { maxLength: 4 }),
      captured: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    })
    .map(({ spec, specials, captured }) => {
      const inputs: TensorSpec[] = spec.inputs.map((s) => ({ ...s, values: [...s.values], ...(dtype === 'f64' ? {} : { dtype }) }));
      for (const [i, j, v] of specials) {
        const s = inputs[i % inputs.length]!;
        if (s.values.length > 0) (s.values as number[])[j % s.values.length] = v;
      }
      return { spec: { ...spec, inputs } as ProgramSpec, captured: inputs.map((_, i) => captured[i] ?? false) };
    });

let totals = { removed: 0, merged: 0, folded: 0, simplified: 0 };
let checked = 0;

function checkRandomProgram(spec: ProgramSpec, captured: readonly boolean[]): void {
  ct.scope(() => {
    const f = buildProgram(spec, passOps);
    const all = spec.inputs.map(specTensor);
    const args = all.filter((_, i) => !captured[i]);
    const bound = new Map(all.flatMap((t, i) => (captured[i] ? [[i, t] as const] : [])));
    // traced as jit traces: the constants a nested transformation creates stay alive until disposed here
    const { result: traced, created } = collectCreated(() => ct.makeGraph(f, ...all));
    try {
      const g = deepFreeze(bindInputs(traced, bound));
      const before = snapshot(g);
      const { graph, report } = optimize(g);
      expect(snapshot(g)).toBe(before);
      for (const k of ['removed', 'merged', 'folded', 'simplified'] as const) totals[k] += report[k];
      checked++;
      const want = ct.evalGraph(g, ...args);
      const got = ct.evalGraph(graph, ...args);
      try {
        expectSameOutputs(want, got);
      } catch (e) {
        const texts = `${ct.graphToText(g)}\n${ct.graphToText(graph)}`;
        throw new Error(`${(e as Error).message}\n${programToString(spec, passOps)}\ncaptured ${captured}\n${texts}`);
      }
      // a second run changes nothing (fixed point)
      const again = optimize(graph).report;
      expect(again.removed + again.merged + again.folded + again.simplified).toBe(0);
    } finally {
      for (const t of created) (t as ConcreteTensor).dispose();
    }
  });
}

describe('optimize on random programs', () => {
  for (const dtype of ['f64', 'f32'] as const) {
    it(`evaluates bit for bit as the original graph, every kind of pass firing (${dtype})`, () => {
      totals = { removed: 0, merged: 0, folded: 0, simplified: 0 };
      checked = 0;
      fc.assert(
        fc.property(fuzzCase(dtype), ({ spec, captured }) => {
          checkRandomProgram(spec, captured);
        }),
        { numRuns: 200 },
      );
      expect(checked).toBe(200);
      expect(totals.removed).toBeGreaterThan(50);
      expect(totals.merged).toBeGreaterThan(50);
      expect(totals.folded).toBeGreaterThan(50);
      expect(totals.simplified).toBeGreaterThan(50);
    });
  }
});

/** A hand-built graph: variables by name, equations by primitive. */
function graphOf(
  vars: Record<string, [number[], DType?]>,
  inputs: string[],
  consts: [string, ct.Tensor][],
  eqns: [string, Record<string, unknown>, string[], string][],
  outputs: string[],
): Graph {
  const v = (n: string): GraphVar => ({ name: n, shape: vars[n]![0], dtype: vars[n]![1] ?? 'f32' });
  return {
    inputs: inputs.map(v),
    consts: consts.map(([n, value]): GraphConst => ({ var: v(n), value })),
    eqns: eqns.map(([p, params, ins, out]): GraphEqn => ({ prim: p, params, inputs: ins.map(v), output: v(out) })),
    outputs: outputs.map(v),
  };
}

// ---- dce ----

describe('dce', () => {
  it('drops equations no output needs, and constants only they used', () => {
    const c = ct.tensor([1, 2, 3], cpu);
    const g = ct.makeGraph(
      (x: ct.Tensor) => {
        ct.sin(ct.add(x, c)); // dead
        return ct.cos(x);
      },
      ct.zeros([3]),
    );
    expect(prims(g)).toEqual(['add', 'sin', 'cos']);
    const d = dce(g);
    expect(prims(d)).toEqual(['cos']);
    expect(d.consts).toEqual([]);
    expect(names(d.inputs)).toEqual(names(g.inputs));
    expect(optimize(g).report.removed).toBe(3);
  });

  it('keeps everything an output needs, and the inputs even when unused', () => {
    const g = ct.makeGraph((x: ct.Tensor, _y: ct.Tensor) => ct.exp(ct.sin(x)), ct.zeros([2]), ct.zeros([2]));
    const d = dce(g);
    expect(ct.graphToText(d)).toBe(ct.graphToText(g));
  });
});

// ---- cse ----

describe('cse', () => {
  it('merges equal equations and equal scalar constants', () => {
    const g = ct.makeGraph((x: ct.Tensor) => ct.add(ct.mul(ct.sin(x), 2), ct.mul(ct.sin(x), 2)), ct.zeros([3]));
    expect(prims(g)).toEqual(['sin', 'mul', 'sin', 'mul', 'add']);
    expect(g.consts).toHaveLength(2); // each `2` is its own scalar tensor
    const { graph, report } = optimize(g);
    expect(prims(graph)).toEqual(['sin', 'mul', 'add']);
    expect(graph.consts).toHaveLength(1);
    expect(report.merged).toBe(3); // one constant, then sin, then mul
    const add = graph.eqns[2]!;
    expect(add.inputs[0]!.name).toBe(add.inputs[1]!.name);
    const x = ct.tensor([0.5, -1, 3], cpu);
    expectSameOutputs(ct.evalGraph(g, x), ct.evalGraph(graph, x));
  });

  it('merges two constants that are the same tensor', () => {
    const big = ct.zeros([100]); // too large to compare by value: only identity merges it
    const v = (name: string, shape: number[]): GraphVar => ({ name, shape, dtype: 'f32' });
    const g: Graph = {
      inputs: [v('x', [100])],
      consts: [
        { var: v('c1', [100]), value: big },
        { var: v('c2', [100]), value: big },
      ],
      eqns: [
        { prim: 'add', params: {}, inputs: [v('x', [100]), v('c1', [100])], output: v('y', [100]) },
        { prim: 'add', params: {}, inputs: [v('y', [100]), v('c2', [100])], output: v('z', [100]) },
      ],
      outputs: [v('z', [100])],
    };
    const m = cse(g);
    expect(m.consts.map((c) => c.var.name)).toEqual(['c1']);
    expect(names(m.eqns[1]!.inputs)).toEqual(['y', 'c1']);
  });

  it('does not merge constants that differ: −0 and 0, dtypes, shapes', () => {
    const z = ct.scalar(0, cpu);
    const nz = ct.scalar(-0, cpu);
    const z64 = ct.scalar(0, { dtype: 'f64', ...cpu });
    const z1 = ct.tensor([0], cpu);
    const g = ct.makeGraph(
      (x: ct.Tensor) => [ct.mul(x, z), ct.mul(x, nz), ct.cast(ct.mul(ct.cast(x, 'f64'), z64), 'f32'), ct.mul(x, z1)],
      ct.zeros([1]),
    );
    expect(cse(g).consts).toHaveLength(4);
    expect(optimize(g).report.merged).toBe(0);
  });

  it('does not merge sums over different axes, reshapes to different shapes, slices with different windows', () => {
    const g = ct.makeGraph(
      (x: ct.Tensor) => [
        ct.sum(x, 0),
        ct.sum(x, 1),
        ct.reshape(x, [6]),
        ct.reshape(x, [3, 2]),
        ct.slice(x, [0, 0], [1, 3]),
        ct.slice(x, [1, 0], [1, 3]),
      ],
      ct.zeros([2, 3]),
    );
    const { graph, report } = optimize(g);
    expect(report.merged).toBe(0);
    expect(prims(graph)).toEqual(['sum', 'sum', 'reshape', 'reshape', 'slice', 'slice']);
  });

  it('never merges equations whose parameters are not plain data', () => {
    let calls = 0;
    const scale = ct.definePrimitive<{ k: unknown }>({
      name: 'test.passes.scaleByParam',
      shape: ([x]) => ({ shape: x!.shape, dtype: x!.dtype }),
      cpu: ([x]) => {
        calls++;
        return x!.data.map((v) => v * 2);
      },
      jvp: (_p, [t]) => ct.mul(t!, 2),
      vjp: (c) => [ct.mul(c, 2)],
    });
    const fn = () => 2;
    for (const k of [
      fn,
      new Float32Array([2]),
      new (class K {})(),
      {
        get two() {
          return 2;
        },
      },
    ]) {
      const g = ct.makeGraph((x: ct.Tensor) => ct.add(scale.withParams({ k })(x), scale.withParams({ k })(x)), ct.zeros([2]));
      expect(optimize(g).report.merged, String(k)).toBe(0);
    }
    // plain equal parameters do merge, and the user primitive still runs (once)
    const g = ct.makeGraph(
      (x: ct.Tensor) => ct.add(scale.withParams({ k: [1, { a: 2 }] })(x), scale.withParams({ k: [1, { a: 2 }] })(x)),
      ct.zeros([2]),
    );
    const { graph, report } = optimize(g);
    expect(report.merged).toBe(1);
    calls = 0;
    ct.evalGraph(graph, ct.tensor([1, 2], cpu));
    expect(calls).toBe(1);
  });

  it('canonicalParams: key order does not matter; −0, NaN, ∞, undefined and null are all told apart', () => {
    expect(canonicalParams({ a: 1, b: [2, 3] })).toBe(canonicalParams({ b: [2, 3], a: 1 }));
    const texts = [0, -0, Number.NaN, Number.POSITIVE_INFINITY, null, undefined, '0'].map((v) => canonicalParams({ v }));
    expect(new Set(texts).size).toBe(texts.length);
    const holey: number[] = [1];
    holey[2] = 2;
    expect(canonicalParams({ v: holey })).toBeUndefined(); // a hole
    expect(canonicalParams({ v: new Int32Array(2) })).toBeUndefined();
    expect(canonicalParams({ v: () => 1 })).toBeUndefined();
    expect(canonicalParams({ v: new Map() })).toBeUndefined();
    expect(canonicalParams({ v: 1n })).toBeUndefined();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(canonicalParams(cyclic)).toBeUndefined();
    const shared = [1, 2];
    expect(canonicalParams({ a: shared, b: shared })).toBe('{"a":[1,2],"b":[1,2]}');
  });
});

// ---- foldConstants ----

describe('foldConstants', () => {
  it('evaluates built-in equations on constants once, with the declared dtype', () => {
    const c = ct.tensor([0.5, -1, 2], cpu);
    const g = bindInputs(
      ct.makeGraph((x: ct.Tensor, k: ct.Tensor) => ct.add(x, ct.exp(ct.sin(k))), ct.zeros([3]), c),
      new Map([[1, c]]),
    );
    expect(prims(g)).toEqual(['sin', 'exp', 'add']);
    const { graph, report } = optimize(g);
    expect(prims(graph)).toEqual(['add']);
    expect(report.folded).toBe(2);
    expect(report.removed).toBe(2); // c and sin(c), no longer used
    expect(graph.consts).toHaveLength(1);
    const folded = graph.consts[0]!;
    expect(folded.value.dtype).toBe('f32');
    expect(folded.var.dtype).toBe('f32');
    expect(sameBits(folded.value, ct.exp(ct.sin(c)))).toBeNull();
    const x = ct.tensor([1, 2, 3], cpu);
    expectSameOutputs(ct.evalGraph(g, x), ct.evalGraph(graph, x));
  });

  it('a folded cast has the dtype the equation declares', () => {
    const c = ct.tensor([1.1, 2.2], cpu);
    const g = bindInputs(
      ct.makeGraph((x: ct.Tensor, k: ct.Tensor) => ct.mul(x, ct.cast(k, 'f64')), ct.zeros([2], { dtype: 'f64' }), c),
      new Map([[1, c]]),
    );
    const f = foldConstants(g);
    expect(prims(f)).toEqual(['mul']);
    const folded = f.consts.find((k) => k.var.name === g.eqns[0]!.output.name)!;
    expect(folded.var.dtype).toBe('f64');
    expect(folded.value.dtype).toBe('f64');
    expect(Array.from(folded.value.dataSync())).toEqual([Math.fround(1.1), Math.fround(2.2)]);
  });

  it('asserts that a folded value has the declared dtype and shape', () => {
    const c = ct.tensor([1, 2], cpu);
    const g = graphOf({ k: [[2]], y: [[2], 'f64'] }, [], [['k', c]], [['neg', {}, ['k'], 'y']], ['y']);
    expect(() => foldConstants(g)).toThrow(/neg.*f32\[2\].*declares f64\[2\]/);
  });

  it('folds a graph down to constants, the output then being a constant variable', () => {
    const c = ct.tensor([1, 4], cpu);
    const g = bindInputs(
      ct.makeGraph((_x: ct.Tensor, k: ct.Tensor) => ct.sqrt(k), ct.zeros([1]), c),
      new Map([[1, c]]),
    );
    const { graph } = optimize(g);
    expect(graph.eqns).toEqual([]);
    expect(graph.consts.map((k) => k.var.name)).toEqual(names(graph.outputs));
    expect(Array.from(ct.evalGraph(graph, ct.zeros([1]))[0]!.dataSync())).toEqual([1, 2]);
  });

  it('never folds a user primitive (nor runs it at compile time)', () => {
    let calls = 0;
    const twice = ct.definePrimitive({
      name: 'test.passes.twice',
      shape: ([x]) => ({ shape: x!.shape, dtype: x!.dtype }),
      cpu: ([x]) => {
        calls++;
        return x!.data.map((v) => 2 * v);
      },
      jvp: (_p, [t]) => ct.mul(t!, 2),
      vjp: (c) => [ct.mul(c, 2)],
    });
    const c = ct.tensor([1, 2], cpu);
    const g = bindInputs(
      ct.makeGraph((x: ct.Tensor, k: ct.Tensor) => ct.add(x, twice(ct.neg(k))), ct.zeros([2]), c),
      new Map([[1, c]]),
    );
    expect(prims(g)).toEqual(['neg', 'test.passes.twice', 'add']);
    calls = 0;
    const { graph, report } = optimize(g);
    expect(calls).toBe(0);
    expect(report.folded).toBe(1); // the neg only
    expect(prims(graph)).toEqual(['test.passes.twice', 'add']);
    expect(Array.from(ct.evalGraph(graph, ct.tensor([10, 10], cpu))[0]!.dataSync())).toEqual([8, 6]);
    expect(calls).toBe(1);
  });

  it('does not fold outputs above the limit, nor equations with a non-constant input', () => {
    const c = ct.zeros([5000], cpu);
    const g = bindInputs(
      ct.makeGraph((x: ct.Tensor, k: ct.Tensor) => ct.add(ct.sum(ct.exp(k)), ct.sin(x)), ct.zeros([1]), c),
      new Map([[1, c]]),
    );
    expect(prims(foldConstants(g))).toEqual(['exp', 'sum', 'sin', 'add']);
    expect(prims(foldConstants(g, { foldLimit: 5000 }))).toEqual(['sin', 'add']);
  });

  it('leaves constants on different backends, or disposed ones, for run time', () => {
    const a = ct.tensor([1, 2], cpu);
    const b = ct.tensor([3, 4], { backend: 'wasm' });
    const gone = ct.tensor([5, 6], cpu);
    gone.dispose();
    const g = graphOf(
      { a: [[2]], b: [[2]], d: [[2]], y: [[2]], z: [[2]] },
      [],
      [
        ['a', a],
        ['b', b],
        ['d', gone],
      ],
      [
        ['add', {}, ['a', 'b'], 'y'],
        ['neg', {}, ['d'], 'z'],
      ],
      ['y', 'z'],
    );
    expect(prims(foldConstants(g))).toEqual(['add', 'neg']);
  });
});

// ---- simplify ----

describe('simplify', () => {
  it('reshape∘reshape → one reshape; reshape back to the input shape → the input', () => {
    const g = ct.makeGraph(
      (x: ct.Tensor) => {
        const flat = prim('reshape', [x], { shape: [6] });
        return [prim('reshape', [flat], { shape: [3, 2] }), ct.sin(prim('reshape', [flat], { shape: [2, 3] }))];
      },
      ct.zeros([2, 3]),
    );
    expect(ct.graphToText(g)).toBe(
      [
        '{ lambda ; a:f32[2,3]. let',
        '    b:f32[6] = reshape[shape=[6]] a',
        '    c:f32[3,2] = reshape[shape=[3,2]] b',
        '    d:f32[2,3] = reshape[shape=[2,3]] b',
        '    e:f32[2,3] = sin d',
        '  in (c, e) }',
      ].join('\n'),
    );
    const { graph, report } = optimize(g);
    expect(ct.graphToText(graph)).toBe(
      ['{ lambda ; a:f32[2,3]. let', '    c:f32[3,2] = reshape[shape=[3,2]] a', '    e:f32[2,3] = sin a', '  in (c, e) }'].join('\n'),
    );
    expect(report.simplified).toBe(2);
    expect(report.removed).toBe(1);
  });

  it('transpose∘transpose → one transpose with the composed permutation, or nothing', () => {
    const x = ct.tensor(
      Array.from({ length: 24 }, (_, i) => i),
      { shape: [2, 3, 4], ...cpu },
    );
    const g = ct.makeGraph((x: ct.Tensor) => {
      const t = ct.transpose(x, [1, 2, 0]);
      return [ct.transpose(t, [0, 2, 1]), ct.transpose(t, [2, 0, 1])];
    }, x);
    const { graph } = optimize(g);
    expect(graph.eqns).toHaveLength(1);
    expect(graph.eqns[0]!.params).toEqual({ perm: [1, 0, 2] });
    expect(names(graph.eqns[0]!.inputs)).toEqual(names(graph.inputs));
    expect(graph.outputs[1]!.name).toBe(graph.inputs[0]!.name);
    expectSameOutputs(ct.evalGraph(g, x), ct.evalGraph(graph, x));
  });

  it('broadcastTo and transpose to the same shape, x·1, 1·x and −(−x) → x', () => {
    const one = ct.scalar(1, cpu);
    const ones = ct.ones([2, 3], cpu);
    const g = ct.makeGraph(
      (x: ct.Tensor) => [
        prim('broadcastTo', [x], { shape: [2, 3] }),
        prim('transpose', [x], { perm: [0, 1] }),
        ct.mul(x, one),
        ct.mul(one, x),
        ct.mul(x, ones),
        ct.neg(ct.neg(x)),
      ],
      ct.zeros([2, 3]),
    );
    const { graph, report } = optimize(g);
    expect(graph.eqns).toEqual([]);
    expect(graph.consts).toEqual([]);
    expect(names(graph.outputs)).toEqual(Array(6).fill(graph.inputs[0]!.name));
    expect(report.simplified).toBe(6);
    const x = ct.tensor([0, -0, Number.NaN, Number.NEGATIVE_INFINITY, 1e-40, -3], { shape: [2, 3], ...cpu });
    expectSameOutputs(ct.evalGraph(g, x), ct.evalGraph(graph, x));
  });

  it('keeps x·1 when the constant broadcasts x, and x·c for c ≠ 1', () => {
    const g = ct.makeGraph((x: ct.Tensor) => [ct.mul(x, ct.ones([2, 3], cpu)), ct.mul(x, ct.tensor([1, 1, 2], cpu))], ct.zeros([3]));
    const { graph, report } = optimize(g);
    expect(report.simplified).toBe(0);
    expect(prims(graph)).toEqual(['mul', 'mul']);
  });

  it('x − 0 and x + (−0) → x (exact for −0 too); x + 0, 0 + x and x − (−0) stay (−0 + 0 is +0)', () => {
    const g = ct.makeGraph(
      (x: ct.Tensor) => [ct.sub(x, 0), ct.add(x, -0), ct.add(ct.scalar(-0, cpu), x), ct.add(x, 0), ct.add(0, x), ct.sub(x, -0)],
      ct.zeros([3]),
    );
    const { graph, report } = optimize(g);
    expect(report.simplified).toBe(3);
    const a = graph.inputs[0]!.name;
    expect(names(graph.outputs).slice(0, 3)).toEqual([a, a, a]);
    expect(prims(graph)).toEqual(['add', 'add', 'sub']);
    const x = ct.tensor([-0, 0, Number.NaN], cpu);
    const want = ct.evalGraph(g, x);
    expectSameOutputs(want, ct.evalGraph(graph, x));
    expect(Object.is(want[3]!.dataSync()[0], 0)).toBe(true); // −0 + 0 = +0: why x + 0 is kept
    expect(Object.is(want[0]!.dataSync()[0], -0)).toBe(true); // −0 − 0 = −0
  });

  it('for i32 (one zero) x + 0 → x', () => {
    const g = ct.makeGraph((x: ct.Tensor) => [ct.add(x, 0), ct.add(0, x), ct.sub(x, 0)], ct.zeros([2], { dtype: 'i32' }));
    const { graph, report } = optimize(g);
    expect(report.simplified).toBe(3);
    expect(graph.eqns).toEqual([]);
  });

  it('on hand-built graphs: broadcastTo∘broadcastTo composes, neg(neg) of a graph output stays correct', () => {
    const g = graphOf(
      { x: [[3]], b: [[1, 3]], c: [[2, 1, 3]], n: [[3]], m: [[3]] },
      ['x'],
      [],
      [
        ['broadcastTo', { shape: [1, 3] }, ['x'], 'b'],
        ['broadcastTo', { shape: [2, 1, 3] }, ['b'], 'c'],
        ['neg', {}, ['x'], 'n'],
        ['neg', {}, ['n'], 'm'],
      ],
      ['c', 'm', 'n'],
    );
    const s = simplify(g);
    expect(s.eqns.map((e) => [e.prim, names(e.inputs)])).toEqual([
      ['broadcastTo', ['x']],
      ['broadcastTo', ['x']],
      ['neg', ['x']],
    ]);
    expect(names(s.outputs)).toEqual(['c', 'x', 'n']);
    const x = ct.tensor([1, -0, 3], cpu);
    expectSameOutputs(ct.evalGraph(g, x), ct.evalGraph(s, x));
  });
});

// ---- purity ----

describe('the passes do not mutate their input', () => {
  it('on a frozen graph, each pass and optimize leave it as it was', () => {
    const c = ct.tensor([1, 2, 3], cpu);
    const g = deepFreeze(
      ct.makeGraph(
        (x: ct.Tensor) => {
          ct.cos(x);
          const y = ct.add(ct.mul(ct.sin(x), 1), ct.sin(x));
          return ct.sub(ct.neg(ct.neg(ct.reshape(ct.reshape(y, [3, 1]), [3]))), ct.exp(c));
        },
        ct.zeros([3]),
      ),
    );
    const before = snapshot(g);
    const text = ct.graphToText(g);
    for (const pass of [dce, cse, foldConstants, simplify, (h: Graph) => optimize(h).graph]) {
      const out = pass(g);
      expect(out).not.toBe(g);
      expect(snapshot(g)).toBe(before);
      expect(ct.graphToText(g)).toBe(text);
    }
    const { graph } = optimize(g);
    expect(prims(graph)).toEqual(['sin', 'add', 'sub']);
    const x = ct.tensor([0.1, -0, 7], cpu);
    expectSameOutputs(ct.evalGraph(g, x), ct.evalGraph(graph, x));
  });
});
