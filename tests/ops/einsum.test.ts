/**
 * einsum against a naive reference (a loop over every assignment of the
 * labels) on random specs and shapes, its gradients against the reference's
 * (the product rule written out as loops) and finite differences, the path
 * optimiser against brute force over every pairwise order, jit and vmap, and
 * the errors.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';

// ---------- the reference: loops over every assignment of the labels ----------

interface RefSpec {
  inputs: string[][]; // labels of each operand's axes (ellipsis dimensions named '0', '1', ...)
  output: string[];
}

/** Expands a spec for given ranks: letters stay, '...' becomes digit labels right-aligned across operands. */
function refParse(spec: string, ranks: number[]): RefSpec {
  const [lhs, rhs] = spec.replace(/ /g, '').split('->') as [string, string | undefined];
  const terms = lhs.split(',');
  const letters = terms.map((t) => t.replace('...', '').split(''));
  const ell = terms.map((t, k) => (t.includes('...') ? ranks[k]! - letters[k]!.length : 0));
  const R = Math.max(0, ...ell);
  const ellLabels = (r: number) => Array.from({ length: r }, (_, i) => String(R - r + i));
  const inputs = terms.map((t, k) => {
    if (!t.includes('...')) return t.split('');
    const [before, after] = t.split('...') as [string, string];
    return [...before.split(''), ...ellLabels(ell[k]!), ...after.split('')];
  });
  let output: string[];
  if (rhs === undefined) {
    const all = letters.flat();
    output = [...ellLabels(R), ...[...new Set(all)].filter((l) => all.indexOf(l) === all.lastIndexOf(l)).sort()];
  } else if (rhs.includes('...')) {
    const [before, after] = rhs.split('...') as [string, string];
    output = [...before.split(''), ...ellLabels(R), ...after.split('')];
  } else output = rhs.split('');
  return { inputs, output };
}

interface Operand {
  shape: number[];
  data: number[];
}

/** Every label's size (the largest of its dimensions: size 1 broadcasts). */
function labelSizes(s: RefSpec, ops: Operand[]): Map<string, number> {
  const sizes = new Map<string, number>();
  s.inputs.forEach((ls, k) => {
    ls.forEach((l, ax) => {
      sizes.set(l, Math.max(sizes.get(l) ?? 1, ops[k]!.shape[ax]!));
    });
  });
  return sizes;
}

/** Row-major offset of the element of `op` at the labels' values `at` (a size-1 axis always reads index 0). */
function offset(labels: string[], shape: number[], at: Map<string, number>): number {
  let o = 0;
  labels.forEach((l, ax) => {
    o = o * shape[ax]! + (shape[ax] === 1 ? 0 : at.get(l)!);
  });
  return o;
}

/** Calls `visit` with every assignment of values to the labels. */
function forEachAssignment(sizes: Map<string, number>, visit: (at: Map<string, number>) => void): void {
  const labels = [...sizes.keys()];
  const at = new Map(labels.map((l) => [l, 0]));
  const go = (i: number): void => {
    if (i === labels.length) {
      visit(at);
      return;
    }
    for (let v = 0; v < sizes.get(labels[i]!)!; v++) {
      at.set(labels[i]!, v);
      go(i + 1);
    }
  };
  go(0);
}

/** out[output labels] = Σ over the other labels of Π_k operand_k[its labels]. */
function refEinsum(spec: string, ops: Operand[]): Operand {
  const s = refParse(
    spec,
    ops.map((o) => o.shape.length),
  );
  const sizes = labelSizes(s, ops);
  const shape = s.output.map((l) => sizes.get(l)!);
  const data = new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(0);
  forEachAssignment(sizes, (at) => {
    let p = 1;
    ops.forEach((op, k) => {
      p *= op.data[offset(s.inputs[k]!, op.shape, at)]!;
    });
    data[offset(s.output, shape, at)]! += p;
  });
  return { shape, data };
}

