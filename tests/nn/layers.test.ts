/**
 * Layers and combinators: the layer laws (checkLayer) on every layer and
 * combinator, the combinator laws, parameter counts, the chain rule through
 * a composed network, dropout, shape errors naming the position and shapes,
 * and the compile-time shape checks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import { checkLayer, serialAssociativityLaw, serialIdentityLaw, type Combinators, type LayerLike } from '../../laws/layers.js';
import { prng } from '../../laws/numeric.js';

const combinators: Combinators = { serial: nn.serial as unknown as Combinators['serial'], identity: nn.identity };
/** The tensor in f64, on the cpu backend where f64 lives (parameters and samples are made on the default backend: wasm in Node). */
const f64 = (t: ct.Tensor) => ct.tensor(t.dataSync(), { shape: [...t.shape], dtype: 'f64', backend: 'cpu' });
const close = (a: ct.Tensor, b: ct.Tensor, tol = 1e-10) => {
  expect(a.shape).toEqual(b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  x.forEach((v, i) => {
    expect(Math.abs(v - y[i]!)).toBeLessThanOrEqual(tol * (1 + Math.abs(y[i]!)));
  });
};

describe('layer laws (checkLayer)', () => {
  const cases: [string, LayerLike, number[]][] = [
    ['dense on rank 3', nn.dense(3), [2, 2, 4]],
    ['relu', nn.relu, [2, 3]],
    ['tanh', nn.tanh, [2, 3]],
    ['logSoftmax', nn.logSoftmax, [2, 4]],
    ['flatten', nn.flatten, [2, 2, 3]],
    ['reshape', nn.reshape([2, 3]), [2, 6]],
    ['residual', nn.residual(nn.serial(nn.dense(4), nn.tanh)), [2, 4]],
    [
      'fanOut/parallel/fanInSum',
      nn.serial(nn.fanOut(2), nn.parallel(nn.dense(3), nn.serial(nn.dense(3), nn.sigmoid)), nn.fanInSum),
      [2, 4],
    ],
    ['fanInConcat', nn.serial(nn.fanOut(2), nn.parallel(nn.dense(2), nn.identity), nn.fanInConcat), [2, 3]],
    ['lambda', nn.lambda('square', (x) => ct.square(x)), [2, 3]],
    ['dropout (inference)', nn.dropout(0.5), [2, 3]],
    ['conv2d valid', nn.conv2d(2, 2), [1, 3, 3, 2]],
    ['conv2d same stride 2', nn.conv2d(2, [3, 2], { padding: 'same', stride: 2 }), [1, 5, 4, 1]],
    ['maxPool2d', nn.maxPool2d(2), [1, 4, 4, 2]],
    ['avgPool2d overlapping', nn.avgPool2d(2, 1), [1, 3, 3, 1]],
  ];
  for (const [name, layer, shape] of cases) {
    it(`${name} passes the layer laws`, () => {
      fc.assert(checkLayer(layer, shape, { combinators }), { numRuns: 2 });
    });
  }
});

describe('combinator laws', () => {
  it('serial(identity, f) ≡ f ≡ serial(f, identity) and serial is associative, over random widths', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 1000 }), (a, b, seed) => {
        const f = nn.serial(nn.dense(a), nn.tanh);
        const r1 = serialIdentityLaw(combinators, f, nn.random.key(seed), [2, b], prng(seed));
        const r2 = serialAssociativityLaw(combinators, nn.dense(a), nn.relu, nn.dense(b), nn.random.key(seed), [2, 3], prng(seed));
        expect(r1.ok && r2.ok).toBe(true);
        return true;
      }),
      { numRuns: 8 },
    );
  });

  it('law: the parameter count of a composition is the sum of its parts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 6 }),
        (widths, input) => {
          const layers = widths.map((w) => nn.dense(w));
          const whole = (nn.serial as (...l: nn.AnyLayer[]) => nn.AnyLayer)(...layers);
          const k = nn.random.key(0);
          const total = nn.paramCount(whole.init(k, [-1, input]).params);
          let shape: readonly number[] = [-1, input];
          let sum = 0;
          for (const l of layers) {
            const r = l.init(k, shape);
            sum += nn.paramCount(r.params);
            shape = r.outputShape as number[];
          }
          expect(total).toBe(sum);
          return true;
        },
      ),
      { numRuns: 20 },
    );
  });

  it('law: the gradient of a composed network is the chain of its layers’ VJPs', () => {
    const l1 = nn.dense(4);
    const l2 = nn.tanh;
    const l3 = nn.dense(2);
    const net = nn.serial(l1, l2, l3);
    const params = ct.treeMap(net.init(nn.random.key(3), [-1, 3]).params, (l) => f64(l as ct.Tensor)) as nn.ParamsOf<typeof net>;
    const x = f64(nn.random.normal(nn.random.key(4), [5, 3]));
    const ct0 = f64(nn.random.normal(nn.random.key(5), [5, 2]));
    const [, pbNet] = ct.vjp((p: typeof params, xi: ct.Tensor) => net.apply(p, xi), params, x);
    const [gNet, gxNet] = pbNet(ct0) as [typeof params, ct.Tensor];
    // by hand: pull the cotangent back through l3, then l2, then l1
    const [p1, p2, p3] = params;
    const [h1, pb1] = ct.vjp((p: typeof p1, xi: ct.Tensor) => l1.apply(p, xi), p1, x);
    const [h2, pb2] = ct.vjp((xi: ct.Tensor) => l2.apply(p2, xi), h1);
    const [, pb3] = ct.vjp((p: typeof p3, xi: ct.Tensor) => l3.apply(p, xi), p3, h2);
    const [g3, c2] = pb3(ct0) as [typeof p3, ct.Tensor];
    const [c1] = pb2(c2) as [ct.Tensor];
    const [g1, cx] = pb1(c1) as [typeof p1, ct.Tensor];
    close(gNet[0].W, g1.W);
    close(gNet[0].b, g1.b);
    close(gNet[2].W, g3.W);
    close(gxNet, cx);
  });

  it('serial splits the key: layers get different initial weights; same key, same weights', () => {
    const net = nn.serial(nn.dense(3), nn.dense(3));
    const a = net.init(nn.random.key(1), [-1, 3]).params;
    const b = net.init(nn.random.key(1), [-1, 3]).params;
    expect(Array.from(a[0].W.dataSync())).toEqual(Array.from(b[0].W.dataSync()));
    expect(Array.from(a[0].W.dataSync())).not.toEqual(Array.from(a[1].W.dataSync()));
  });
});

