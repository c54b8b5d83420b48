/**
 * Accuracy and consistency of the vectorised transcendental functions of the
 * wasm backend (src/backends/wasm/assembly/math.ts).
 *
 * math.ts is compiled with the backend's asc flags into a temporary folder and
 * instantiated with a shared memory. Each function is compared with
 * JavaScript's Math.* computed in f64 and rounded to f32 (Math.fround): the
 * error is the distance in f32 ulp (adjacent representable f32 values), and
 * its maximum over dense sweeps of the documented domain, fast-check random
 * f32 bit patterns and special values must not exceed MAX_ULP. Values the
 * functions must get exactly (NaN, infinities, zeros with their sign) are
 * compared with Object.is. SIMD lanes and the scalar tail must agree bitwise.
 * The measured table (function, domain, max ulp) is printed at the end; it is
 * the table at the top of math.ts.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileAssemblyScriptBytes } from '../../scripts/build-wasm.mjs';

type Unary = 'exp' | 'log' | 'sin' | 'cos' | 'tanh' | 'sigmoid';
type Fn = Unary | 'pow';
const UNARY: readonly Unary[] = ['exp', 'log', 'sin', 'cos', 'tanh', 'sigmoid'];

/** The bounds we state (f32 ulp against the correctly rounded f64 result) over DOMAIN. */
const MAX_ULP: Record<Fn, number> = { exp: 1, log: 1, sin: 1, cos: 1, tanh: 1, sigmoid: 2, pow: 1 };

/** |x| bound of the accurate range of sin and cos (2^20); beyond it results are only bounded. */
const TRIG_LIMIT = 1048576;

const DOMAIN: Record<Fn, string> = {
  exp: 'all f32 (inf above 88.7228, 0 below -103.973)',
  log: 'all f32 >= 0, subnormals included',
  sin: '|x| <= 2^20 (beyond: in [-1, 1], not accurate)',
  cos: '|x| <= 2^20 (beyond: in [-1, 1], not accurate)',
  tanh: 'all f32',
  sigmoid: 'all f32',
  pow: 'all f32 pairs (a, b)',
};

const REF: Record<Unary, (x: number) => number> = {
  exp: Math.exp,
  log: Math.log,
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
};

interface MathExports {
  map_exp_f32(x: number, out: number, n: number): void;
  map_log_f32(x: number, out: number, n: number): void;
  map_sin_f32(x: number, out: number, n: number): void;
  map_cos_f32(x: number, out: number, n: number): void;
  map_tanh_f32(x: number, out: number, n: number): void;
  map_sigmoid_f32(x: number, out: number, n: number): void;
  map_pow_f32(a: number, b: number, out: number, n: number): void;
  map_pow_scalar_b_f32(a: number, b: number, out: number, n: number): void;
  expf1(x: number): number;
  logf1(x: number): number;
  sinf1(x: number): number;
  cosf1(x: number): number;
  tanhf1(x: number): number;
  sigmoidf1(x: number): number;
  powf1(a: number, b: number): number;
}

const CHUNK = 1 << 20; // elements per kernel call
const A = 0; // byte offsets of the three regions in the shared memory
const B = 4 * CHUNK;
const OUT = 8 * CHUNK;

let ex: MathExports;
let mem: WebAssembly.Memory;

const measured: Record<Fn, { max: number; at: string; count: number }> = {
  exp: { max: 0, at: '', count: 0 },
  log: { max: 0, at: '', count: 0 },
  sin: { max: 0, at: '', count: 0 },
  cos: { max: 0, at: '', count: 0 },
  tanh: { max: 0, at: '', count: 0 },
  sigmoid: { max: 0, at: '', count: 0 },
  pow: { max: 0, at: '', count: 0 },
};

beforeAll(async () => {
  const bytes = compileAssemblyScriptBytes('src/backends/wasm/assembly/math.ts');
  mem = new WebAssembly.Memory({ initial: 16, maximum: 65536, shared: true });
  mem.grow((12 * 4 * CHUNK) / 65536 - 16);
  const module = await WebAssembly.compile(bytes);
  const instance = await WebAssembly.instantiate(module, { env: { memory: mem } });
  ex = instance.exports as unknown as MathExports;
});

