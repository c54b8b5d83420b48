/**
 * Laws for layers (structurally typed, so any `{ init, apply }` layer fits,
 * e.g. those of cotangent/nn): the declared output shape is the computed
 * one; derivatives with respect to the input and to every parameter leaf
 * match finite differences and satisfy the transpose law; applying a layer
 * leaks no tensor; and the combinator laws `serial(identity, f) ≡ f ≡
 * serial(f, identity)` and `serial(serial(f, g), h) ≡ serial(f, serial(g, h))`.
 */
import fc from 'fast-check';
import * as ct from '../src/index.js';
import { key as prngKey } from '../src/nn/random.js';
import { compare, F64_TOL, prng, randomLike, valuesOf } from './numeric.js';
import { guard, jvpMatchesFiniteDifferences, transposeLaw, type LawOptions } from './predicates.js';
import { firstFailure, LawViolation, pass, type LawResult } from './result.js';

/**
 * The structural shape of a layer (cotangent/nn layers fit it). Methods, so a
 * layer with concrete key, input and context types fits where any layer is
 * expected.
 */
export interface LayerLike<P = unknown> {
  readonly name?: string;
  init(key: unknown, inputShape: readonly number[]): { readonly params: P; readonly outputShape: unknown };
  apply(params: P, x: unknown, ctx?: unknown): unknown;
}

/** `serial` and `identity` of a layer library, for the combinator laws. */
export interface Combinators {
  serial(...layers: LayerLike[]): LayerLike;
  readonly identity: LayerLike;
}

/** A parameter as f64 on the cpu backend, where f64 lives (parameters are made on the default backend: wasm in Node). */
const leafToF64 = (l: ct.Tensor): ct.Tensor =>
  l.backendName === 'cpu' ? ct.cast(l, 'f64') : ct.tensor(l.dataSync(), { shape: [...l.shape], dtype: 'f64', backend: 'cpu' });

const toF64 = (tree: unknown): unknown =>
  ct.treeMap(tree as never, (l: ct.Tensor | number) => (typeof l === 'number' ? l : leafToF64(l)) as never);

const layerName = (l: LayerLike) => `layer '${l.name ?? 'anonymous'}'`;

/** Makes a layer's input of a shape (e.g. i32 token ids for an embedding); the default draws f64 values. */
export type InputMaker = (shape: readonly number[], rand: () => number) => ct.Tensor;

const randomInput: InputMaker = (shape, rand) => randomLike({ shape, dtype: 'f64' }, rand);

/** Law: the output shape declared by init is the shape apply computes. */
export function layerShapeLaw(
  layer: LayerLike,
  key: unknown,
  inputShape: readonly number[],
  rand: () => number,
  input: InputMaker = randomInput,
): LawResult {
  const law = 'layer output shape = declared shape';
  return guard(law, 'layer', () => {
    const { params, outputShape } = layer.init(key, inputShape);
    const y = layer.apply(toF64(params), input(inputShape, rand)) as ct.Tensor;
    if (JSON.stringify(y.shape) === JSON.stringify(outputShape)) return pass(law);
    return {
      ok: false,
      law,
      suspect: 'layer',
      message:
        `init declared output shape ${JSON.stringify(outputShape)} but apply returned [${y.shape.join(',')}] for input ` +
        `[${inputShape.join(',')}]`,
    };
  });
}

/**
 * Law: derivatives w.r.t. the input and every parameter leaf match finite differences and the transpose law (w.r.t.
 * the parameters only when the input is not a float tensor, e.g. token ids).
 */
export function layerGradLaw(
  layer: LayerLike,
  key: unknown,
  inputShape: readonly number[],
  rand: () => number,
  opts: LawOptions & { readonly input?: InputMaker } = {},
): LawResult {
  const law = 'layer derivatives';
  return guard(law, 'layer', () => {
    const params = toF64(layer.init(key, inputShape).params);
    const { leaves, def } = ct.treeFlatten(params);
    const tensors = leaves.map((l) => (typeof l === 'number' ? ct.scalar(l, { dtype: 'f64' }) : l));
    const x = (opts.input ?? randomInput)(inputShape, rand);
    if (x.dtype !== 'f64' && x.dtype !== 'f32') {
      const g = (...ps: ct.Tensor[]) => layer.apply(ct.treeUnflatten(def, ps), x) as ct.Tensor;
      const tp = tensors.map((a) => randomLike(a, rand));
      const cp = randomLike(g(...tensors), rand);
      return firstFailure([jvpMatchesFiniteDifferences(g, tensors, tp, opts), transposeLaw(g, tensors, tp, cp, opts)], law);
    }
    const f = (xi: ct.Tensor, ...ps: ct.Tensor[]) => layer.apply(ct.treeUnflatten(def, ps), xi) as ct.Tensor;
    const args = [x, ...tensors];
    const t = args.map((a) => randomLike(a, rand));
    const y = f(x, ...tensors);
    const c = randomLike(y, rand);
    return firstFailure([jvpMatchesFiniteDifferences(f, args, t, opts), transposeLaw(f, args, t, c, opts)], law);
  });
}

