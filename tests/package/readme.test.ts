/**
 * The README says what is true: every name its code samples and API lists
 * use exists where they say it does (`ct.X` in the root, `nn.X` in
 * cotangent/nn, `arb.X` in the laws' arbitraries, named imports from each
 * entry point, the arbitraries, predicates and checkers listed in the Laws
 * section), the quoted error messages are the library's, and the setup
 * instructions work on a machine without sudo.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import * as nn from '../../src/nn/index.js';
import * as io from '../../src/io/index.js';
import * as laws from '../../laws/index.js';

const root = resolve(__dirname, '../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const entryPoints: Record<string, object> = { cotangent: ct, 'cotangent/nn': nn, 'cotangent/io': io, 'cotangent/laws': laws };
const codeBlocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
/** The text between a heading (or bold lead-in) and the next blank-line paragraph break. */
const paragraph = (lead: string): string => {
  const start = readme.indexOf(lead);
  if (start < 0) throw new Error(`README has no '${lead}'`);
  const end = readme.indexOf('\n\n', start);
  return readme.slice(start, end < 0 ? undefined : end);
};
const ticked = (text: string): string[] => [...text.matchAll(/`([A-Za-z_][A-Za-z0-9_]*)`/g)].map((m) => m[1]!);

/** `ns.a.b` paths used in the samples and the prose, resolved against `module` (a missing step is reported). */
function missingPaths(ns: string, module: object, text: string): string[] {
  const missing = new Set<string>();
  for (const m of text.matchAll(new RegExp(`(?<![\\w.])${ns}\\.([A-Za-z_][\\w]*(?:\\.[A-Za-z_][\\w]*)*)`, 'g'))) {
    let v: unknown = module;
    for (const step of m[1]!.split('.')) {
      if (v === null || (typeof v !== 'object' && typeof v !== 'function') || !(step in (v as object))) {
        // a step into a value's own members (a tensor's shape, a result's fields) is not an export
        if (v !== module && (typeof v === 'function' || v === undefined)) break;
        missing.add(`${ns}.${m[1]}`);
        break;
      }
      v = (v as Record<string, unknown>)[step];
      if (typeof v === 'function' && !/^[A-Z]/.test(step)) break; // a function's result is not checked
    }
  }
  return [...missing];
}

describe('the README', () => {
  it('uses only names the package exports (ct.X, nn.X, arb.X, named imports)', () => {
    const all = `${codeBlocks.join('\n')}\n${readme}`;
    // type-only exports (ct.WgslKernel) have no runtime value: look for them in the entry point's source
    const typeExport = (file: string) => (path: string) =>
      !new RegExp(`export type \\{[^}]*\\b${path.split('.')[1]}\\b|\\btype ${path.split('.')[1]}\\b`).test(
        readFileSync(join(root, file), 'utf8'),
      );
    expect(missingPaths('ct', ct, all).filter(typeExport('src/index.ts'))).toEqual([]);
    expect(missingPaths('nn', nn, all).filter(typeExport('src/nn/index.ts'))).toEqual([]);
    expect(missingPaths('arb', laws.arb, all)).toEqual([]);
    const imports = codeBlocks.flatMap((b) =>
      [...b.matchAll(/import \{([^}]+)\} from '([^']+)'/g)].map(
        (m) =>
          [
            m[2]!,
            m[1]!
              .split(',')
              .map(
                (s) =>
                  s
                    .trim()
                    .replace(/^type /, '')
                    .split(' as ')[0]!,
              )
              .filter(Boolean),
          ] as const,
      ),
    );
    expect(imports.length).toBeGreaterThan(0);
    const missing = imports.flatMap(([from, names]) =>
      from in entryPoints ? names.filter((n) => !(n in entryPoints[from]!)).map((n) => `${n} from '${from}'`) : [],
    );
    expect(missing).toEqual([]);
  });

  it('lists laws, checkers, arbitraries and fuzzing helpers that cotangent/laws exports', () => {
    const arbitraries = ticked(paragraph('**Arbitraries** (`arb`)').split(/Whole random programs|Value domains/)[0]!).filter(
      (n) => n !== 'arb',
    );
    expect(arbitraries.length).toBeGreaterThan(5);
    expect(
      arbitraries.filter((n) => !(n in laws.arb)),
      'arbitraries listed under arb',
    ).toEqual([]);
    const lawsSection = readme.slice(readme.indexOf('## Laws'), readme.indexOf('## WebGPU backend'));
    const tableNames = [...lawsSection.matchAll(/^\| .* \| (`.*`) \|$/gm)].flatMap((m) => ticked(m[1]!));
    expect(tableNames.length).toBeGreaterThan(10);
    const listed = [
      ...tableNames,
      ...ticked(paragraph('**Checkers**')).filter((n) => /^check/.test(n)),
      ...ticked(paragraph('**Fuzzing whole programs**')).filter((n) => /^program/.test(n)),
      'mutantsOf',
      'killMutant',
      'builtinCases',
    ];
    expect(
      listed.filter((n) => !(n in laws)),
      'exports of cotangent/laws',
    ).toEqual([]);
  });

  it('quotes the no-WGSL error as the library gives it, and tells to run the GPU setup as root', async () => {
    const quoted = /`(myOp: [^`]*?)( \.\.\.)?`/.exec(readme);
    expect(quoted, 'README quotes the error of a user primitive without a WGSL kernel').not.toBeNull();
    // the message's text (after the op's name) is in the library's source, whatever adapter this machine has
    const detail = quoted![1]!.slice('myOp: '.length);
    const sources = ['src/ops/define.ts', 'src/backends/webgpu/userKernel.ts'].map((f) => readFileSync(join(root, f), 'utf8')).join('\n');
    expect(sources, `README quotes '${detail}'`).toContain(detail);
    const op = ct.definePrimitive({
      name: 'myOp',
      shape: ([x]) => ({ shape: x!.shape, dtype: x!.dtype }),
      cpu: ([x]) => x!.data.map((v) => 2 * v),
      jvp: (_p, [t]) => ct.mul(t!, 2),
      vjp: (c) => [ct.mul(c, 2)],
      domain: { values: 'real' },
    });
    // the error is raised before anything reaches a device: a stand-in WebGPU tensor suffices when no adapter is here
    let message = '';
    try {
      await ct.init({ backend: 'webgpu' });
      try {
        await op(ct.tensor([1, 2])).data();
      } catch (e) {
        message = (e as Error).message;
      } finally {
        await ct.shutdown();
      }
    } catch {
      message = 'no adapter';
    } finally {
      await ct.init({ backend: 'cpu' });
    }
    if (message !== 'no adapter') expect(message.startsWith(quoted![1]!), `README: ${quoted![1]} / library: ${message}`).toBe(true);
    expect(readme).not.toMatch(/sudo bash scripts\/setup-software-gpu\.sh/);
    expect(readme).toMatch(/as root/);
  });
});