/** The gradient of Σ out · w with respect to every operand: g_k[idx_k] += w[out idx] · Π_{j≠k} operand_j[idx_j]. */
function refGrads(spec: string, ops: Operand[], w: number[]): number[][] {
  const s = refParse(
    spec,
    ops.map((o) => o.shape.length),
  );
  const sizes = labelSizes(s, ops);
  const outShape = s.output.map((l) => sizes.get(l)!);
  const grads = ops.map((o) => new Array<number>(o.data.length).fill(0));
  forEachAssignment(sizes, (at) => {
    const offs = ops.map((op, k) => offset(s.inputs[k]!, op.shape, at));
    const wo = w[offset(s.output, outShape, at)]!;
    ops.forEach((_, k) => {
      let p = wo;
      ops.forEach((op, j) => {
        if (j !== k) p *= op.data[offs[j]!]!;
      });
      grads[k]![offs[k]!]! += p;
    });
  });
  return grads;
}

// ---------- random specs ----------

interface Case {
  spec: string;
  ops: Operand[];
}

/**
 * Random specs: 1-4 operands over the labels a-d (repeats give diagonals), size-1 broadcasting, maybe '...', implicit or
 * explicit output.
 */
const caseArb: fc.Arbitrary<Case> = fc
  .record({
    sizes: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 4, maxLength: 4 }).map((s) => s.map((d, i) => (i < 2 ? d + 1 : d))),
    terms: fc.array(
      fc.record({
        labels: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
        ones: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 5, maxLength: 5 }),
        ellipsis: fc.integer({ min: -3, max: 2 }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    ellSizes: fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 2, maxLength: 2 }),
    explicit: fc.boolean(),
    outPick: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    outOrder: fc.array(fc.integer({ min: 0, max: 99 }), { minLength: 4, maxLength: 4 }),
    outEllipsis: fc.integer({ min: 0, max: 2 }),
    seed: fc.integer({ min: 1, max: 1e6 }),
  })
  .map(({ sizes, terms, ellSizes, explicit, outPick, outOrder, outEllipsis, seed }) => {
    const names = 'abcd';
    let rng = seed;
    const rand = () => {
      rng = (rng * 16807) % 2147483647;
      return (rng / 2147483647) * 2 - 1;
    };
    const ops: Operand[] = [];
    const texts = terms.map((t) => {
      const letters = t.labels.map((i) => names[i]!);
      const r = Math.max(0, t.ellipsis); // negative: no ellipsis; 0..2: an ellipsis of that rank
      const ellShape = Array.from({ length: r }, (_, i) => (t.ones[3 + i] === 0 ? 1 : ellSizes[2 - r + i]!));
      // a label's dimension is its size, or 1 (broadcasting) — the same for both axes of a repeated label
      const dimOf = (i: number) => (t.ones[i] === 0 ? 1 : sizes[i]!);
      const shape = [...ellShape, ...t.labels.map(dimOf)];
      ops.push({ shape, data: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, rand) });
      return t.ellipsis < 0 ? letters.join('') : `...${letters.join('')}`;
    });
    const used = [...new Set(terms.flatMap((t) => t.labels))].map((i) => names[i]!);
    if (!explicit) return { spec: texts.join(','), ops };
    const out = used.filter((l) => outPick[names.indexOf(l)]).sort((x, y) => outOrder[names.indexOf(x)]! - outOrder[names.indexOf(y)]!);
    const ell = ['', '...', ''][outEllipsis]!;
    const rhs = outEllipsis === 2 ? `${out.join('')}...` : `${ell}${out.join('')}`;
    return { spec: `${texts.join(',')}->${rhs}`, ops };
  });

const toTensor = (o: Operand, dtype: 'f32' | 'f64') => ct.tensor(o.data, { shape: o.shape, dtype });

const expectClose = (got: ArrayLike<number>, want: ArrayLike<number>, rel: number, abs: number) => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    if (!(err <= abs + rel * Math.abs(want[i]!))) expect.fail(`element ${i}: ${got[i]} vs ${want[i]} (error ${err})`);
  }
};

