/**
 * The vmap laws must be able to fail: for every built-in primitive,
 * deliberately broken copies of its batching rule (laws/batchMutants.ts: the
 * batch axis named wrong, the input batch axes assumed at the front, the
 * batch dimension summed away, batched operands broadcast against the wrong
 * axis, axis parameters not shifted) are run through the vmap laws and every
 * one must be caught. As a control, the unbroken primitive passes the very
 * same check. The kill table is printed by kind, with how many mutants were
 * caught by a value difference and how many by an error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { BATCH_MUTANT_KINDS, batchMutantsOf, killBatchMutant, type BatchKillResult } from '../../laws/batchMutants.js';
import { vmapCases } from '../../laws/vmap.js';
import { FC_SEED } from '../setup.js';

const results: BatchKillResult[] = [];
const NUM_RUNS = 60;

beforeAll(async () => {
  await ct.init({ backend: 'cpu' });
});

describe('batching-rule mutants of every built-in primitive', () => {
  for (const name of ct.primNames) {
    it(`${name}: the vmap laws pass the real rule and catch every mutant`, () => {
      const control = killBatchMutant({ name: `${name} (unbroken)`, kind: 'wrong out dim', prim: ct.primitives[name] }, vmapCases[name], {
        numRuns: NUM_RUNS,
        seed: FC_SEED,
      });
      expect(control.report ?? '', 'the unbroken primitive must pass the vmap laws').toBe('');
      const mutants = batchMutantsOf(ct.primitives[name]);
      expect(mutants.length).toBeGreaterThanOrEqual(3);
      const rs = mutants.map((m) => killBatchMutant(m, vmapCases[name], { numRuns: NUM_RUNS, seed: FC_SEED }));
      results.push(...rs);
      expect(rs.filter((r) => !r.killed).map((r) => r.mutant)).toEqual([]);
    });
  }
});

afterAll(() => {
  const killed = results.filter((r) => r.killed).length;
  const rate = results.length ? ((100 * killed) / results.length).toFixed(1) : '0';
  const byError = (rs: readonly BatchKillResult[]) => rs.filter((r) => r.killed && /threw/.test(r.report ?? '')).length;
  const rows = BATCH_MUTANT_KINDS.map((kind) => {
    const rs = results.filter((r) => r.kind === kind);
    const k = rs.filter((r) => r.killed).length;
    const how = `${k - byError(rs)} by a value difference, ${byError(rs)} by an error`;
    return `  ${kind.padEnd(28)} ${String(k).padStart(3)}/${String(rs.length).padEnd(3)} (${how})`;
  });
  console.log(
    `[batching mutation] killed ${killed}/${results.length} batching-rule mutants (${rate}%); ` +
      `${NUM_RUNS} cases per mutant at most, seed ${FC_SEED}\n` +
      rows.join('\n'),
  );
});
