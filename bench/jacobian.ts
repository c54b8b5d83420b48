/**
 * Jacobians batched with vmap against one pass per basis vector: jacfwd and
 * jacrev of a 256 → 256 function x ↦ tanh(W x + b) (W 256×256, f32, seeded
 * data), with `vectorize: true` (one batched pass over the stacked basis, the
 * default) and `vectorize: false` (256 JVPs or pullbacks one after another),
 * on cotangent's CPU or wasm backend. `runCotangent` adds these figures to
 * the cpu and wasm rows; `npx tsx bench/jacobian.ts [cpu|wasm ...]` prints
 * the table alone.
 */
import { fileURLToPath } from 'node:url';
import * as ct from '../src/index.js';
import { time, uniform, type JacobianResult } from './data.js';

/** The size of the benchmarked function's input and output. */
export const JAC_N = 256;

/** jacfwd / jacrev of tanh(W x + b), vectorized and not, in ms (the backend must be initialised and the default). */
export async function runJacobianBench(): Promise<JacobianResult> {
  const n = JAC_N;
  const W = ct.keep(ct.tensor(uniform(n * n, 31, -1 / Math.sqrt(n), 1 / Math.sqrt(n)), { shape: [n, n] }));
  const b = ct.keep(ct.tensor(uniform(n, 32), { shape: [n] }));
  const x = ct.keep(ct.tensor(uniform(n, 33), { shape: [n] }));
  const f = (v: ct.Tensor) => ct.tanh(ct.add(ct.matmul(W, v), b));
  const measure = async (mode: 'fwd' | 'rev', vectorize: boolean) => {
    const g = (v: ct.Tensor): ct.Tensor => (mode === 'fwd' ? ct.jacfwd(f, { vectorize })(v) : ct.jacrev(f, { vectorize })(v));
    let check = NaN;
    const t = await time(
      async () => {
        const J = g(x);
        check = (await J.data())[n + 1]!;
        J.dispose();
      },
      { warmup: 1, minReps: 3, maxReps: 20, minMs: 1500 },
    );
    return { ms: t.ms, check };
  };
  const fv = await measure('fwd', true);
  const fl = await measure('fwd', false);
  const rv = await measure('rev', true);
  const rl = await measure('rev', false);
  // the four computations must agree on an entry (J[1, 1]) before their times mean anything
  const checks = [fv, fl, rv, rl].map((m) => m.check);
  if (checks.some((c) => Math.abs(c - checks[0]!) > 1e-4 * Math.max(1, Math.abs(checks[0]!))))
    throw new Error(`jacobian bench: the four Jacobians disagree at [1,1]: ${checks.join(', ')}`);
  W.dispose();
  b.dispose();
  x.dispose();
  return { n, fwdVectorizedMs: fv.ms, fwdLoopMs: fl.ms, revVectorizedMs: rv.ms, revLoopMs: rl.ms };
}

const fmt = (v: number, d = 1): string => (Number.isFinite(v) ? v.toFixed(d) : '—');

/** The jacobian table: one row per cotangent backend. */
export function jacobianTable(rows: readonly { peer: string; jacobian: JacobianResult }[]): string[] {
  if (rows.length === 0) return [];
  const n = rows[0]!.jacobian.n;
  const lines = [
    `jacobians of tanh(W x + b), ${n} → ${n} (f32): one batched pass (vmap over the basis) vs one pass per basis vector (vectorize: false)`,
    '',
    '| peer | jacfwd vmap ms | jacfwd loop ms | × jacfwd | jacrev vmap ms | jacrev loop ms | × jacrev |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const { peer, jacobian: j } of rows)
    lines.push(
      `| ${[
        peer,
        fmt(j.fwdVectorizedMs),
        fmt(j.fwdLoopMs),
        fmt(j.fwdLoopMs / j.fwdVectorizedMs),
        fmt(j.revVectorizedMs),
        fmt(j.revLoopMs),
        fmt(j.revLoopMs / j.revVectorizedMs),
      ].join(' | ')} |`,
    );
  lines.push('× columns: loop time / batched time (> 1: vmap is faster).');
  return lines;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const backends = (process.argv.slice(2).length ? process.argv.slice(2) : ['wasm', 'cpu']) as ('cpu' | 'wasm')[];
  const rows: { peer: string; jacobian: JacobianResult }[] = [];
  for (const backend of backends) {
    await ct.init({ backend });
    rows.push({ peer: `cotangent (${backend})`, jacobian: await runJacobianBench() });
  }
  console.log(jacobianTable(rows).join('\n'));
}