describe('einsum against the naive reference', () => {
  it('random specs (diagonals, broadcasting, ellipsis, implicit/explicit output), f64 and f32', () => {
    fc.assert(
      fc.property(caseArb, ({ spec, ops }) => {
        const want = refEinsum(spec, ops);
        for (const dtype of ['f64', 'f32'] as const) {
          const got = ct.einsum(spec, ...ops.map((o) => toTensor(o, dtype)));
          expect(got.shape, spec).toEqual(want.shape);
          expect(got.dtype).toBe(dtype);
          if (dtype === 'f64') expectClose(got.dataSync(), want.data, 1e-12, 1e-12);
          else expectClose(got.dataSync(), want.data, 1e-4, 1e-4);
        }
      }),
      { numRuns: 150 },
    );
  });

  const named: [string, number[][]][] = [
    [
      'ij,jk->ik',
      [
        [2, 3],
        [3, 4],
      ],
    ],
    [
      'bij,bjk->bik',
      [
        [2, 2, 3],
        [2, 3, 2],
      ],
    ],
    ['ij->ji', [[2, 3]]],
    ['ij->', [[2, 3]]],
    ['ij->j', [[2, 3]]],
    ['ii->', [[3, 3]]],
    ['ii', [[3, 3]]],
    ['ii->i', [[3, 3]]],
    ['iij->ij', [[2, 2, 3]]],
    ['iji->j', [[2, 3, 2]]],
    ['iii->i', [[3, 3, 3]]],
    ['i,j->ij', [[2], [3]]],
    ['i,i->', [[4], [4]]],
    ['i,ij,j->', [[2], [2, 3], [3]]],
    [
      'ij,jk,kl,lm->im',
      [
        [2, 3],
        [3, 4],
        [4, 2],
        [2, 3],
      ],
    ],
    [
      'ab,cd->',
      [
        [2, 2],
        [3, 1],
      ],
    ],
    [',ij->ij', [[], [2, 2]]],
    [
      '...ij,...jk->...ik',
      [
        [2, 1, 2, 3],
        [4, 3, 2],
      ],
    ],
    ['i...->...', [[2, 3, 2]]],
    ['...ii->...i', [[2, 3, 3]]],
    [
      'ij,ij->ij',
      [
        [1, 3],
        [2, 3],
      ],
    ],
    [
      'bhqd,bhkd->bhqk',
      [
        [1, 2, 3, 2],
        [1, 2, 2, 2],
      ],
    ],
  ];
  for (const [spec, shapes] of named) {
    it(`${spec} on ${shapes.map((s) => `[${s}]`).join(' ')}`, () => {
      let v = 0.37;
      const ops = shapes.map((shape) => ({
        shape,
        data: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => {
          v = (v * 7.13 + 0.31) % 2;
          return v - 1;
        }),
      }));
      const want = refEinsum(spec, ops);
      const got = ct.einsum(spec, ...ops.map((o) => toTensor(o, 'f64')));
      expect(got.shape).toEqual(want.shape);
      expectClose(got.dataSync(), want.data, 1e-12, 1e-12);
    });
  }

  it('known values: trace, diagonal, transpose, matrix product, outer product', () => {
    const a = ct.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: 'f64' },
    );
    expect(ct.einsum('ii->', a).arraySync()).toBe(5);
    expect(ct.einsum('ii->i', a).arraySync()).toEqual([1, 4]);
    expect(ct.einsum('ij->ji', a).arraySync()).toEqual([
      [1, 3],
      [2, 4],
    ]);
    expect(ct.einsum('ij,jk', a, a).arraySync()).toEqual([
      [7, 10],
      [15, 22],
    ]);
    expect(ct.einsum('i,j', ct.tensor([1, 2]), ct.tensor([1, 10])).arraySync()).toEqual([
      [1, 10],
      [2, 20],
    ]);
  });
});

