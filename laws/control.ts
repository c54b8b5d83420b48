/**
 * Laws of the staged control flow and of the memory transformations, each
 * against its definition:
 *
 * - `scanLaw`: `scan(f, init, xs)` equals the same loop written in JavaScript
 *   (carry and stacked ys), and so does its gradient with respect to the
 *   initial carry and the xs (grad of the unrolled loop).
 * - `checkpointLaw`: `checkpoint(f)` equals `f` in value, in the gradient of
 *   `<w, f(x)>` (a random w) and in the JVP along a random tangent.
 * - `linearizeLaw`: `linearize(f, x)` returns `f(x)`, and its linear map
 *   applied to a random tangent equals `jvp(f, [x], [t])`.
 *
 * Values are compared within the dtype's tolerance (f64: rtol 1e-10).
 */
import * as ct from '../src/index.js';
import { prng, randomLike } from './numeric.js';
import { pass, type LawResult } from './result.js';

/** The largest relative difference between two tensors of the same shape (NaN when shapes differ). */
function relDiff(a: ct.Tensor, b: ct.Tensor): number {
  if (a.shape.join(',') !== b.shape.join(',')) return Number.NaN;
  const x = a.dataSync();
  const y = b.dataSync();
  let worst = 0;
  for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / Math.max(1, Math.abs(x[i]!), Math.abs(y[i]!)));
  return worst;
}

const tolOf = (t: ct.Tensor): number => (t.dtype === 'f64' ? 1e-10 : 1e-4);

/** The first pair that differs beyond tolerance, as a failure of `law`. */
function compare(law: string, pairs: readonly [string, ct.Tensor, ct.Tensor][]): LawResult {
  for (const [what, expected, actual] of pairs) {
    const d = relDiff(expected, actual);
    if (!(d <= tolOf(expected)))
      return {
        ok: false,
        law,
        message: `${what}: ${Number.isNaN(d) ? `shapes [${expected.shape}] vs [${actual.shape}]` : `relative difference ${d}`}`,
        expectedLabel: 'the definition',
        actualLabel: 'the transformation',
        expected: Array.from(expected.dataSync()).slice(0, 12),
        actual: Array.from(actual.dataSync()).slice(0, 12),
      };
  }
  return pass(law);
}

/** A scan body over tensors: `(carry, x) => [carry, y]`. */
export type ScanBody = (carry: ct.Tensor, x: ct.Tensor) => readonly [ct.Tensor, ct.Tensor];

/** The loop scan stands for, written out: x_t = xs[t], ys stacked along axis 0. */
export function loopScan(f: ScanBody, init: ct.Tensor, xs: ct.Tensor): [ct.Tensor, ct.Tensor] {
  const n = xs.shape[0]!;
  const rest = xs.shape.slice(1);
  let c = init;
  const ys: ct.Tensor[] = [];
  for (let t = 0; t < n; t++) {
    const x = ct.reshape(ct.slice(xs, [t, ...rest.map(() => 0)], [1, ...rest]), rest);
    const [c2, y] = f(c, x);
    c = c2;
    ys.push(y);
  }
  return [c, ct.stack(ys, 0)];
}

/** A law body that throws fails the law (with what it threw) instead of escaping. */
function guarded(law: string, run: () => LawResult): LawResult {
  try {
    return run();
  } catch (e) {
    return { ok: false, law, message: `threw ${(e as Error).name}: ${(e as Error).message}` };
  }
}

/**
 * scan ≡ the loop, in the final carry, the stacked ys and the gradient (w.r.t. init and xs) of a random projection of
 * both. `scan` is the implementation checked (default ct.scan; the tests pass broken ones).
 */
export function scanLaw(f: ScanBody, init: ct.Tensor, xs: ct.Tensor, seed = 1, scan: typeof ct.scan = ct.scan): LawResult {
  const law = 'scan = the loop written out';
  return guarded(law, () => scanLawBody(law, f, init, xs, seed, scan));
}

function scanLawBody(law: string, f: ScanBody, init: ct.Tensor, xs: ct.Tensor, seed: number, scan: typeof ct.scan): LawResult {
  const [c, ys] = scan(f, init, xs);
  const [lc, lys] = loopScan(f, init, xs);
  const rand = prng(seed);
  const wc = randomLike(lc, rand);
  const wy = randomLike(lys, rand);
  const objective = (run: (i: ct.Tensor, x: ct.Tensor) => [ct.Tensor, ct.Tensor]) => (i: ct.Tensor, x: ct.Tensor) => {
    const [cc, yy] = run(i, x);
    return ct.add(ct.sum(ct.mul(cc, wc)), ct.sum(ct.mul(yy, wy)));
  };
  const [gi, gx] = ct.grad(
    objective((i, x) => scan(f, i, x)),
    { argnums: [0, 1] },
  )(init, xs);
  const [li, lx] = ct.grad(
    objective((i, x) => loopScan(f, i, x)),
    { argnums: [0, 1] },
  )(init, xs);
  return compare(law, [
    ['final carry', lc, c],
    ['ys', lys, ys],
    ['gradient w.r.t. the initial carry', li, gi],
    ['gradient w.r.t. xs', lx, gx],
  ]);
}

/** checkpoint(f) ≡ f: value, gradient of <w, f(x)> and JVP along a random tangent (`checkpoint`: the implementation checked). */
export function checkpointLaw(
  f: (x: ct.Tensor) => ct.Tensor,
  x: ct.Tensor,
  seed = 1,
  checkpoint: <F extends (x: ct.Tensor) => ct.Tensor>(f: F) => F = ct.checkpoint,
): LawResult {
  const law = 'checkpoint(f) = f';
  return guarded(law, () => {
    const g = checkpoint(f);
    const rand = prng(seed);
    const y = f(x);
    const w = randomLike(y, rand);
    const t = randomLike(x, rand);
    const proj = (h: (v: ct.Tensor) => ct.Tensor) => (v: ct.Tensor) => ct.sum(ct.mul(h(v), w));
    return compare(law, [
      ['value', y, g(x)],
      ['gradient of <w, f>', ct.grad(proj(f))(x), ct.grad(proj(g))(x)],
      ['jvp', ct.jvp(f, [x], [t])[1], ct.jvp(g, [x], [t])[1]],
    ]);
  });
}

/** A linearisation: `[f(x), the linear map]` (the signature of ct.linearize for one tensor argument). */
export type Linearize = (f: (x: ct.Tensor) => ct.Tensor, x: ct.Tensor) => [ct.Tensor, (t: ct.Tensor) => ct.Tensor];

/** linearize(f, x) gives f(x) and a linear map equal to jvp(f, [x], ·) on random tangents (`linearize`: the implementation checked). */
export function linearizeLaw(
  f: (x: ct.Tensor) => ct.Tensor,
  x: ct.Tensor,
  seed = 1,
  linearize: Linearize = (g, v) => ct.linearize(g, v) as [ct.Tensor, (t: ct.Tensor) => ct.Tensor],
): LawResult {
  const law = 'linearize = jvp';
  return guarded(law, () => {
    const [y, lin] = linearize(f, x);
    const rand = prng(seed);
    const t1 = randomLike(x, rand);
    const t2 = randomLike(x, rand);
    return compare(law, [
      ['value', f(x), y],
      ['the linear map on a tangent', ct.jvp(f, [x], [t1])[1], lin(t1)],
      ['the linear map on another tangent', ct.jvp(f, [x], [t2])[1], lin(t2)],
    ]);
  });
}
