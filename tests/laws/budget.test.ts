/**
 * The run budget: FC_SCALE scales exactly the heavy property suites listed in
 * budget.ts (and nothing else), and a malformed FC_SCALE is an error rather
 * than a NaN run count under which fast-check would check nothing.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScale, runs, scale, SCALED_SUITES } from './budget.js';

const root = join(import.meta.dirname, '..', '..');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('run budget (FC_SCALE)', () => {
  it('parses FC_SCALE: unset is 1, a positive number scales, anything else is an error', () => {
    expect(parseScale(undefined)).toBe(1);
    expect(parseScale('')).toBe(1);
    expect(parseScale('20')).toBe(20);
    expect(parseScale('0.5')).toBe(0.5);
    for (const bad of ['x', '20x', '0', '-3', 'Infinity', 'NaN']) {
      expect(() => parseScale(bad), bad).toThrow(
        `FC_SCALE must be a positive number (the factor on the run counts of the heavy property suites), got '${bad}'`,
      );
    }
  });

  it('runs(n) is n × FC_SCALE, rounded, at least 1', () => {
    expect(runs(60)).toBe(Math.max(1, Math.round(60 * scale)));
    expect(Number.isInteger(runs(7))).toBe(true);
    expect(runs(1)).toBeGreaterThanOrEqual(1);
  });

  it('scales exactly the suites it lists: kit, custom, layers and examples keep their own run counts', () => {
    const importers = files(join(root, 'tests'))
      .filter((f) => !f.endsWith('budget.ts') && !f.endsWith('budget.test.ts'))
      .filter((f) => /from '(\.\.?\/)+(laws\/)?budget\.js'/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f).split('\\').join('/'))
      .sort();
    expect(importers).toEqual([...SCALED_SUITES].sort());
    for (const kept of ['kit', 'custom', 'layers', 'examples']) expect(importers).not.toContain(`tests/laws/${kept}.test.ts`);
  });
});
