/**
 * Gradient transformations and their composition: chain runs its members in
 * order (clip-then-scale differs from scale-then-clip, decay before or after
 * Adam's normalisation), shares slot names only when unambiguous, nests;
 * masked leaves pass through untouched with their slots unchanged;
 * clipByGlobalNorm as a transformation; transformations are pure and check
 * their state; hand-written transformations compose.
 */
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';

const f64 = { dtype: 'f64' } as const;
const vals = (t: ct.Tensor): number[] => Array.from(t.dataSync());
const tree = (w: number[], b: number[]) => ({ w: ct.tensor(w, f64), layers: [{ b: ct.tensor(b, f64) }] });
type Tree = ReturnType<typeof tree>;
const flat = (t: Tree): number[] => [...vals(t.w), ...vals(t.layers[0]!.b)];
const norm = (xs: number[]): number => Math.sqrt(xs.reduce((a, x) => a + x * x, 0));

function expectAll(got: number[], want: number[], digits = 12): void {
  expect(got).toHaveLength(want.length);
  got.forEach((x, i) => {
    expect(x, `coordinate ${i}`).toBeCloseTo(want[i]!, digits);
  });
}

describe('chain', () => {
  it('runs its members in order: clip then scale differs from scale then clip', () => {
    const g = tree([3, 0], [4]); // global norm 5
    const p = tree([0, 0], [0]);
    const [a] = nn.chain(nn.clipByGlobalNorm(1), nn.scale(3)).update(g, nn.chain().init(p), p);
    expectAll(flat(a), [1.8, 0, 2.4]); // g/5·3: norm 3
    const [b] = nn.chain(nn.scale(3), nn.clipByGlobalNorm(1)).update(g, nn.chain().init(p), p);
    expectAll(flat(b), [0.6, 0, 0.8]); // (3g)/15: norm 1
  });

  it('weight decay before Adam is normalised with the gradient; after Adam it is added to the normalised step', () => {
    const g = tree([0.3, -2], [0.01]);
    const p = tree([1, 4], [-3]);
    const eps = 1e-8;
    // on the first step (bias-corrected) Adam maps x to x/(|x| + ε)
    const adam1 = (x: number) => x / (Math.abs(x) + eps);
    const before = nn.chain(nn.addDecayedWeights(0.5), nn.scaleByAdam());
    const after = nn.chain(nn.scaleByAdam(), nn.addDecayedWeights(0.5));
    const gs = flat(g);
    const ps = flat(p);
    expectAll(
      flat(before.update(g, before.init(p), p)[0]),
      gs.map((x, i) => adam1(x + 0.5 * ps[i]!)),
      9,
    );
    expectAll(
      flat(after.update(g, after.init(p), p)[0]),
      gs.map((x, i) => adam1(x) + 0.5 * ps[i]!),
      9,
    );
  });

  it('merges the members’ slots, prefixing a name two members share by the member’s index; the step is shared', () => {
    const t = nn.chain(nn.traceMomentum(), nn.scaleByAdam(), nn.clipByGlobalNorm(1));
    expect(t.slotNames).toEqual(['0/v', 'm', '1/v']);
    const p = tree([1, 2], [3]);
    const s0 = t.init(p);
    expect(Object.keys(s0.slots)).toEqual(['0/v', 'm', '1/v']);
    const [, s1] = t.update(tree([1, 1], [1]), s0, p);
    expect(s1.step).toBe(1);
    expect(flat(s1.slots['0/v'] as Tree)).toEqual([1, 1, 1]); // momentum trace of g
    expectAll(flat(s1.slots['1/v'] as Tree), [0.001, 0.001, 0.001], 15); // Adam's (1−β₂)·u², u = the trace 1
    expect(s0.step).toBe(0); // pure: the old state is unchanged
    expect(flat(s0.slots.m as Tree)).toEqual([0, 0, 0]);
  });

  it('a nested chain computes what the flat chain computes', () => {
    const p = tree([1, -2], [0.5]);
    const flatChain = nn.chain(nn.scaleByAdam(), nn.addDecayedWeights(0.1), nn.scaleByLearningRate(0.01));
    const nested = nn.chain(nn.chain(nn.scaleByAdam(), nn.addDecayedWeights(0.1)), nn.scaleByLearningRate(0.01));
    let [sa, sb] = [flatChain.init(p), nested.init(p)];
    for (let t = 1; t <= 3; t++) {
      const g = tree([t, -1], [0.5 * t]);
      const [ua, na] = flatChain.update(g, sa, p);
      const [ub, nb] = nested.update(g, sb, p);
      expect(flat(ub)).toEqual(flat(ua));
      [sa, sb] = [na, nb];
    }
  });

  it('an empty chain is the identity; applyUpdates adds the updates to the parameters', () => {
    const g = tree([1, 2], [3]);
    const [u, s] = nn.chain().update(g, nn.chain().init(g), g);
    expect(flat(u)).toEqual([1, 2, 3]);
    expect(s).toEqual({ step: 1, slots: {} });
    expect(flat(nn.applyUpdates(tree([1, 1], [1]), tree([0.5, -1], [2])))).toEqual([1.5, 0, 3]);
  });

  it('rejects a member not built by a transformation constructor, and a wrong state', () => {
    const fake = {
      name: 'fake',
      config: {},
      slotNames: [],
      init: () => ({ step: 0, slots: {} }),
      update: (u: unknown, s: unknown) => [u, s],
    };
    expect(() => nn.chain(nn.scale(2), fake as unknown as nn.GradientTransformation)).toThrow(
      /chain: member 1 \(fake\) was not built by a transformation constructor/,
    );
    const p = tree([1, 2], [3]);
    expect(() => nn.scaleByAdam().update(p, { step: 0, slots: {} }, p)).toThrow(/scaleByAdam: the state has slots \[\] but/);
    expect(() => nn.addDecayedWeights(0.1).update(p, { step: 0, slots: {} })).toThrow(/addDecayedWeights: needs the parameters/);
  });
});