describe('einsum gradients', () => {
  it("equal the reference's gradient (the product rule as loops) on random specs, f64", () => {
    fc.assert(
      fc.property(caseArb, ({ spec, ops }) => {
        const out = refEinsum(spec, ops);
        const w = out.data.map((_, i) => Math.cos(1 + i));
        const W = ct.tensor(w, { shape: out.shape, dtype: 'f64' });
        const xs = ops.map((o) => toTensor(o, 'f64'));
        const gs = ct.grad((args: ct.Tensor[]) => ct.sum(ct.mul(ct.einsum(spec, ...args), W)))(xs);
        const want = refGrads(spec, ops, w);
        gs.forEach((g, k) => {
          expect(g.shape).toEqual(ops[k]!.shape);
          expectClose(g.dataSync(), want[k]!, 1e-12, 1e-12);
        });
      }),
      { numRuns: 80 },
    );
  });

  it('match central finite differences (f64)', () => {
    const specs: [string, number[][]][] = [
      [
        'bij,bjk->bik',
        [
          [2, 2, 3],
          [2, 3, 2],
        ],
      ],
      ['iij->j', [[3, 3, 2]]],
      ['i,ij,j->', [[2], [2, 3], [3]]],
      ['...i,i->...', [[2, 3], [1]]],
    ];
    for (const [spec, shapes] of specs) {
      const xs = shapes.map((s, k) =>
        ct.tensor(
          Array.from({ length: s.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(3 * k + i + 1)),
          { shape: s, dtype: 'f64' },
        ),
      );
      const f = (args: ct.Tensor[]) => ct.sum(ct.sin(ct.einsum(spec, ...args)));
      const gs = ct.grad(f)(xs);
      const h = 1e-6;
      xs.forEach((x, k) => {
        const base = Array.from(x.dataSync());
        const g = gs[k]!.dataSync();
        base.forEach((_, i) => {
          const at = (d: number) => {
            const moved = base.map((v, j) => (j === i ? v + d : v));
            const args = xs.map((y, j) => (j === k ? ct.tensor(moved, { shape: x.shape, dtype: 'f64' }) : y));
            return f(args).arraySync() as number;
          };
          const fd = (at(h) - at(-h)) / (2 * h);
          expect(Math.abs(g[i]! - fd), `${spec} operand ${k} element ${i}`).toBeLessThan(1e-7);
        });
      });
    }
  });
});

// ---------- the path optimiser ----------

/** The cheapest total cost over every sequence of pairwise contractions (brute force), with the same cost model. */
function bruteForce(inputs: string[][], output: string[], sizes: Map<string, number>): number {
  const size = (ls: Iterable<string>) => [...ls].reduce((p, l) => p * sizes.get(l)!, 1);
  const go = (terms: string[][]): number => {
    if (terms.length <= 1) return 0;
    let best = Infinity;
    for (let i = 0; i < terms.length; i++) {
      for (let j = i + 1; j < terms.length; j++) {
        const rest = terms.filter((_, k) => k !== i && k !== j);
        const union = [...new Set([...terms[i]!, ...terms[j]!])];
        const needed = new Set([...output, ...rest.flat()]);
        const result = union.filter((l) => needed.has(l));
        best = Math.min(best, size(union) + go([...rest, result]));
      }
    }
    return best;
  };
  return go(inputs);
}

/** Replays a numpy-style path with the same cost model. */
function replay(inputs: string[][], output: string[], sizes: Map<string, number>, path: readonly (readonly [number, number])[]): number {
  let terms = inputs;
  let total = 0;
  for (const [i, j] of path) {
    expect(i).toBeLessThan(j);
    const rest = terms.filter((_, k) => k !== i && k !== j);
    const union = [...new Set([...terms[i]!, ...terms[j]!])];
    const needed = new Set([...output, ...rest.flat()]);
    total += union.reduce((p, l) => p * sizes.get(l)!, 1);
    terms = [...rest, union.filter((l) => needed.has(l))];
  }
  expect(terms.length).toBe(1);
  return total;
}

/** Random contraction networks: 2-5 operands, distinct labels per operand, every label shared or in the output. */
const networkArb = fc
  .record({
    sizes: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 6, maxLength: 6 }),
    terms: fc.array(fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 3 }), { minLength: 2, maxLength: 5 }),
    outPick: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
  })
  .map(({ sizes, terms, outPick }) => {
    const names = 'abcdef';
    const inputs = terms.map((t) => t.map((i) => names[i]!));
    const all = inputs.flat();
    // a label held by one operand and absent from the output is summed away before any pair; keep such labels out
    const output = [...new Set(all)].filter((l) => outPick[names.indexOf(l)] || all.indexOf(l) === all.lastIndexOf(l));
    const sizeMap = new Map([...new Set(all)].map((l) => [l, sizes[names.indexOf(l)]!]));
    return { inputs, output, sizes: sizeMap };
  });

