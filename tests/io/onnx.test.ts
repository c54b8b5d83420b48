/**
 * ONNX export checked in ONNX Runtime: every built-in primitive (iterating
 * over primNames with the law domains' cases, so a new primitive is covered
 * as soon as it has cases) in f32, f64 and, where the primitive takes
 * integers, i32; the dynamic batch dimension (decided by tracing at three
 * batch sizes); options (opset, names, parameter names); and the errors that
 * name what cannot be exported.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { builtinCases } from '../../laws/domains.js';
import type { PrimCase } from '../../laws/cases.js';
import { decodeOnnx, exportOnnx } from '../../src/io/index.js';
import { runOnnx, expectSame } from './onnxRuntime.js';

const cpuTensor = (values: readonly number[], shape: readonly number[], dtype: ct.DType): ct.Tensor =>
  ct.tensor(Float64Array.from(values), { shape: [...shape], dtype, backend: 'cpu' });

/** A case's inputs on the cpu backend; f64 inputs in `float` (i32 inputs such as indices stay i32). */
const caseInputs = (c: PrimCase, float: 'f32' | 'f64'): ct.Tensor[] =>
  c.inputs.map((s) => cpuTensor(s.values, s.shape, s.dtype === 'i32' ? 'i32' : float));

const feedsOf = (xs: readonly ct.Tensor[]): Record<string, ct.Tensor> =>
  Object.fromEntries(xs.map((x, i) => [xs.length === 1 ? 'input' : `input_${i}`, x]));

/** Export `bind(prim, ·, params)` at the inputs, run it in ONNX Runtime on the same inputs, compare with cotangent. */
async function checkPrim(name: ct.PrimName, xs: readonly ct.Tensor[], params: unknown, label: string): Promise<void> {
  const prim = ct.primitives[name] as unknown as Parameters<typeof ct.bind>[0];
  const f = (...a: ct.Tensor[]) => ct.bind(prim, a, params);
  const want = f(...xs);
  const bytes = await exportOnnx(f, ...xs);
  const got = await runOnnx(bytes, feedsOf(xs));
  expectSame(got.output, want, `${name} ${label} ${xs.map((x) => `${x.dtype}[${x.shape}]`).join(' ')} ${JSON.stringify(params)}`);
}

const sample = (name: ct.PrimName, n: number, seed: number): PrimCase[] => fc.sample(builtinCases[name], { seed, numRuns: n });

/** ONNX Runtime's CPU kernels of these ONNX operators are float-only (Erf, Conv, ConvTranspose): no f64 run. */
const NO_F64_IN_ORT: ReadonlySet<ct.PrimName> = new Set(['erf', 'erfc', 'conv2d', 'conv2dInputGrad', 'conv2dFilterGrad']);

/** Primitives that take integer (i32) tensors, checked again on integer values. */
const INTEGER_PRIMS: ReadonlySet<string> = new Set([
  'neg',
  'relu',
  'square',
  'abs',
  'sign',
  'add',
  'sub',
  'mul',
  'maximum',
  'minimum',
  'greater',
  'greaterEqual',
  'less',
  'lessEqual',
  'equal',
  'notEqual',
  'where',
  'matmul',
  'reshape',
  'broadcastTo',
  'transpose',
  'slice',
  'pad',
  'concat',
  'cast',
  'sum',
  'max',
  'argmax',
  'take',
  'scatterAdd',
  'cumsum',
  'argsort',
]);

describe('exportOnnx: every primitive runs in ONNX Runtime with cotangent’s values', () => {
  it.each(ct.primNames)('%s: f32 and f64 on law-domain cases', async (name) => {
    for (const [k, c] of sample(name, 3, 11).entries()) await checkPrim(name, caseInputs(c, 'f32'), c.params, `f32 case ${k}`);
    if (!NO_F64_IN_ORT.has(name)) {
      const [c] = sample(name, 1, 12);
      await checkPrim(name, caseInputs(c!, 'f64'), c!.params, 'f64');
    }
  });

  it.each(ct.primNames.filter((p) => INTEGER_PRIMS.has(p)))('%s: i32', async (name) => {
    for (const [k, c] of sample(name, 2, 13).entries()) {
      // integers from the case's values (3x, rounded; indices as they are): ties and repeats included, matched exactly
      const xs = c.inputs.map((s) => cpuTensor(s.dtype === 'i32' ? s.values : s.values.map((v) => Math.round(v * 3)), s.shape, 'i32'));
      const params = name === 'cast' ? { dtype: 'f32' } : c.params;
      await checkPrim(name, xs, params, `i32 case ${k}`);
    }
  });
});