describe('masked', () => {
  it('masked leaves pass through untouched and their slots never change; the selected ones follow the inner rule', () => {
    const t = nn.masked(nn.scaleByAdam(), { w: true, layers: false });
    const alone = nn.scaleByAdam();
    const p = tree([1, 2], [3]);
    let s = t.init(p);
    let sa = alone.init({ w: p.w });
    for (let k = 1; k <= 3; k++) {
      const g = tree([0.5 * k, -k], [7 * k]);
      const [u, s2] = t.update(g, s, p);
      const [ua, sa2] = alone.update({ w: g.w }, sa, { w: p.w });
      expect(vals(u.layers[0]!.b)).toEqual([7 * k]); // unchanged
      expect(vals(u.w)).toEqual(vals(ua.w));
      expect(vals((s2.slots.m as Tree).layers[0]!.b)).toEqual([0]);
      expect(vals((s2.slots.v as Tree).layers[0]!.b)).toEqual([0]);
      expect(vals((s2.slots.m as Tree).w)).toEqual(vals((sa2.slots.m as { w: ct.Tensor }).w));
      s = s2;
      sa = sa2;
    }
  });

  it('a function mask equals the tree it returns, and the inner rule sees the selected leaves as it would alone', () => {
    const p = tree([1, 2], [3]);
    const g = tree([0.2, -0.4], [5]);
    const byFn = nn.masked(nn.scaleByRms(), (q) => ({ w: false, layers: (q as Tree).layers.map(() => true) }));
    const [u] = byFn.update(g, byFn.init(p), p);
    expect(vals(u.w)).toEqual([0.2, -0.4]);
    const alone = nn.scaleByRms();
    const bOnly = { b: ct.tensor([5], f64) };
    expect(vals(u.layers[0]!.b)).toEqual(vals(alone.update(bOnly, alone.init(bOnly))[0].b));
    // a global norm inside the mask is the norm of the selected leaves
    const clip = nn.masked(nn.clipByGlobalNorm(0.1), { w: true, layers: false });
    const [c] = clip.update(g, clip.init(p), p);
    expectAll(vals(c.w), [(0.1 * 0.2) / norm([0.2, 0.4]), (0.1 * -0.4) / norm([0.2, 0.4])]);
    expect(vals(c.layers[0]!.b)).toEqual([5]);
  });

  it('addDecayedWeights with a mask decays only the selected parameters', () => {
    const p = tree([1, 2], [3]);
    const g = tree([0, 0], [0]);
    const t = nn.addDecayedWeights(0.5, { w: true, layers: [{ b: false }] });
    expect(flat(t.update(g, t.init(p), p)[0])).toEqual([0.5, 1, 0]);
  });

  it('a mask that does not fit the parameters is an error naming the place', () => {
    const p = tree([1, 2], [3]);
    expect(() => nn.masked(nn.scale(2), { w: true } as nn.MaskTree).init(p)).toThrow(/masked\(scale\): the mask has no entry for 'layers'/);
    expect(() => nn.masked(nn.scale(2), { w: [true], layers: true }).init(p)).toThrow(
      /the mask at 'w' must be a boolean \(it is a parameter\), got an array of 1/,
    );
    expect(() => nn.masked(nn.scale(2), { w: true, layers: [true, false] }).init(p)).toThrow(
      /the mask at 'layers' must be a boolean or an array of 1/,
    );
    expect(() => nn.masked(nn.scale(2), { w: true, layers: true, c: false }).init(p)).toThrow(/a key 'c' that the parameters do not have/);
  });

  it('nothing selected: everything passes through', () => {
    const p = tree([1, 2], [3]);
    const t = nn.masked(nn.scaleByAdam(), false);
    const [u, s] = t.update(p, t.init(p), p);
    expect(flat(u)).toEqual([1, 2, 3]);
    expect(s.step).toBe(1);
  });
});

