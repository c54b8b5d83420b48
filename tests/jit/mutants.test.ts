/**
 * The jit laws must be able to fail: deliberately broken optimisers and
 * planners (laws/jitMutants.ts) are put into the real jit pipeline and every
 * one must be caught. The pipeline is broken through module mocks of
 * `optimize` (src/jit/passes.ts) and `planGraph` (src/jit/plan.ts) that apply
 * the active mutant to their results; nothing in src/ changes.
 *
 * Each mutant is run (cpu, f32) against:
 * - prims: the equivalence law on every built-in primitive followed by an
 *   elementwise chain, within the f32 tolerance;
 * - programs: the equivalence law on random programs, within the f32 tolerance;
 * - programs exact: the same, bit for bit (what jit promises on the cpu);
 * - targeted: the well-chosen cases below (a broadcast column, two sums over
 *   different axes, f32 cancellation, a value used one step after it is made,
 *   −0 + 0 bit for bit, and the optimiser law on a graph with constant-only
 *   equations: tracing alone never records one, so jit never folds a constant
 *   of a traced program).
 * As a control, the unbroken pipeline must pass all of them. The table of
 * kills is printed at the end; JIT_MUTATION_REPORTS=1 prints each kill's report.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as ct from '../../src/index.js';
import type { JitMutant } from '../../laws/jitMutants.js';

const hook = vi.hoisted(() => ({ mutant: null as JitMutant | null }));

vi.mock('../../src/jit/passes.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/jit/passes.js')>();
  return {
    ...real,
    optimize: (g: Parameters<typeof real.optimize>[0], opts?: Parameters<typeof real.optimize>[1]) => {
      const r = real.optimize(g, opts);
      const m = hook.mutant;
      return m?.graph ? { ...r, graph: m.graph(r.graph, g) } : r;
    },
  };
});

vi.mock('../../src/jit/plan.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/jit/plan.js')>();
  return {
    ...real,
    planGraph: (...args: Parameters<typeof real.planGraph>) => {
      const p = real.planGraph(...args);
      const m = hook.mutant;
      return m?.plan ? m.plan(p, args[0]) : p;
    },
  };
});

import { builtinCases } from '../../laws/domains.js';
import {
  bindCaseOn,
  caseFits,
  describeCase,
  formatFailure,
  jitEquivalenceLaw,
  optimizedGraphLaw,
  program,
  programOn,
  programToString,
  withConstantInputs,
  type JitSide,
  type LawResult,
  type TensorFn,
} from '../../laws/index.js';
import { JIT_MUTANTS } from '../../laws/jitMutants.js';

const side: JitSide = { backend: 'cpu', dtype: 'f32' };
const PRIM_RUNS = 2;
const PROGRAM_RUNS = 40;

const f32 = (v: number[] | number[][]) => ct.tensor(v, { dtype: 'f32', backend: 'cpu' });

/** A case written to expose one kind of bug. */
interface Targeted {
  readonly name: string;
  readonly check: () => LawResult;
}

const targeted: readonly Targeted[] = [
  {
    name: 'a [3,1] column broadcast into a [3,3] chain',
    check: () =>
      jitEquivalenceLaw(
        (x, y) => ct.exp(ct.add(ct.mul(x, 2), y)),
        [
          f32([[0.1], [0.5], [-0.7]]),
          f32([
            [1, 2, 3],
            [4, 5, 6],
            [7, 8, 9],
          ]),
        ],
      ),
  },
  {
    name: 'two sums of one square matrix over different axes',
    check: () =>
      jitEquivalenceLaw(
        (x) => ct.add(ct.sum(x, 0), ct.sum(x, 1)),
        [
          f32([
            [1, 2, 3],
            [4, 5, 6],
            [7, 8, 10],
          ]),
        ],
      ),
  },
  {
    name: 'f32 cancellation (x + 2²⁴) − 2²⁴: per-node rounding makes x an even integer',
    check: () => jitEquivalenceLaw((x) => ct.sub(ct.add(x, 16777216), 16777216), [f32([0.3, 1.7, -2.2, 5.5])]),
  },
  {
    name: 'a value used by the step after the one that made it: Σ exp(x)',
    check: () => jitEquivalenceLaw((x) => ct.sum(ct.exp(x)), [f32([0.1, 0.2, 0.3])]),
  },
  {
    name: 'x + 0 with x = −0 (signed zeros, compared bit for bit)',
    check: () =>
      ct.scope(() => {
        const zeros = f32([0, 0, 0]);
        return jitEquivalenceLaw((x) => ct.add(x, zeros), [f32([-0, 0, 1])], { exact: true, derivatives: false });
      }),
  },
  {
    name: 'optimiser law: a graph whose constant-only equations are folded',
    check: () =>
      ct.scope(() => {
        const x = f32([1, 2, 3]);
        const c = f32([0.5, -0.5, 0.25]);
        const g = ct.makeGraph((a: ct.Tensor, b: ct.Tensor) => ct.add(a, ct.exp(ct.mul(b, 2))), x, c);
        return optimizedGraphLaw(withConstantInputs(g, new Map([[1, c]])), [x]);
      }),
  },
];