/** Law: applying the layer and differentiating it inside a scope leaves no live tensor behind. */
export function layerNoLeakLaw(
  layer: LayerLike,
  key: unknown,
  inputShape: readonly number[],
  rand: () => number,
  input: InputMaker = randomInput,
): LawResult {
  const law = 'no leaks';
  return guard(law, 'layer', () => {
    const params = toF64(layer.init(key, inputShape).params);
    const x = input(inputShape, rand);
    const before = ct.memoryStats().liveTensors;
    ct.scope(() => {
      ct.grad((p: unknown) => ct.sum(layer.apply(p, x) as ct.Tensor))(params);
    });
    const after = ct.memoryStats().liveTensors;
    if (after === before) return pass(law);
    return {
      ok: false,
      law,
      suspect: 'layer',
      message: `${after - before} tensor(s) still live after applying and differentiating the layer inside a scope`,
    };
  });
}

function sameOutputs(law: string, a: ct.Tensor, b: ct.Tensor, what: string): LawResult {
  const worst = compare(valuesOf(a), valuesOf(b), a.shape, F64_TOL);
  if (!worst && JSON.stringify(a.shape) === JSON.stringify(b.shape)) return pass(law);
  return { ok: false, law, suspect: 'layer', message: what, expected: valuesOf(a), actual: valuesOf(b), ...(worst ? { worst } : {}) };
}

/** Law: serial(identity, f) ≡ f ≡ serial(f, identity). */
export function serialIdentityLaw(
  c: Combinators,
  f: LayerLike,
  key: unknown,
  inputShape: readonly number[],
  rand: () => number,
  input: InputMaker = randomInput,
): LawResult {
  const law = 'serial(identity, f) ≡ f ≡ serial(f, identity)';
  return guard(law, 'layer', () => {
    const pf = toF64(f.init(key, inputShape).params);
    const pi = toF64(c.identity.init(key, inputShape).params);
    const x = input(inputShape, rand);
    const y = f.apply(pf, x) as ct.Tensor;
    const left = c.serial(c.identity, f).apply([pi, pf], x) as ct.Tensor;
    const right = c.serial(f, c.identity).apply([pf, pi], x) as ct.Tensor;
    return firstFailure(
      [sameOutputs(law, y, left, 'serial(identity, f) differs from f'), sameOutputs(law, y, right, 'serial(f, identity) differs from f')],
      law,
    );
  });
}

/** Law: serial(serial(f, g), h) ≡ serial(f, serial(g, h)). */
export function serialAssociativityLaw(
  c: Combinators,
  f: LayerLike,
  g: LayerLike,
  h: LayerLike,
  key: unknown,
  inputShape: readonly number[],
  rand: () => number,
): LawResult {
  const law = 'serial is associative';
  return guard(law, 'layer', () => {
    const i1 = f.init(key, inputShape);
    const s1 = i1.outputShape as number[];
    const i2 = g.init(key, s1);
    const i3 = h.init(key, i2.outputShape as number[]);
    const [pf, pg, ph] = [i1.params, i2.params, i3.params].map(toF64);
    const x = randomInput(inputShape, rand);
    const a = c.serial(c.serial(f, g), h).apply([[pf, pg], ph], x) as ct.Tensor;
    const b = c.serial(f, c.serial(g, h)).apply([pf, [pg, ph]], x) as ct.Tensor;
    return sameOutputs(law, a, b, 'serial(serial(f, g), h) differs from serial(f, serial(g, h))');
  });
}

/** Options of `checkLayer`: which layer laws to check and, for the combinator laws, the library's `serial` and `identity`. */
export interface CheckLayerOptions extends LawOptions {
  /** Which laws (default all that apply). */
  readonly laws?: readonly ('shape' | 'grads' | 'no-leaks' | 'combinators')[];
  /** serial/identity of the layer library: enables the combinator laws. */
  readonly combinators?: Combinators;
  /** Makes the input (default f64 values); e.g. i32 token ids for an embedding, whose laws then differentiate w.r.t. the parameters. */
  readonly input?: InputMaker;
}

/**
 * A property over PRNG seeds checking a layer's laws at an input shape:
 * `fc.assert(checkLayer(nn.dense(3), [2, 4]))`. Parameters and inputs are
 * cast to f64 so finite differences are tight.
 */
export function checkLayer(layer: LayerLike, inputShape: readonly number[], opts: CheckLayerOptions = {}): fc.IPropertyWithHooks<[number]> {
  const laws = opts.laws ?? ['shape', 'grads', 'no-leaks', ...(opts.combinators ? (['combinators'] as const) : [])];
  return fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
    const rand = prng(seed);
    const key = prngKey(seed);
    const results: LawResult[] = [];
    const input = opts.input ?? randomInput;
    if (laws.includes('shape')) results.push(layerShapeLaw(layer, key, inputShape, rand, input));
    if (laws.includes('grads')) results.push(layerGradLaw(layer, key, inputShape, rand, opts));
    if (laws.includes('no-leaks')) results.push(layerNoLeakLaw(layer, key, inputShape, rand, input));
    if (laws.includes('combinators') && opts.combinators)
      results.push(serialIdentityLaw(opts.combinators, layer, key, inputShape, rand, input));
    const r = firstFailure(results, 'checkLayer');
    if (!r.ok) throw new LawViolation(r, layerName(layer), `input shape [${inputShape.join(',')}], seed ${seed}`);
    return true;
  });
}