afterAll(() => {
  const rows = (Object.keys(measured) as Fn[]).map(
    (f) => `| ${f.padEnd(8)} | ${DOMAIN[f].padEnd(48)} | ${String(measured[f].max).padEnd(16)} | ${String(MAX_ULP[f]).padEnd(12)} |`,
  );
  console.log(
    [
      '| function | domain                                           | max ulp measured | bound tested |',
      '|----------|--------------------------------------------------|------------------|--------------|',
      ...rows,
    ].join('\n'),
  );
  console.log(
    Object.entries(measured)
      .map(([f, m]) => `${f}: ${m.count} values, worst at ${m.at}`)
      .join('\n'),
  );
});

// ---------------------------------------------------------------------------------------------
// Helpers

function f32view(): Float32Array {
  return new Float32Array(mem.buffer);
}
function u32view(): Uint32Array {
  return new Uint32Array(mem.buffer);
}

/** Run map_<fn>_f32 over xs (in chunks); the results as a fresh Float32Array. */
function map1(fn: Unary, xs: Float32Array, inPlace = false): Float32Array {
  const res = new Float32Array(xs.length);
  const heap = f32view();
  for (let s = 0; s < xs.length; s += CHUNK) {
    const n = Math.min(CHUNK, xs.length - s);
    heap.set(xs.subarray(s, s + n), A / 4);
    ex[`map_${fn}_f32`](A, inPlace ? A : OUT, n);
    res.set(heap.subarray((inPlace ? A : OUT) / 4, (inPlace ? A : OUT) / 4 + n), s);
  }
  return res;
}

/** Run map_pow_f32 (b an array) or map_pow_scalar_b_f32 (b a number). */
function mapPow(as: Float32Array, bs: Float32Array | number): Float32Array {
  const res = new Float32Array(as.length);
  const heap = f32view();
  for (let s = 0; s < as.length; s += CHUNK) {
    const n = Math.min(CHUNK, as.length - s);
    heap.set(as.subarray(s, s + n), A / 4);
    if (typeof bs === 'number') ex.map_pow_scalar_b_f32(A, bs, OUT, n);
    else {
      heap.set(bs.subarray(s, s + n), B / 4);
      ex.map_pow_f32(A, B, OUT, n);
    }
    res.set(heap.subarray(OUT / 4, OUT / 4 + n), s);
  }
  return res;
}

const ordF = new Float32Array(1);
const ordI = new Int32Array(ordF.buffer);
/** Position of an f32 on the number line of f32 values (-0 and +0 share 0). */
function ordinal(v: number): number {
  ordF[0] = v;
  const i = ordI[0]!;
  return i < 0 ? -(i & 0x7fffffff) : i;
}

/** Distance in f32 ulp between got and want (both f32); NaN vs NaN is 0, NaN vs number is Infinity. */
function ulpError(got: number, want: number): number {
  if (Number.isNaN(got) || Number.isNaN(want)) return Number.isNaN(got) && Number.isNaN(want) ? 0 : Number.POSITIVE_INFINITY;
  if (got === want) return 0;
  return Math.abs(ordinal(got) - ordinal(want));
}

/** Max ulp error of got vs Math.fround(ref(x)) over xs; records it in `measured`. */
function check(fn: Fn, xs: Float32Array, got: Float32Array, ref: (i: number) => number, label: (i: number) => string): number {
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < xs.length; i++) {
    const e = ulpError(got[i]!, Math.fround(ref(i)));
    if (e > worst) {
      worst = e;
      worstAt = i;
    }
  }
  const m = measured[fn];
  m.count += xs.length;
  if (worst > m.max) {
    m.max = worst;
    m.at = `${label(worstAt)} -> ${got[worstAt]} (want ${Math.fround(ref(worstAt))})`;
  }
  return worst;
}

