/**
 * einsum: Einstein summation over any number of operands, a composite of
 * transpose, reshape, pad, slice, sum, mul and (batched) matmul, so its
 * derivatives, batching and backends are those of its parts.
 *
 * The lowering:
 * 1. the spec is parsed (explicit `'ij,jk->ik'` or implicit `'ij,jk'`, with
 *    `...` standing for broadcast leading dimensions) and every label gets one
 *    size; a size-1 dimension broadcasts against a larger one, as in numpy;
 * 2. each operand is brought to distinct labels: a label repeated in one
 *    operand takes the diagonal (the repeated axes are moved last and
 *    flattened; the diagonal entries then sit `(nᵏ − 1)/(n − 1)` apart, which
 *    a pad, a reshape and a slice pick out); a size-1 axis whose label is
 *    larger elsewhere is dropped (the operand is constant along it);
 * 3. labels found in one operand only and not in the output are summed there;
 * 4. the operands are contracted two at a time in the order chosen by
 *    {@link einsumPath} (batch labels shared and kept, contracted labels shared
 *    and not kept: one batched matmul, or a broadcast multiply when nothing
 *    is contracted);
 * 5. what is left is summed over the labels not in the output and transposed
 *    to the output's order.
 */
import { fmt, sizeOf, type Shape } from '../tensor/shape.js';
import { ShapeError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import { describe as describeAval } from '../tensor/format.js';
import { mul } from './elementwise.js';
import { matmul } from './matmul.js';
import { pad, reshape, slice, sum, transpose } from './structural.js';

/** The most operands whose contraction order is searched exhaustively (dynamic programming over subsets); greedy beyond. */
export const EINSUM_OPTIMAL_MAX = 8;

/** One pairwise contraction of an einsum path. */
export interface EinsumStep {
  /** Positions of the two operands in the current list (ascending); their result is appended at the end of the list. */
  readonly pair: readonly [number, number];
  /** The contraction in einsum notation, e.g. `'bij,bjk->bik'` (dimensions of `...` are shown by unused letters). */
  readonly subscripts: string;
  /** Its cost: the product of the sizes of every label of the two operands (multiply-adds). */
  readonly cost: number;
}

/** The pairwise contraction order chosen for an einsum and its cost (like numpy.einsum_path). */
export interface EinsumPath {
  /** The pairs in order: positions in the current operand list, the result of each appended at the end (numpy's convention). */
  readonly path: readonly (readonly [number, number])[];
  /** The steps with their subscripts and costs. */
  readonly steps: readonly EinsumStep[];
  /** The total cost: the sum of the steps' costs (multiply-adds; the per-operand diagonals and sums are not counted). */
  readonly cost: number;
  /** How the order was found: 'optimal' (dynamic programming over subsets), 'greedy', or 'none' (a single operand). */
  readonly optimizer: 'optimal' | 'greedy' | 'none';
}

/** A parsed spec: the labels of every operand (ellipsis dimensions as `.0`, `.1`, ...), of the output, and every label's size. */
interface Parsed {
  readonly inputs: readonly (readonly string[])[];
  readonly output: readonly string[];
  readonly sizes: ReadonlyMap<string, number>;
}

/** The most operands one einsum takes (operand sets are bit masks). */
const MAX_OPERANDS = 30;

const isLetter = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

/** The tokens of one term: letters and '...' (at most once). */
function tokenize(term: string, fail: (m: string) => never, where: string): { labels: string[]; ellipsisAt: number } {
  const labels: string[] = [];
  let ellipsisAt = -1;
  for (let i = 0; i < term.length; i++) {
    const c = term[i]!;
    if (isLetter(c)) labels.push(c);
    else if (c === '.') {
      if (term.slice(i, i + 3) !== '...') fail(`'.' must be part of an ellipsis '...' in ${where} '${term}'`);
      if (ellipsisAt >= 0) fail(`${where} '${term}' has more than one ellipsis '...'`);
      ellipsisAt = labels.length;
      i += 2;
    } else fail(`bad character '${c}' in ${where} '${term}' (labels are the letters a-z and A-Z)`);
  }
  return { labels, ellipsisAt };
}

const ellipsisLabel = (i: number): string => `.${i}`;

/** Parses `spec` against the operands' shapes (the errors name einsum, the spec and the shapes). */
function parse(op: string, spec: string, shapes: readonly Shape[]): Parsed {
  const fail = (m: string): never => {
    throw new ShapeError(op, `${m}; spec '${spec}' with operands ${shapes.map(fmt).join(', ') || '(none)'}`);
  };
  if (typeof spec !== 'string') fail('the spec must be a string');
  const s = spec.replace(/\s+/g, '');
  const arrow = s.split('->');
  if (arrow.length > 2) fail("more than one '->'");
  if (/[->]/.test(arrow.join(''))) fail("'-' and '>' may only appear together as '->'");
  const terms = arrow[0]!.split(',');
  if (shapes.length === 0) fail('needs at least one operand');
  if (shapes.length > MAX_OPERANDS) fail(`takes at most ${MAX_OPERANDS} operands, got ${shapes.length}`);
  if (terms.length !== shapes.length) fail(`the spec has ${terms.length} operand terms but ${shapes.length} operands were given`);
  const toks = terms.map((t, k) => tokenize(t, fail, `operand ${k}`));
  const ranks = toks.map((t, k) => {
    const r = shapes[k]!.length - t.labels.length;
    if (t.ellipsisAt < 0 && r !== 0)
      fail(`operand ${k} has rank ${shapes[k]!.length} but its term '${terms[k]}' has ${t.labels.length} labels`);
    if (r < 0) fail(`operand ${k} has rank ${shapes[k]!.length}, fewer than the ${t.labels.length} labels of its term '${terms[k]}'`);
    return t.ellipsisAt < 0 ? 0 : r;
  });
  const R = Math.max(0, ...ranks);
  const sizes = new Map<string, number>();
  const firstSeen = new Map<string, number>();
  const inputs = toks.map((t, k) => {
    const r = ranks[k]!;
    const ell = Array.from({ length: r }, (_, i) => ellipsisLabel(R - r + i));
    const labels = t.ellipsisAt < 0 ? t.labels : [...t.labels.slice(0, t.ellipsisAt), ...ell, ...t.labels.slice(t.ellipsisAt)];
    const mine = new Map<string, number>();
    labels.forEach((l, ax) => {
      const d = shapes[k]![ax]!;
      const name = l.startsWith('.') ? `ellipsis dimension ${Number(l.slice(1)) - R}` : `label '${l}'`;
      const own = mine.get(l);
      if (own !== undefined && own !== d) fail(`${name} is repeated in operand ${k} with sizes ${own} and ${d}`);
      mine.set(l, d);
      const prev = sizes.get(l);
      if (prev === undefined || prev === 1) sizes.set(l, d);
      else if (d !== prev && d !== 1) fail(`${name} has size ${prev} in operand ${firstSeen.get(l)} but ${d} in operand ${k}`);
      if (!firstSeen.has(l) || prev === 1) firstSeen.set(l, k);
    });
    return labels;
  });
  const ellAll = Array.from({ length: R }, (_, i) => ellipsisLabel(i));
  let output: string[];
  if (arrow.length === 1) {
    const count = new Map<string, number>();
    for (const t of toks) for (const l of t.labels) count.set(l, (count.get(l) ?? 0) + 1);
    const once = [...count].filter(([, c]) => c === 1).map(([l]) => l);
    output = [...ellAll, ...once.sort()];
  } else {
    const o = tokenize(arrow[1]!, fail, 'the output');
    const seen = new Set<string>();
    for (const l of o.labels) {
      if (seen.has(l)) fail(`output label '${l}' is repeated`);
      if (!sizes.has(l)) fail(`output label '${l}' appears in no operand`);
      seen.add(l);
    }
    output = o.ellipsisAt < 0 ? o.labels : [...o.labels.slice(0, o.ellipsisAt), ...ellAll, ...o.labels.slice(o.ellipsisAt)];
  }
  return { inputs, output, sizes };
}

/** The union of the labels of the operands in `mask`. */
const labelsOf = (inputs: readonly (readonly string[])[], mask: number): Set<string> => {
  const s = new Set<string>();
  inputs.forEach((ls, i) => {
    if (mask & (1 << i)) for (const l of ls) s.add(l);
  });
  return s;
};

/** Per-operand labels after the diagonals, the dropped broadcast axes and the private sums (the labels the contraction sees). */
function reduceLabels(p: Parsed, shapes: readonly Shape[]): string[][] {
  const distinct = p.inputs.map((ls, k) => [...new Set(ls)].filter((l) => !(shapes[k]![ls.indexOf(l)] === 1 && (p.sizes.get(l) ?? 1) > 1)));
  const out = new Set(p.output);
  return distinct.map((ls, k) => ls.filter((l) => out.has(l) || distinct.some((o, j) => j !== k && o.includes(l))));
}

/** The plan of contractions over operands with the given (distinct) labels. */
interface Plan {
  readonly tree: Tree;
  readonly optimizer: EinsumPath['optimizer'];
}
type Tree = number | readonly [Tree, Tree];

const sizeOfLabels = (labels: Iterable<string>, sizes: ReadonlyMap<string, number>): number => {
  let n = 1;
  for (const l of labels) n *= sizes.get(l)!;
  return n;
};

/** Labels of the contraction of the operands in `mask`: the union that the output or the operands outside `mask` still need. */
function keptLabels(inputs: readonly (readonly string[])[], output: ReadonlySet<string>, mask: number): Set<string> {
  const inside = labelsOf(inputs, mask);
  const outside = labelsOf(inputs, ((1 << inputs.length) - 1) & ~mask);
  return new Set([...inside].filter((l) => output.has(l) || outside.has(l)));
}

/** The cheapest contraction tree: dynamic programming over subsets (exact) for few operands, greedy pairing beyond. */
function plan(inputs: readonly (readonly string[])[], output: ReadonlySet<string>, sizes: ReadonlyMap<string, number>): Plan {
  const n = inputs.length;
  if (n === 1) return { tree: 0, optimizer: 'none' };
  if (n <= EINSUM_OPTIMAL_MAX) {
    const full = (1 << n) - 1;
    // label sets as index lists; a stamp per label makes each union's size a pass without allocation
    const names = [...new Set(inputs.flat())];
    const dims = names.map((l) => sizes.get(l)!);
    const kept: number[][] = [];
    for (let m = 1; m <= full; m++) kept[m] = [...keptLabels(inputs, output, m)].map((l) => names.indexOf(l));
    const stamp = new Int32Array(names.length).fill(-1);
    const best = new Float64Array(full + 1).fill(Infinity);
    const split = new Int32Array(full + 1);
    for (let i = 0; i < n; i++) best[1 << i] = 0;
    for (let m = 1; m <= full; m++) {
      if ((m & (m - 1)) === 0) continue;
      const low = m & -m;
      // submasks holding the lowest operand: every unordered split once
      for (let a = (m - 1) & m; a > 0; a = (a - 1) & m) {
        if (!(a & low)) continue;
        const b = m & ~a;
        let cost = 1;
        for (const l of kept[a]!) {
          stamp[l] = a;
          cost *= dims[l]!;
        }
        for (const l of kept[b]!) if (stamp[l] !== a) cost *= dims[l]!;
        const c = best[a]! + best[b]! + cost;
        if (c < best[m]!) {
          best[m] = c;
          split[m] = a;
        }
      }
    }
    const build = (m: number): Tree => ((m & (m - 1)) === 0 ? Math.log2(m) : [build(split[m]!), build(m & ~split[m]!)]);
    return { tree: build(full), optimizer: 'optimal' };
  }
  // greedy: repeatedly contract the pair that shrinks the data most (then the cheapest)
  let items: { tree: Tree; mask: number; labels: Set<string> }[] = inputs.map((ls, i) => ({ tree: i, mask: 1 << i, labels: new Set(ls) }));
  const keptBig = (mask: number): Set<string> => keptLabels(inputs, output, mask);
  while (items.length > 1) {
    let bestKey: [number, number] = [Infinity, Infinity];
    let pick: [number, number] = [0, 1];
    for (let i = 0; i < items.length; i++) {
      for (let j = i + 1; j < items.length; j++) {
        const a = items[i]!;
        const b = items[j]!;
        const res = keptBig(a.mask | b.mask);
        const growth = sizeOfLabels(res, sizes) - sizeOfLabels(a.labels, sizes) - sizeOfLabels(b.labels, sizes);
        const cost = sizeOfLabels(new Set([...a.labels, ...b.labels]), sizes);
        if (growth < bestKey[0] || (growth === bestKey[0] && cost < bestKey[1])) {
          bestKey = [growth, cost];
          pick = [i, j];
        }
      }
    }
    const a = items[pick[0]]!;
    const b = items[pick[1]]!;
    const mask = a.mask | b.mask;
    items = [...items.filter((_, k) => k !== pick[0] && k !== pick[1]), { tree: [a.tree, b.tree], mask, labels: keptBig(mask) }];
  }
  return { tree: items[0]!.tree, optimizer: 'greedy' };
}

/** Walks a contraction tree in order: calls `step(left, right)` on the contraction results, numpy-style positions included. */
function walk<T>(tree: Tree, leaves: readonly T[], step: (a: T, b: T, pair: [number, number]) => T): T {
  const list: { id: Tree; v: T }[] = leaves.map((v, i) => ({ id: i, v }));
  const go = (t: Tree): Tree => {
    if (typeof t === 'number') return t;
    const l = go(t[0]);
    const r = go(t[1]);
    const i = list.findIndex((e) => e.id === l);
    const j = list.findIndex((e) => e.id === r);
    const [lo, hi] = i < j ? [i, j] : [j, i];
    const v = step(list[i]!.v, list[j]!.v, [lo, hi]);
    list.splice(hi, 1);
    list.splice(lo, 1);
    list.push({ id: t, v });
    return t;
  };
  go(tree);
  return list[0]!.v;
}

/** Labels in einsum notation, the ellipsis dimensions shown as letters the spec does not use. */
function namer(p: Parsed): (ls: readonly string[]) => string {
  const used = new Set(p.sizes.keys());
  const spare = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'].filter((c) => !used.has(c));
  return (ls) => ls.map((l) => (l.startsWith('.') ? (spare[Number(l.slice(1))] ?? `(${l})`) : l)).join('');
}

/** The labels kept by the contraction of two operands: those the output or the other remaining operands need. */
function pairLabels(a: readonly string[], b: readonly string[], keep: ReadonlySet<string>): string[] {
  return [...new Set([...a, ...b])].filter((l) => keep.has(l));
}

/** The path for parsed labels (after the per-operand reductions). */
function pathOf(p: Parsed, reduced: readonly string[][]): EinsumPath {
  const out = new Set(p.output);
  const pl = plan(reduced, out, p.sizes);
  const name = namer(p);
  const steps: EinsumStep[] = [];
  // a leaf carries its labels and the mask of original operands it holds
  walk(
    pl.tree,
    reduced.map((ls, i) => ({ ls, mask: 1 << i })),
    (a, b, pair) => {
      const mask = a.mask | b.mask;
      const keep = keptLabels(reduced, out, mask);
      const ls = pairLabels(a.ls, b.ls, keep);
      const cost = sizeOfLabels(new Set([...a.ls, ...b.ls]), p.sizes);
      steps.push({ pair, subscripts: `${name(a.ls)},${name(b.ls)}->${name(ls)}`, cost });
      return { ls, mask };
    },
  );
  return {
    path: steps.map((s) => s.pair),
    steps,
    cost: steps.reduce((c, s) => c + s.cost, 0),
    optimizer: pl.optimizer,
  };
}

/**
 * The pairwise contraction order {@link einsum} uses for `spec` on operands of the given shapes, and its cost, like
 * numpy.einsum_path. The cost of contracting two operands is the product of the sizes of all their labels (the
 * multiply-adds of the batched matmul or broadcast product that does it); the order minimises the total, found exactly by
 * dynamic programming over subsets for up to {@link EINSUM_OPTIMAL_MAX} operands and greedily (the pair that shrinks the data
 * most) beyond. Labels that only one operand has are summed in that operand first and take part in no pair.
 *
 * @example
 * einsumPath('ij,jk,kl->il', [2, 100], [100, 3], [3, 50]).path // [[0, 1], [0, 1]]: (A B) first, then with C
 */
export function einsumPath(spec: string, ...shapes: readonly Shape[]): EinsumPath {
  const p = parse('einsumPath', spec, shapes);
  return pathOf(p, reduceLabels(p, shapes));
}

/** An operand during the lowering: a tensor and the label of each of its axes. */
interface Term {
  readonly t: Tensor;
  readonly ls: readonly string[];
}

/** The diagonal over the axes carrying label `l` (two or more, all of size n): those axes become one, placed last. */
function diagonal(x: Term, l: string): Term {
  const axes = x.ls.flatMap((m, i) => (m === l ? [i] : []));
  const others = x.ls.flatMap((m, i) => (m === l ? [] : [i]));
  const n = x.t.shape[axes[0]!]!;
  const rest = others.map((i) => x.t.shape[i]!);
  const k = axes.length;
  const moved = transpose(x.t, [...others, ...axes]);
  let t: Tensor;
  if (n <= 1) t = reshape(moved, [...rest, n]);
  else {
    // in the flattened block of nᵏ entries the diagonal ones sit s = 1 + n + … + nᵏ⁻¹ apart
    const s = (n ** k - 1) / (n - 1);
    const flat = reshape(moved, [...rest, n ** k]);
    const widths: (readonly [number, number])[] = [...rest.map((): readonly [number, number] => [0, 0]), [0, n * s - n ** k]];
    const padded = pad(flat, widths);
    t = reshape(slice(reshape(padded, [...rest, n, s]), [...rest.map(() => 0), 0, 0], [...rest, n, 1]), [...rest, n]);
  }
  return { t, ls: [...others.map((i) => x.ls[i]!), l] };
}

/** Sums the axes of `x` whose labels are not in `keep`. */
function sumAway(x: Term, keep: ReadonlySet<string>): Term {
  const axes = x.ls.flatMap((l, i) => (keep.has(l) ? [] : [i]));
  if (axes.length === 0) return x;
  return { t: sum(x.t, axes), ls: x.ls.filter((l) => keep.has(l)) };
}

/** x transposed so that its labels come in `order` (a permutation of its labels). */
const arrange = (x: Term, order: readonly string[]): Tensor =>
  transpose(
    x.t,
    order.map((l) => x.ls.indexOf(l)),
  );

/** Contracts two operands with distinct labels, keeping the labels in `keep`: one batched matmul (or a broadcast product). */
function contract(a0: Term, b0: Term, keep: ReadonlySet<string>): Term {
  const inB = new Set(b0.ls);
  const inA = new Set(a0.ls);
  // labels of one side only that nothing needs are summed first (the per-operand sums leave none, kept for safety)
  const a = sumAway(a0, new Set(a0.ls.filter((l) => keep.has(l) || inB.has(l))));
  const b = sumAway(b0, new Set(b0.ls.filter((l) => keep.has(l) || inA.has(l))));
  const batch = a.ls.filter((l) => inB.has(l) && keep.has(l));
  const inner = a.ls.filter((l) => inB.has(l) && !keep.has(l));
  const aOnly = a.ls.filter((l) => !inB.has(l));
  const bOnly = b.ls.filter((l) => !inA.has(l));
  const dim = (x: Term, l: string): number => x.t.shape[x.ls.indexOf(l)]!;
  const bs = batch.map((l) => dim(a, l));
  const M = sizeOf(aOnly.map((l) => dim(a, l)));
  const K = sizeOf(inner.map((l) => dim(a, l)));
  const N = sizeOf(bOnly.map((l) => dim(b, l)));
  const lead = batch.length > 0 ? [sizeOf(bs)] : [];
  const A = reshape(arrange(a, [...batch, ...aOnly, ...inner]), [...lead, M, K]);
  const B = reshape(arrange(b, [...batch, ...inner, ...bOnly]), [...lead, K, N]);
  const C = inner.length === 0 ? mul(A, reshape(B, [...lead, 1, N])) : matmul(A, B);
  const ls = [...batch, ...aOnly, ...bOnly];
  return { t: reshape(C, [...bs, ...aOnly.map((l) => dim(a, l)), ...bOnly.map((l) => dim(b, l))]), ls };
}

/**
 * Einstein summation: `einsum('bij,bjk->bik', a, b)` is a batched matrix product, `einsum('ij->ji', x)` a transpose,
 * `einsum('ii->', x)` the trace, `einsum('ii->i', x)` the diagonal, `einsum('i,j->ij', u, v)` the outer product.
 *
 * - Labels are the letters a-z and A-Z; whitespace is ignored. Without `->` the output is numpy's implicit one: the
 *   ellipsis dimensions, then the labels that appear once, in alphabetical (character code) order.
 * - A label repeated in one operand takes its diagonal; labels missing from the output are summed.
 * - `...` stands for the remaining (leading) dimensions of an operand; those of all operands broadcast against one
 *   another, right-aligned, as in numpy, and are summed when the explicit output has no `...`. A dimension of size 1 also
 *   broadcasts against a labelled dimension of another size.
 * - Any number of operands: they are contracted two at a time in the cheapest order ({@link einsumPath}).
 *
 * It is a composite (transpose, reshape, pad, slice, sum, mul, matmul), so it differentiates, batches (vmap) and traces
 * (jit) like its parts, on every backend. Bad specs throw a ShapeError naming einsum, the spec and the operand shapes.
 */
export function einsum(spec: string, ...operands: readonly Tensor[]): Tensor {
  const shapes = operands.map((x) => x.shape);
  const p = parse('einsum', spec, shapes);
  const d0 = operands[0]!.dtype;
  if (operands.some((x) => x.dtype !== d0))
    throw new ShapeError(
      'einsum',
      `operands have different dtypes: ${operands.map((x) => describeAval(x.dtype, x.shape)).join(', ')} (use cast()); spec '${spec}'`,
    );
  const reduced = reduceLabels(p, shapes);
  const terms = operands.map((x, k): Term => {
    let term: Term = { t: x, ls: p.inputs[k]! };
    for (;;) {
      const rep = term.ls.find((l, i) => term.ls.indexOf(l) !== i);
      if (rep === undefined) break;
      term = diagonal(term, rep);
    }
    // size-1 axes broadcasting against a larger size elsewhere: the operand is constant along them
    const drop = term.ls.filter((l, i) => term.t.shape[i] === 1 && (p.sizes.get(l) ?? 1) > 1);
    if (drop.length > 0) {
      const ls = term.ls.filter((l) => !drop.includes(l));
      term = {
        t: reshape(
          term.t,
          ls.map((l) => term.t.shape[term.ls.indexOf(l)]!),
        ),
        ls,
      };
    }
    return sumAway(term, new Set(reduced[k]!));
  });
  const out = new Set(p.output);
  const pl = plan(reduced, out, p.sizes);
  const masks = terms.map((t, i) => ({ ...t, mask: 1 << i }));
  const last = walk(pl.tree, masks, (a, b) => {
    const mask = a.mask | b.mask;
    return { ...contract(a, b, keptLabels(reduced, out, mask)), mask };
  });
  const result = sumAway(last, out);
  return arrange(result, p.output);
}