describe('einsumPath', () => {
  it('finds the cheapest order (= brute force over every pairwise sequence), and its path replays to its cost', () => {
    fc.assert(
      fc.property(networkArb, ({ inputs, output, sizes }) => {
        const spec = `${inputs.map((t) => t.join('')).join(',')}->${output.join('')}`;
        const p = ct.einsumPath(spec, ...inputs.map((t) => t.map((l) => sizes.get(l)!)));
        expect(p.optimizer).toBe('optimal');
        expect(p.path.length).toBe(inputs.length - 1);
        expect(p.cost).toBe(bruteForce(inputs, output, sizes));
        expect(replay(inputs, output, sizes, p.path)).toBe(p.cost);
        expect(p.steps.reduce((c, s) => c + s.cost, 0)).toBe(p.cost);
      }),
      { numRuns: 150 },
    );
  });

  it('a matrix chain is contracted the cheap way round', () => {
    // (AB)C costs 2·100·3 + 2·3·50 = 900; A(BC) costs 100·3·50 + 2·100·50 = 25000
    const p = ct.einsumPath('ij,jk,kl->il', [2, 100], [100, 3], [3, 50]);
    expect(p.path).toEqual([
      [0, 1],
      [0, 1],
    ]);
    expect(p.cost).toBe(900);
    expect(p.steps.map((s) => s.subscripts)).toEqual(['ij,jk->ik', 'ik,kl->il']);
    const q = ct.einsumPath('ij,jk,kl->il', [50, 3], [3, 100], [100, 2]);
    expect(q.path).toEqual([
      [1, 2],
      [0, 1],
    ]);
    expect(q.cost).toBe(3 * 100 * 2 + 50 * 3 * 2);
    expect(ct.einsumPath('ij->', [2, 3])).toMatchObject({ path: [], cost: 0, optimizer: 'none' });
  });

  it('is greedy beyond EINSUM_OPTIMAL_MAX operands, and the long chain still equals the matmuls', () => {
    const n = ct.EINSUM_OPTIMAL_MAX + 2;
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    const spec = `${Array.from({ length: n }, (_, i) => letters[i]! + letters[i + 1]!).join(',')}->a${letters[n]}`;
    const dims = Array.from({ length: n + 1 }, (_, i) => 2 + (i % 3));
    const shapes = Array.from({ length: n }, (_, i) => [dims[i]!, dims[i + 1]!]);
    const p = ct.einsumPath(spec, ...shapes);
    expect(p.optimizer).toBe('greedy');
    expect(p.path.length).toBe(n - 1);
    const ms = shapes.map((s, k) =>
      ct.tensor(
        Array.from({ length: s[0]! * s[1]! }, (_, i) => Math.cos(k + i)),
        { shape: s, dtype: 'f64' },
      ),
    );
    const want = ms.slice(1).reduce((acc, m) => ct.matmul(acc, m), ms[0]!);
    expectClose(ct.einsum(spec, ...ms).dataSync(), want.dataSync(), 1e-12, 1e-12);
  });
});

// ---------- transformations ----------