function checkUnary(fn: Unary, xs: Float32Array): { worst: number; at: string } {
  const got = map1(fn, xs);
  const ref = REF[fn];
  const worst = check(
    fn,
    xs,
    got,
    (i) => ref(xs[i]!),
    (i) => `x = ${xs[i]}`,
  );
  return { worst, at: measured[fn].at };
}

function linspace(lo: number, hi: number, n: number): Float32Array {
  const r = new Float32Array(n);
  for (let i = 0; i < n; i++) r[i] = lo + ((hi - lo) * i) / (n - 1);
  return r;
}
/** n points log-spaced in [lo, hi] (lo, hi > 0), with the given sign. */
function logspace(lo: number, hi: number, n: number, sign = 1): Float32Array {
  const r = new Float32Array(n);
  const a = Math.log(lo);
  const b = Math.log(hi);
  for (let i = 0; i < n; i++) r[i] = sign * Math.exp(a + ((b - a) * i) / (n - 1));
  return r;
}
function concat(...parts: Float32Array[]): Float32Array {
  const r = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    r.set(p, o);
    o += p.length;
  }
  return r;
}
function fromBits(bits: readonly number[]): Float32Array {
  return new Float32Array(Uint32Array.from(bits).buffer);
}

const FMAX = 3.4028234663852886e38;
const FMIN_NORMAL = 1.1754943508222875e-38;
const FMIN_SUB = 1.401298464324817e-45;
/** Special inputs for every function. */
const SPECIALS = Float32Array.from([
  0,
  -0,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.NaN,
  FMIN_SUB,
  -FMIN_SUB,
  2 * FMIN_SUB,
  1e-40,
  -1e-40,
  FMIN_NORMAL,
  -FMIN_NORMAL,
  FMAX,
  -FMAX,
  1,
  -1,
  0.5,
  -0.5,
  2,
  Math.SQRT2,
  Math.SQRT1_2,
  Math.PI,
  Math.PI / 2,
  -Math.PI / 2,
  Math.PI / 4,
  1e-8,
  -1e-8,
  9,
  9.02,
  -9.02,
  20,
  88.72283935546875, // largest x with finite exp (f32)
  88.72284698486328, // smallest x with exp = inf
  -87.33654022216797, // exp(x) = smallest normal
  -103.27892303466797, // exp(x) about the smallest subnormal
  -103.97207641601562, // exp(x) about half the smallest subnormal
  -103.97208404541016,
  -104,
  89,
  -200,
  200,
  1e4,
  -1e4,
  TRIG_LIMIT,
  -TRIG_LIMIT,
]);