/** The first failure of `check` over `n` random inputs (fast-check, no shrinking), or null. */
function firstKill<T>(arb: fc.Arbitrary<T>, n: number, check: (v: T) => { r: LawResult; what: string }): string | null {
  let report: string | null = null;
  fc.check(
    fc.property(arb, (v) => {
      const { r, what } = ct.scope(() => check(v));
      if (!r.ok) report ??= formatFailure(r, what);
      return r.ok;
    }),
    { numRuns: n, endOnFailure: true },
  );
  return report;
}

type Column = 'prims' | 'programs' | 'programs exact' | 'targeted';
const COLUMNS: readonly Column[] = ['prims', 'programs', 'programs exact', 'targeted'];

/** Runs every column; for each, the report of the first failure (null: everything passed). */
function runColumns(): Record<Column, string | null> {
  const chained =
    (f: TensorFn): TensorFn =>
    (...xs) => {
      const y = f(...xs);
      return ct.add(y, ct.mul(y, y));
    };
  let prims: string | null = null;
  for (const name of ct.primNames) {
    prims = firstKill(
      fc.tuple(
        builtinCases[name].filter((c) => caseFits(c, side)),
        fc.integer(),
      ),
      PRIM_RUNS,
      ([c, seed]) => {
        const b = bindCaseOn(ct.primitives[name], c, side);
        return { r: jitEquivalenceLaw(chained(b.f), b.args, { seed }), what: `${name} then y + y·y, ${describeCase(c)}` };
      },
    );
    if (prims) break;
  }
  const programs = (exact: boolean) =>
    firstKill(program(), PROGRAM_RUNS, (spec) => {
      const p = programOn(spec, side);
      return { r: jitEquivalenceLaw(p.f, p.args, { seed: spec.seed, exact }), what: programToString(spec) };
    });
  const reports = targeted.flatMap((t, i) => {
    const r = t.check();
    return r.ok ? [] : [`[T${i + 1}] ${formatFailure(r, t.name)}`];
  });
  return { prims, programs: programs(false), 'programs exact': programs(true), targeted: reports.length > 0 ? reports.join('\n') : null };
}

interface Row {
  readonly mutant: string;
  readonly killedBy: readonly Column[];
  /** The targeted cases that caught it (T1, T2, ...). */
  readonly cases: readonly string[];
}
const rows: Row[] = [];

beforeAll(async () => {
  await ct.init({ backend: 'cpu' });
});

afterAll(() => {
  hook.mutant = null;
  const killed = rows.filter((r) => r.killedBy.length > 0).length;
  const cell = (r: Row, c: Column) =>
    (r.killedBy.includes(c) ? (c === 'targeted' ? `killed (${r.cases.join(',')})` : 'killed') : '-').padEnd(c === 'targeted' ? 0 : 15);
  const lines = rows.map((r) => `  ${r.mutant.padEnd(96)} ${COLUMNS.map((c) => cell(r, c)).join('')}`);
  console.log(
    `[jit mutation] killed ${killed}/${rows.length} mutants of the jit pipeline (cpu, f32; ${PRIM_RUNS} cases per primitive, ` +
      `${PROGRAM_RUNS} random programs per column)\n  ${'mutant'.padEnd(96)} ${COLUMNS.map((c) => c.padEnd(15)).join('')}\n` +
      `${lines.join('\n')}\n` +
      `  targeted cases: ${targeted.map((t, i) => `T${i + 1} ${t.name}`).join('; ')}`,
  );
});

describe('mutants of the jit pipeline', () => {
  it('control: the unbroken pipeline passes every check', () => {
    hook.mutant = null;
    const r = runColumns();
    for (const c of COLUMNS) expect(r[c] ?? '', `column ${c}`).toBe('');
  });

  for (const m of JIT_MUTANTS) {
    it(`${m.name}: killed`, () => {
      hook.mutant = m;
      let r: Record<Column, string | null>;
      try {
        r = runColumns();
      } finally {
        hook.mutant = null;
      }
      const killedBy = COLUMNS.filter((c) => r[c] !== null);
      if (process.env.JIT_MUTATION_REPORTS)
        for (const c of COLUMNS) {
          const report = r[c];
          if (report) console.log(`=== ${m.name} / ${c}\n${report.slice(0, 1500)}`);
        }
      rows.push({ mutant: m.name, killedBy, cases: [...(r.targeted ?? '').matchAll(/^\[(T\d+)\]/gm)].map((x) => x[1] ?? '') });
      expect(killedBy, `${m.name} survived every law and test`).not.toEqual([]);
    });
  }

  it('the rounding mutant is invisible within the f32 tolerance but for the well-chosen case (stated in the table)', () => {
    const row = rows.find((r) => r.mutant.startsWith('rounding'));
    expect(row?.killedBy).toContain('targeted');
  });
});