describe('exportOnnx: the model file', () => {
  const model = ct.nn.serial(ct.nn.dense(5), ct.nn.relu, ct.nn.dense(3));
  const { params } = model.init(ct.nn.random.key(0), [-1, 4]);
  const apply = (x: ct.Tensor) => model.apply(params, x) as ct.Tensor;
  const x = ct.nn.random.normal(ct.nn.random.key(1), [2, 4]);

  it('is a ModelProto of opset 17 (IR 8) by cotangent: inputs, outputs, parameters as initializers named by their path', async () => {
    const bytes = await exportOnnx(apply, x, { names: { params } });
    const m = decodeOnnx(bytes);
    expect(m.ir_version).toBe(8);
    expect(m.opset_import).toEqual([expect.objectContaining({ version: 17 })]);
    expect(m.producer_name).toBe('cotangent');
    expect(m.graph.input.map((v) => v.name)).toEqual(['input']);
    expect(m.graph.output.map((v) => v.name)).toEqual(['output']);
    expect(m.graph.input[0]!.type.tensor_type.shape.dim).toEqual([{ dim_param: 'batch' }, { dim_value: 4 }]);
    expect(m.graph.output[0]!.type.tensor_type.shape.dim).toEqual([{ dim_param: 'batch' }, { dim_value: 3 }]);
    const inits = m.graph.initializer.map((t) => t.name);
    expect(inits).toEqual(expect.arrayContaining(['0.b', '2.b']));
    const sizes = m.graph.initializer.map((t) => t.dims.reduce((a, b) => a * b, 1));
    expect(sizes.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(4 * 5 + 5 + 5 * 3 + 3);
  });

  it('runs at other batch sizes than the example’s (dynamic batch)', async () => {
    const bytes = await exportOnnx(apply, x);
    for (const n of [1, 7, 33]) {
      const xn = ct.nn.random.normal(ct.nn.random.key(n), [n, 4]);
      expectSame((await runOnnx(bytes, { input: xn })).output, apply(xn), `batch ${n}`);
    }
  });

  it('opsets 17 to 22 (reductions take their axes as an input from 18 on)', async () => {
    const f = (a: ct.Tensor) => ct.add(ct.max(a, 1), ct.sum(a, 0));
    const a = ct.nn.random.normal(ct.nn.random.key(2), [3, 3]);
    for (const opset of [17, 18, 20, 22]) {
      const bytes = await exportOnnx(f, a, { opset });
      const m = decodeOnnx(bytes);
      expect(m.opset_import[0]!.version).toBe(opset);
      expect(m.ir_version).toBe({ 17: 8, 18: 8, 20: 9, 22: 10 }[opset]);
      expectSame((await runOnnx(bytes, { input: a })).output, f(a), `opset ${opset}`);
    }
  });

  it('names the inputs and outputs as asked; several inputs and outputs', async () => {
    const f = (a: ct.Tensor, b: { w: ct.Tensor }) => [ct.mul(a, b.w), ct.sum(a)] as const;
    const a = ct.nn.random.normal(ct.nn.random.key(3), [2, 3]);
    const w = ct.nn.random.normal(ct.nn.random.key(4), [3]);
    const bytes = await exportOnnx(f, a, { w }, { names: { inputs: ['a', 'w'], outputs: ['prod', 'total'] } });
    const got = await runOnnx(bytes, { a, w });
    const [p, t] = f(a, { w });
    expectSame(got.prod, p, 'prod');
    expectSame(got.total, t, 'total');
    // a last argument whose keys are not all option names is an argument
    const plain = decodeOnnx(await exportOnnx(f, a, { w }));
    expect(plain.graph.input.map((v) => v.name)).toEqual(['input_0', 'input_1']);
  });

  it('sizes that depend on the batch are computed at run time (reshape, broadcastTo, slice)', async () => {
    const f = (a: ct.Tensor, b: ct.Tensor) => {
      const flat = ct.reshape(a, [-1]); // [3·batch]
      const wide = ct.broadcastTo(b, [a.shape[0]!, 3]); // [batch, 3] from [3]
      const cut = ct.slice(a, [0, 1], [a.shape[0]!, 2]); // [batch, 2]
      return [flat, ct.add(a, wide), cut];
    };
    const bytes = await exportOnnx(f, ct.zeros([2, 3]), ct.zeros([3]));
    const m = decodeOnnx(bytes);
    expect(m.graph.output[0]!.type.tensor_type.shape.dim).toEqual([{ dim_param: '3*batch' }]);
    for (const n of [1, 5]) {
      const a = ct.nn.random.normal(ct.nn.random.key(n), [n, 3]);
      const b = ct.nn.random.normal(ct.nn.random.key(9), [3]);
      const got = await runOnnx(bytes, { input_0: a, input_1: b });
      const want = f(a, b);
      want.forEach((y, i) => {
        expectSame(got[`output_${i}`], y, `batch ${n} output ${i}`);
      });
    }
  });

  it('a constant that depends on the batch size fixes the batch (or is an error with dynamicBatch: true)', async () => {
    const meanRows = (a: ct.Tensor) => ct.mean(a, 0); // divides by the batch size: a constant of the trace
    const a = ct.nn.random.normal(ct.nn.random.key(5), [4, 2]);
    const m = decodeOnnx(await exportOnnx(meanRows, a));
    expect(m.graph.input[0]!.type.tensor_type.shape.dim).toEqual([{ dim_value: 4 }, { dim_value: 2 }]);
    expectSame((await runOnnx(await exportOnnx(meanRows, a), { input: a })).output, meanRows(a), 'mean');
    await expect(exportOnnx(meanRows, a, { dynamicBatch: true })).rejects.toThrow(
      /exportOnnx: the batch dimension cannot be dynamic: the constant \w+ depends on the batch size/,
    );
    const fixed = decodeOnnx(await exportOnnx(apply, x, { dynamicBatch: false }));
    expect(fixed.graph.input[0]!.type.tensor_type.shape.dim).toEqual([{ dim_value: 2 }, { dim_value: 4 }]);
  });
});

describe('exportOnnx: control flow as ONNX Scan, If and Loop', () => {
  const cases: [string, (a: ct.Tensor) => ct.Tensor, number[]][] = [
    [
      'scan: running sums and products',
      (xs) => ct.scan((c: ct.Tensor, v: ct.Tensor) => [ct.add(c, v), ct.mul(c, v)] as const, ct.scalar(0), xs)[1],
      [3],
    ],
    [
      'reverse scan over rows, a carried vector and captured weights',
      (xs) => {
        const w = ct.tensor([0.5, -1.5]);
        const [c, ys] = ct.scan((h: ct.Tensor, v: ct.Tensor) => [ct.tanh(ct.add(ct.mul(h, w), v)), ct.sin(h)] as const, ct.zeros([2]), xs, {
          reverse: true,
        });
        return ct.concat([c, ct.reshape(ys, [-1])], 0);
      },
      [4, 2],
    ],
    [
      'foriLoop with fixed bounds (a scan over the indices)',
      (a) => ct.foriLoop(0, 4, (i: ct.Tensor, c: ct.Tensor) => ct.add(ct.mul(c, 0.5), ct.cast(i, 'f32')), a),
      [2],
    ],
    [
      'whileLoop: halve until the sum is at most 1 (trip count from the values, zero trips included)',
      (a) =>
        ct.whileLoop(
          (v: ct.Tensor) => ct.greater(ct.sum(ct.abs(v)), 1),
          (v: ct.Tensor) => ct.mul(v, 0.5),
          a,
        ),
      [3],
    ],
    [
      'cond: both branches taken (the predicate depends on the input)',
      (a) =>
        ct.cond(
          ct.greater(ct.sum(a), 0),
          (v: ct.Tensor) => ct.exp(v),
          (v: ct.Tensor) => ct.neg(ct.square(v)),
          a,
        ),
      [3],
    ],
  ];

  it.each(cases)('%s', async (_name, f, shape) => {
    const bytes = await exportOnnx(f, ct.zeros(shape), { dynamicBatch: false });
    for (const seed of [1, 2, 3]) {
      const a = ct.mul(ct.nn.random.normal(ct.nn.random.key(seed), shape), seed === 3 ? 0.1 : 4);
      expectSame((await runOnnx(bytes, { input: a })).output, f(a), `seed ${seed}`);
    }
  });

  it('a scan over time with a batch: the initial state of zeros follows the batch size at run time', async () => {
    const w = ct.nn.random.normal(ct.nn.random.key(4), [3, 3]);
    // xs [batch, time, 3] read step by step along time
    const f = (xs: ct.Tensor) => {
      const steps = ct.transpose(xs, [1, 0, 2]);
      const [h] = ct.scan(
        (c: ct.Tensor, v: ct.Tensor) => [ct.tanh(ct.add(ct.matmul(c, w), v)), c] as const,
        ct.zeros([xs.shape[0]!, 3]),
        steps,
      );
      return h;
    };
    const bytes = await exportOnnx(f, ct.zeros([2, 5, 3]), { dynamicBatch: true });
    for (const n of [1, 4]) {
      const a = ct.nn.random.normal(ct.nn.random.key(n), [n, 5, 3]);
      expectSame((await runOnnx(bytes, { input: a })).output, f(a), `batch ${n}`);
    }
  });
});

describe('exportOnnx: transformed functions (their graphs are built-in primitives too)', () => {
  const f = (x: ct.Tensor) => ct.sum(ct.mul(ct.sin(x), ct.exp(x)));
  const cases: [string, (x: ct.Tensor) => ct.Tensor][] = [
    ['jit', ct.jit((x: ct.Tensor) => ct.tanh(ct.matmul(x, ct.transpose(x, [1, 0]))))],
    ['grad', ct.grad(f) as (x: ct.Tensor) => ct.Tensor],
    ['vmap of softmax', ct.vmap((r: ct.Tensor) => ct.softmax(r, -1)) as (x: ct.Tensor) => ct.Tensor],
    [
      'jvp of grad (a Hessian-vector product)',
      (x) => ct.jvp(ct.grad(f) as (x: ct.Tensor) => ct.Tensor, [x], [ct.onesLike(x)])[1] as ct.Tensor,
    ],
  ];
  it.each(cases)('%s', async (_name, g) => {
    const bytes = await exportOnnx(g, ct.nn.random.normal(ct.nn.random.key(1), [3, 4]));
    const xn = ct.nn.random.normal(ct.nn.random.key(2), [3, 4]);
    expectSame((await runOnnx(bytes, { input: xn })).output, g(xn), 'at another input', { rtol: 1e-4, atol: 1e-5 });
  });
});

describe('exportOnnx: clear errors', () => {
  const x = ct.tensor([1, 2, 3]);

  it('names a user-defined primitive', async () => {
    const twice = ct.definePrimitive({
      name: 'test.onnx.twice',
      shape: ([a]) => ({ shape: a!.shape, dtype: a!.dtype }),
      cpu: ([a]) => a!.data.map((v) => 2 * v),
      jvp: (_p, [t]) => ct.mul(t!, 2),
      vjp: (c) => [ct.mul(c, 2)],
    });
    await expect(exportOnnx((a: ct.Tensor) => twice(a), x)).rejects.toThrow(
      /exportOnnx: cannot export the user-defined primitive 'test\.onnx\.twice'/,
    );
  });

  it('rejects an unsupported opset and a wrong number of names', async () => {
    await expect(exportOnnx(ct.sin, x, { opset: 16 })).rejects.toThrow(/exportOnnx: opset 16 is not supported \(choose one of 17/);
    await expect(exportOnnx(ct.sin, x, { names: { inputs: ['a', 'b'] } })).rejects.toThrow(
      /exportOnnx: names.inputs has 2 names for 1 inputs/,
    );
    await expect(exportOnnx(ct.sin, x, { names: { inputs: ['a'], outputs: ['a'] } })).rejects.toThrow(
      /exportOnnx: the name 'a' is given to two inputs or outputs/,
    );
  });
});