/** Results the functions must produce exactly (Object.is on the f32 value). */
const EXACT: Record<Unary, readonly (readonly [number, number])[]> = {
  exp: [
    [Number.NEGATIVE_INFINITY, 0],
    [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
    [Number.NaN, Number.NaN],
    [0, 1],
    [-0, 1],
    [89, Number.POSITIVE_INFINITY],
    [-104, 0],
    [FMAX, Number.POSITIVE_INFINITY],
    [-FMAX, 0],
  ],
  log: [
    [0, Number.NEGATIVE_INFINITY],
    [-0, Number.NEGATIVE_INFINITY],
    [-1, Number.NaN],
    [-FMIN_SUB, Number.NaN],
    [Number.NEGATIVE_INFINITY, Number.NaN],
    [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
    [Number.NaN, Number.NaN],
    [1, 0],
  ],
  sin: [
    [0, 0],
    [-0, -0],
    [Number.POSITIVE_INFINITY, Number.NaN],
    [Number.NEGATIVE_INFINITY, Number.NaN],
    [Number.NaN, Number.NaN],
    [FMIN_SUB, FMIN_SUB],
    [-1e-40, Math.fround(-1e-40)],
  ],
  cos: [
    [0, 1],
    [-0, 1],
    [Number.POSITIVE_INFINITY, Number.NaN],
    [Number.NEGATIVE_INFINITY, Number.NaN],
    [Number.NaN, Number.NaN],
  ],
  tanh: [
    [0, 0],
    [-0, -0],
    [Number.POSITIVE_INFINITY, 1],
    [Number.NEGATIVE_INFINITY, -1],
    [Number.NaN, Number.NaN],
    [20, 1],
    [-20, -1],
    [FMAX, 1],
    [-FMAX, -1],
    [-1e-40, Math.fround(-1e-40)],
  ],
  sigmoid: [
    [Number.POSITIVE_INFINITY, 1],
    [Number.NEGATIVE_INFINITY, 0],
    [0, 0.5],
    [-0, 0.5],
    [Number.NaN, Number.NaN],
    [200, 1],
    [-200, 0],
    [FMAX, 1],
    [-FMAX, 0],
  ],
};

/** The f32 values of the domain of fn (sin and cos: |x| <= 2^20). */
function inDomain(fn: Unary, x: number): boolean {
  return fn === 'sin' || fn === 'cos' ? !(Math.abs(x) > TRIG_LIMIT) : true;
}

/** Dense sweeps of the documented domain of each function (about 1e6 points or more). */
function sweep(fn: Unary): Float32Array {
  const small = (hi: number) => concat(logspace(1e-30, hi, 100_000), logspace(1e-30, hi, 100_000, -1));
  switch (fn) {
    case 'exp':
      return concat(linspace(-104, 89, 1_000_000), small(104));
    case 'log':
      return concat(logspace(FMIN_SUB, FMAX, 1_000_000), linspace(0.5, 2, 200_000), linspace(1 - 1e-3, 1 + 1e-3, 100_000));
    case 'sin':
    case 'cos': {
      // Also the inputs closest to multiples of pi/2 (the hardest reductions) and their neighbours.
      const near = new Float32Array(3 * 100_000);
      for (let i = 0; i < 100_000; i++) {
        const k = 1 + Math.floor(i * 6.67);
        const x = Math.fround((k * Math.PI) / 2);
        near[3 * i] = x;
        near[3 * i + 1] = x * (1 + 2 ** -23);
        near[3 * i + 2] = x * (1 - 2 ** -23);
      }
      return concat(linspace(-1e4, 1e4, 1_000_000), linspace(-TRIG_LIMIT, TRIG_LIMIT, 300_000), small(TRIG_LIMIT), near);
    }
    case 'tanh':
      return concat(linspace(-12, 12, 1_000_000), small(20));
    case 'sigmoid':
      return concat(linspace(-110, 30, 1_000_000), small(110));
  }
}

/** fast-check: arrays of arbitrary f32 bit patterns (NaNs, infinities, subnormals included). */
const bitArrays = fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1000, maxLength: 2000 });

// ---------------------------------------------------------------------------------------------
// Tests