describe('layers', () => {
  it('dense computes x Wᵀ + b with W: [out, in]', () => {
    const l = nn.dense(2);
    const { params, outputShape } = l.init(nn.random.key(0), [-1, 3]);
    expect(params.W.shape).toEqual([2, 3]);
    expect(params.b.shape).toEqual([2]);
    expect(outputShape).toEqual([-1, 2]);
    const W = ct.tensor([
      [1, 2, 3],
      [0, -1, 1],
    ]);
    const y = l.apply(
      { W, b: ct.tensor([10, 20]) },
      ct.tensor([
        [1, 1, 1],
        [1, 0, 2],
      ]),
    );
    expect(y.arraySync()).toEqual([
      [16, 20],
      [17, 22],
    ]);
  });

  it('dropout is the identity at inference, zeroes and rescales in training, driven by the key', () => {
    const d = nn.dropout(0.5);
    const x = ct.ones([4, 50]);
    expect(d.apply({}, x)).toBe(x);
    const y1 = d.apply({}, x, { training: true, key: nn.random.key(9) }).dataSync();
    const y2 = d.apply({}, x, { training: true, key: nn.random.key(9) }).dataSync();
    const y3 = d.apply({}, x, { training: true, key: nn.random.key(10) }).dataSync();
    expect(Array.from(y1)).toEqual(Array.from(y2));
    expect(Array.from(y1)).not.toEqual(Array.from(y3));
    expect(new Set(y1)).toEqual(new Set([0, 2]));
    const kept = Array.from(y1).filter((v) => v === 2).length / y1.length;
    expect(Math.abs(kept - 0.5)).toBeLessThan(0.1);
    expect(() => d.apply({}, x, { training: true })).toThrow(/needs ctx.key/);
  });

  it('init checks shapes: the error names the layer position and both shapes', () => {
    // @ts-expect-error (a literal mismatch is also a compile-time error)
    const net = nn.serial(nn.dense(8), nn.relu, nn.dense(3, { inputs: 5 }));
    expect(() => net.init(nn.random.key(0), [-1, 4])).toThrow(
      /serial: layer 2 \(dense\(3\)\) with input \[-1,8\]: dense\(3\): expects input \[\.\.\., 5\], got \[-1,8\]/,
    );
    // @ts-expect-error (a rank mismatch is also a compile-time error)
    const cnn = nn.serial(nn.flatten, nn.conv2d(4, 3));
    expect(() => cnn.init(nn.random.key(0), [-1, 8, 8, 1])).toThrow(
      /layer 1 \(conv2d\(4, 3x3, valid\)\) with input \[-1,64\]: .*expects an NHWC input/,
    );
    // @ts-expect-error (a rank mismatch is also a compile-time error)
    const nested = nn.serial(nn.dense(4), nn.serial(nn.relu, nn.conv2d(2, 3)));
    expect(() => nested.init(nn.random.key(0), [-1, 3])).toThrow(/layer 1 .* layer 1 \(conv2d/);
    expect(() => nn.residual(nn.dense(2)).init(nn.random.key(0), [-1, 3])).toThrow(
      /residual: the branch dense\(2\) maps \[-1,3\] to \[-1,2\]/,
    );
    expect(() =>
      nn.fanInSum.init(nn.random.key(0), [
        [-1, 2],
        [-1, 3],
      ]),
    ).toThrow(/fanInSum: input shapes differ/);
  });

  it('fromSpec rebuilds an architecture from its description', () => {
    const net = nn.serial(
      nn.reshape([4, 4, 1]),
      nn.conv2d(2, 3, { padding: 'same' }),
      nn.relu,
      nn.maxPool2d(2),
      nn.flatten,
      nn.dropout(0.1),
      nn.dense(3),
    );
    const again = nn.fromSpec(JSON.parse(JSON.stringify(net.spec)));
    expect(again.spec).toEqual(net.spec);
    const { params } = net.init(nn.random.key(0), [-1, 16]);
    const x = nn.random.normal(nn.random.key(1), [2, 16]);
    expect(Array.from((again.apply(params, x) as ct.Tensor).dataSync())).toEqual(Array.from(net.apply(params, x).dataSync()));
    expect(() => nn.fromSpec({ type: 'nope' })).toThrow(/unknown layer type 'nope'/);
  });

  it('parameter trees have inferred types (compile-time checks)', () => {
    const net = nn.serial(nn.dense(16), nn.relu, nn.dense(10));
    const { params } = net.init(nn.random.key(0), [-1, 4]);
    // params is typed as readonly [DenseParams, NoParams, DenseParams]: no casts needed
    const w: ct.Tensor = params[0].W;
    const b: ct.Tensor = params[2].b;
    expect(w.shape).toEqual([16, 4]);
    expect(b.shape).toEqual([10]);
    // @ts-expect-error the relu slot has no W
    expect(params[1].W).toBeUndefined();
    // literal dimensions that do not fit are compile-time errors:
    // @ts-expect-error dense(8) feeds 8 features to a layer declared with inputs: 5
    nn.serial(nn.dense(8), nn.relu, nn.dense(3, { inputs: 5 }));
    // @ts-expect-error flatten produces rank 2; conv2d needs NHWC (rank 4)
    nn.serial(nn.flatten, nn.conv2d(4, 3));
    // fitting literal dimensions compile
    nn.serial(nn.dense(5), nn.tanh, nn.dense(3, { inputs: 5 }));
    nn.serial(nn.reshape([8, 8, 1]), nn.conv2d(4, 3, { inputs: 1 }), nn.relu, nn.maxPool2d(2), nn.flatten, nn.dense(10));
  });
});