describe('clipByGlobalNorm', () => {
  it('as a transformation: rescales to the bound, leaves small updates alone, equals the function form', () => {
    const g = tree([3, 0], [4]);
    const t = nn.clipByGlobalNorm(1);
    expect(t.slotNames).toEqual([]);
    const [u, s] = t.update(g, t.init(g));
    expect(norm(flat(u))).toBeCloseTo(1, 12);
    expect(flat(u)).toEqual(flat(nn.clipByGlobalNorm(g, 1)));
    expect(s.step).toBe(1);
    const [v] = nn.clipByGlobalNorm(10).update(g, t.init(g));
    expect(flat(v)).toEqual([3, 0, 4]);
    expect(() => nn.clipByGlobalNorm(-1)).toThrow(/maxNorm must be a finite number > 0, got -1/);
  });
});

describe('transformation', () => {
  it('a hand-written transformation with a slot and a host scalar composes with the built-in ones', () => {
    // keeps the running sum of updates (slot `s`) and scales by 1/(step+1) (a host scalar)
    const avg = nn.transformation({
      name: 'runningMean',
      slots: ['s'],
      hyper: (step) => [1 / (step + 1)],
      apply: (updates, slots, _params, [k]) => {
        const s = ct.treeMap(slots.s as Tree, (x, i) => ct.add(x as ct.Tensor, ct.treeLeaves(updates)[i] as ct.Tensor));
        return { updates: ct.treeMap(s, (x) => ct.mul(x as ct.Tensor, k!)), slots: { s } };
      },
    });
    const opt = nn.asOptimizer(nn.chain(avg, nn.scaleByLearningRate(0.1)), { name: 'averaged' });
    expect(opt.config).toMatchObject({ name: 'averaged' });
    let p = tree([0, 0], [0]);
    let st = opt.init(p);
    const gs = [1, 3, 8];
    let ref = 0;
    let sum = 0;
    gs.forEach((x, k) => {
      ({ params: p, state: st } = opt.update(tree([x, -x], [2 * x]), st, p));
      sum += x;
      ref -= (0.1 * sum) / (k + 1);
    });
    expectAll(flat(p), [ref, -ref, 2 * ref]);
  });

  it('rejects a host-scalar count that changes with the step', () => {
    const t = nn.transformation({ name: 'odd', hyper: (s) => (s === 0 ? [1] : [1, 2]), apply: (u) => ({ updates: u, slots: {} }) });
    const p = tree([1], [1]);
    const [, s] = t.update(p, t.init(p));
    expect(() => t.update(p, s)).toThrow(/odd: hyper\(1\) gave 2 scalars, hyper\(0\) gave 1/);
  });
});