describe('wasm math: unary functions vs Math.* (f64, rounded to f32)', () => {
  for (const fn of UNARY) {
    describe(fn, () => {
      it(`dense sweep of the domain: max error <= ${MAX_ULP[fn]} ulp`, () => {
        const { worst, at } = checkUnary(fn, sweep(fn));
        expect(worst, `${fn}: worst ${worst} ulp at ${at}`).toBeLessThanOrEqual(MAX_ULP[fn]);
      });

      it('random f32 bit patterns (fast-check): max error within the bound over the domain', () => {
        fc.assert(
          fc.property(bitArrays, (bits) => {
            const xs = fromBits(bits).filter((x) => inDomain(fn, x));
            const got = map1(fn, xs);
            for (let i = 0; i < xs.length; i++) {
              const want = Math.fround(REF[fn](xs[i]!));
              const e = ulpError(got[i]!, want);
              if (e > MAX_ULP[fn]) throw new Error(`${fn}(${xs[i]}) = ${got[i]}, want ${want}: ${e} ulp > ${MAX_ULP[fn]}`);
            }
            check(
              fn,
              xs,
              got,
              (i) => REF[fn](xs[i]!),
              (i) => `x = ${xs[i]}`,
            );
          }),
          { numRuns: 150 },
        );
      });

      it('special values: NaN, infinities and signed zeros exact, the rest within the bound', () => {
        const xs = SPECIALS.filter((x) => inDomain(fn, x));
        const got = map1(fn, xs);
        for (let i = 0; i < xs.length; i++) {
          const want = Math.fround(REF[fn](xs[i]!));
          const exact = !Number.isFinite(want) || want === 0;
          if (exact) expect(Object.is(got[i], want), `${fn}(${xs[i]}) = ${got[i]}, want ${want}`).toBe(true);
          else expect(ulpError(got[i]!, want), `${fn}(${xs[i]}) = ${got[i]}, want ${want}`).toBeLessThanOrEqual(MAX_ULP[fn]);
        }
        check(
          fn,
          xs,
          got,
          (i) => REF[fn](xs[i]!),
          (i) => `x = ${xs[i]}`,
        );
        const pairs = EXACT[fn];
        const out = map1(fn, Float32Array.from(pairs.map((p) => p[0])));
        pairs.forEach(([x, want], i) => {
          expect(Object.is(out[i], want), `${fn}(${x}) = ${out[i]}, want ${want}`).toBe(true);
        });
      });

      if (fn === 'sin' || fn === 'cos') {
        it('beyond 2^20 the result is still in [-1, 1] (NaN only for infinities and NaN)', () => {
          const xs = concat(logspace(TRIG_LIMIT, FMAX, 100_000), logspace(TRIG_LIMIT, FMAX, 100_000, -1));
          const got = map1(fn, xs);
          for (let i = 0; i < xs.length; i++) {
            if (!(Math.abs(got[i]!) <= 1)) expect.fail(`${fn}(${xs[i]}) = ${got[i]}`);
          }
        });
      }

      it('SIMD lanes, the scalar tail, the scalar export and in-place all agree bitwise (length 4k+3)', () => {
        const n = 4 * 1000 + 3;
        const bits: number[] = [];
        for (let i = 0; i < n; i++) bits.push((Math.imul(i + 1, 2654435761) ^ (i << 7)) >>> 0);
        const xs = fromBits(bits);
        xs.set(SPECIALS.subarray(0, Math.min(SPECIALS.length, n)), 17);
        const full = new Uint32Array(map1(fn, xs).buffer);
        // Shifting the input by s moves every element between SIMD lanes and the tail.
        for (let s = 1; s <= 3; s++) {
          const shifted = new Uint32Array(map1(fn, xs.subarray(s)).buffer);
          for (let i = 0; i < shifted.length; i++) {
            if (shifted[i] !== full[i + s]) expect.fail(`${fn}: element ${i + s} differs between lanes: ${shifted[i]} vs ${full[i + s]}`);
          }
        }
        for (const len of [0, 1, 2, 3, 5, 7]) {
          const part = new Uint32Array(map1(fn, xs.subarray(0, len)).buffer);
          expect(Array.from(part)).toEqual(Array.from(full.subarray(0, len)));
        }
        const scalar = ex[`${fn}f1`];
        const fullF = new Float32Array(full.buffer);
        for (let i = 0; i < n; i++) {
          if (!Object.is(scalar(xs[i]!), fullF[i])) expect.fail(`${fn}f1(${xs[i]}) = ${scalar(xs[i]!)} but the map gives ${fullF[i]}`);
        }
        const inPlace = new Uint32Array(map1(fn, xs, true).buffer);
        expect(Array.from(inPlace)).toEqual(Array.from(full));
      });
    });
  }
});