describe('einsum under jit and vmap', () => {
  const a = ct.tensor(
    Array.from({ length: 24 }, (_, i) => Math.sin(i)),
    { shape: [2, 3, 4] },
  );
  const b = ct.tensor(
    Array.from({ length: 20 }, (_, i) => Math.cos(i)),
    { shape: [4, 5] },
  );

  it('jit(einsum) equals einsum, and jit(grad) equals grad', () => {
    const f = (x: ct.Tensor, y: ct.Tensor) => ct.einsum('bij,jk->bki', x, y);
    expectClose(ct.jit(f)(a, b).dataSync(), f(a, b).dataSync(), 1e-6, 1e-6);
    const loss = (x: ct.Tensor, y: ct.Tensor) => ct.sum(ct.square(ct.einsum('bij,jk,bii->k', x, y, ct.slice(x, [0, 0, 0], [2, 3, 3]))));
    const g = ct.grad(loss, { argnums: [0, 1] });
    const [gx, gy] = g(a, b);
    const [jx, jy] = ct.jit(g)(a, b);
    expectClose(jx.dataSync(), gx.dataSync(), 1e-5, 1e-5);
    expectClose(jy.dataSync(), gy.dataSync(), 1e-5, 1e-5);
  });

  it('vmap(grad(einsum)) gives per-example gradients equal to grad of each example', () => {
    const bb = ct.slice(b, [0, 0], [3, 3]);
    const loss = (x: ct.Tensor) => ct.sum(ct.square(ct.einsum('ij,jk,ik->k', x, bb, x)));
    const per = ct.vmap(ct.grad(loss))(ct.slice(a, [0, 0, 0], [2, 3, 3]));
    for (let e = 0; e < 2; e++) {
      const x = ct.reshape(ct.slice(a, [e, 0, 0], [1, 3, 3]), [3, 3]);
      const one = ct.grad(loss)(x);
      expectClose(ct.reshape(ct.slice(per, [e, 0, 0], [1, 3, 3]), [3, 3]).dataSync(), one.dataSync(), 1e-5, 1e-5);
    }
  });

  it('vmap(einsum) equals einsum of each example (the ellipsis form too)', () => {
    const f = (x: ct.Tensor) => ct.einsum('ij,jk->ik', x, b);
    const batched = ct.vmap(f)(a);
    expectClose(batched.dataSync(), ct.einsum('bij,jk->bik', a, b).dataSync(), 1e-6, 1e-6);
    expectClose(batched.dataSync(), ct.einsum('...j,jk', a, b).dataSync(), 1e-6, 1e-6);
    const diag = ct.vmap((x: ct.Tensor) => ct.einsum('ii->i', ct.slice(x, [0, 0], [3, 3])))(a);
    expectClose(diag.dataSync(), ct.einsum('bii->bi', ct.slice(a, [0, 0, 0], [2, 3, 3])).dataSync(), 0, 0);
  });
});

// ---------- errors ----------

describe('einsum errors name einsum, the spec and the shapes', () => {
  const x = ct.ones([2, 3]);
  const y = ct.ones([4, 5]);
  const cases: [string, () => unknown, RegExp][] = [
    ['wrong operand count', () => ct.einsum('ij,jk->ik', x), /einsum: the spec has 2 operand terms but 1 operands.*\[2,3\]/],
    ['no operands', () => ct.einsum('->'), /einsum: needs at least one operand/],
    [
      'label size mismatch',
      () => ct.einsum('ij,jk->ik', x, y),
      /einsum: label 'j' has size 3 in operand 0 but 4 in operand 1; spec 'ij,jk->ik' with operands \[2,3\], \[4,5\]/,
    ],
    ['repeated label of two sizes', () => ct.einsum('ii->i', x), /einsum: label 'i' is repeated in operand 0 with sizes 2 and 3/],
    ['output label not in the inputs', () => ct.einsum('ij->ik', x), /einsum: output label 'k' appears in no operand/],
    ['repeated output label', () => ct.einsum('ij->jj', x), /einsum: output label 'j' is repeated/],
    ['bad character', () => ct.einsum('i1->i', x), /einsum: bad character '1'/],
    ['rank mismatch', () => ct.einsum('ijk->i', x), /einsum: operand 0 has rank 2 but its term 'ijk' has 3 labels/],
    ['two ellipses', () => ct.einsum('...i...->i', x), /einsum: operand 0 '...i...' has more than one ellipsis/],
    ['lone dot', () => ct.einsum('i.j->i', x), /einsum: '.' must be part of an ellipsis/],
    ['two arrows', () => ct.einsum('ij->i->j', x), /einsum: more than one '->'/],
    [
      'ellipsis dims that do not broadcast',
      () => ct.einsum('...i,...i', ct.ones([2, 3]), ct.ones([4, 3])),
      /einsum: ellipsis dimension -1 has size 2/,
    ],
    ['dtype mismatch', () => ct.einsum('i,i', ct.ones([2]), ct.ones([2], { dtype: 'f64' })), /einsum: operands have different dtypes/],
    ['path errors too', () => ct.einsumPath('ij,jk', [2, 3], [4, 5]), /einsumPath: label 'j' has size 3/],
  ];
  for (const [name, f, re] of cases) {
    it(name, () => {
      expect(f).toThrow(ct.ShapeError);
      expect(f).toThrow(re);
    });
  }
});