describe('wasm math: pow vs Math.pow (f64, rounded to f32)', () => {
  /** Pairs (a, b) of a dense grid, results spanning underflow to overflow, negative a with integer b. */
  function grid(): { a: Float32Array; b: Float32Array } {
    const a: number[] = [];
    const b: number[] = [];
    const as = logspace(1e-4, 1e4, 700);
    const bs = linspace(-12, 12, 700);
    for (const x of as) {
      for (const y of bs) {
        a.push(x);
        b.push(y);
      }
    }
    // b*ln(a) across [-110, 95]: results from 0 through subnormals to inf.
    const bases = logspace(1.0001, 1e30, 500);
    for (const x of bases) {
      for (let j = 0; j < 500; j++) {
        const t = -110 + (205 * j) / 499;
        a.push(x, 1 / x);
        b.push(t / Math.log(x), t / Math.log(x));
      }
    }
    // Negative bases with integer exponents (sign), and with non-integer ones (NaN).
    for (const x of linspace(-10, -0.1, 400)) {
      for (let y = -30; y <= 30; y++) {
        a.push(x, x);
        b.push(y, y + 0.5);
      }
    }
    return { a: Float32Array.from(a), b: Float32Array.from(b) };
  }

  it(`dense grid: max error <= ${MAX_ULP.pow} ulp`, () => {
    const { a, b } = grid();
    const got = mapPow(a, b);
    const worst = check(
      'pow',
      a,
      got,
      (i) => a[i]! ** b[i]!,
      (i) => `a = ${a[i]}, b = ${b[i]}`,
    );
    expect(worst, `pow: worst ${worst} ulp at ${measured.pow.at}`).toBeLessThanOrEqual(MAX_ULP.pow);
  });

  it('random f32 bit patterns for a and b (fast-check)', () => {
    fc.assert(
      fc.property(bitArrays, bitArrays, (ba, bb) => {
        const n = Math.min(ba.length, bb.length);
        const a = fromBits(ba.slice(0, n));
        const b = fromBits(bb.slice(0, n));
        const got = mapPow(a, b);
        for (let i = 0; i < n; i++) {
          const want = Math.fround(a[i]! ** b[i]!);
          const e = ulpError(got[i]!, want);
          if (e > MAX_ULP.pow) throw new Error(`pow(${a[i]}, ${b[i]}) = ${got[i]}, want ${want}: ${e} ulp`);
        }
        check(
          'pow',
          a,
          got,
          (i) => a[i]! ** b[i]!,
          (i) => `a = ${a[i]}, b = ${b[i]}`,
        );
      }),
      { numRuns: 150 },
    );
  });

  it('random moderate a and b (fast-check): results over the whole f32 range', () => {
    const base = fc.float({ min: Math.fround(-50), max: Math.fround(50), noNaN: true });
    const expo = fc.float({ min: Math.fround(-40), max: Math.fround(40), noNaN: true });
    fc.assert(
      fc.property(fc.array(fc.tuple(base, expo), { minLength: 500, maxLength: 1000 }), (pairs) => {
        const a = Float32Array.from(pairs.map((p) => p[0]));
        const b = Float32Array.from(pairs.map((p) => p[1]));
        const got = mapPow(a, b);
        for (let i = 0; i < a.length; i++) {
          const want = Math.fround(a[i]! ** b[i]!);
          if (ulpError(got[i]!, want) > MAX_ULP.pow) throw new Error(`pow(${a[i]}, ${b[i]}) = ${got[i]}, want ${want}`);
        }
        check(
          'pow',
          a,
          got,
          (i) => a[i]! ** b[i]!,
          (i) => `a = ${a[i]}, b = ${b[i]}`,
        );
      }),
      { numRuns: 200 },
    );
  });

  it('JavaScript Math.pow conventions on every pair of special values (exact)', () => {
    const vals = [...SPECIALS, 3, -3, 2.5, -2.5, 0.25, -0.25, 16777216, 16777217, -16777216, 1e10, -1e10, 1 / 3].map(Math.fround);
    const a: number[] = [];
    const b: number[] = [];
    for (const x of vals) {
      for (const y of vals) {
        a.push(x);
        b.push(y);
      }
    }
    const af = Float32Array.from(a);
    const bf = Float32Array.from(b);
    const got = mapPow(af, bf);
    for (let i = 0; i < af.length; i++) {
      const want = Math.fround(af[i]! ** bf[i]!);
      const msg = `pow(${af[i]}, ${bf[i]}) = ${got[i]}, want ${want}`;
      if (!Number.isFinite(want) || want === 0) expect(Object.is(got[i], want), msg).toBe(true);
      else expect(ulpError(got[i]!, want), msg).toBeLessThanOrEqual(MAX_ULP.pow);
    }
    check(
      'pow',
      af,
      got,
      (i) => af[i]! ** bf[i]!,
      (i) => `a = ${af[i]}, b = ${bf[i]}`,
    );
    // The conventions spelled out.
    const cases: readonly (readonly [number, number, number])[] = [
      [Number.NaN, 0, 1],
      [Number.NaN, -0, 1],
      [1, Number.NaN, Number.NaN],
      [Number.NaN, 1, Number.NaN],
      [1, Number.POSITIVE_INFINITY, Number.NaN],
      [-1, Number.NEGATIVE_INFINITY, Number.NaN],
      [0, -1, Number.POSITIVE_INFINITY],
      [-0, -1, Number.NEGATIVE_INFINITY],
      [-0, 3, -0],
      [-0, 2, 0],
      [0, 2, 0],
      [-8, 1 / 3, Number.NaN],
      [-2, 3, -8],
      [-2, 2, 4],
      [-2, -1, -0.5],
      [Number.NEGATIVE_INFINITY, 3, Number.NEGATIVE_INFINITY],
      [Number.NEGATIVE_INFINITY, 0.5, Number.POSITIVE_INFINITY],
      [Number.NEGATIVE_INFINITY, -3, -0],
      [Number.POSITIVE_INFINITY, -0.5, 0],
      [2, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
      [0.5, Number.POSITIVE_INFINITY, 0],
      [-2, Number.NEGATIVE_INFINITY, 0],
      [2, 128, Number.POSITIVE_INFINITY],
      [2, -149, FMIN_SUB],
      [2, -151, 0],
      [-2, -149, -FMIN_SUB],
    ];
    const r = mapPow(Float32Array.from(cases.map((c) => c[0])), Float32Array.from(cases.map((c) => c[1])));
    cases.forEach(([x, y, want], i) => {
      expect(Object.is(r[i], Math.fround(want)), `pow(${x}, ${y}) = ${r[i]}, want ${want}`).toBe(true);
    });
  });

  it('map_pow_scalar_b_f32 equals map_pow_f32 with a constant b; lanes, tail and powf1 agree bitwise', () => {
    const n = 4 * 500 + 3;
    const bits: number[] = [];
    for (let i = 0; i < n; i++) bits.push((Math.imul(i + 7, 2246822519) ^ (i << 11)) >>> 0);
    const a = fromBits(bits);
    a.set(SPECIALS, 5);
    for (const y of [2, 0.5, -1, 3, -2.5, 0, Number.NaN, Number.POSITIVE_INFINITY, 1 / 3, 1e-3]) {
      const bs = new Float32Array(n).fill(y);
      const viaArray = new Uint32Array(mapPow(a, bs).buffer);
      const viaScalar = new Uint32Array(mapPow(a, y).buffer);
      expect(Array.from(viaScalar)).toEqual(Array.from(viaArray));
      for (let s = 1; s <= 3; s++) {
        const shifted = new Uint32Array(mapPow(a.subarray(s), y).buffer);
        expect(Array.from(shifted)).toEqual(Array.from(viaArray.subarray(s)));
      }
      const f = new Float32Array(viaArray.buffer);
      for (let i = 0; i < n; i++) {
        if (!Object.is(ex.powf1(a[i]!, y), f[i])) expect.fail(`powf1(${a[i]}, ${y}) = ${ex.powf1(a[i]!, y)}, map gives ${f[i]}`);
      }
    }
  });
});

describe('wasm math: the kernels leave other memory alone', () => {
  it('map kernels write exactly n elements', () => {
    const u = u32view();
    const n = 4 * 10 + 3;
    u.fill(0xdeadbeef, OUT / 4, OUT / 4 + n + 8);
    f32view().fill(0.25, A / 4, A / 4 + n);
    ex.map_tanh_f32(A, OUT, n);
    for (let i = 0; i < 8; i++) expect(u[OUT / 4 + n + i]).toBe(0xdeadbeef);
    expect(f32view()[OUT / 4 + n - 1]).toBe(Math.fround(Math.tanh(0.25)));
  });
});
