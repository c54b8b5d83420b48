/**
 * Backend equivalence: the same function evaluated on two backends (by
 * default CPU in f64 as the reference, WebGPU in f32 as the candidate) gives
 * the same values within the candidate dtype's tolerance. Generic over the
 * backends and dtypes, so any backend can be checked against the oracle.
 */
import * as ct from '../src/index.js';
import type { TensorSpec } from './cases.js';
import { compare, F32_TOL, tolFor, type Tolerance } from './numeric.js';
import { pass, type LawResult } from './result.js';

/** One side of a backend comparison: the backend and the dtype to run in. */
export interface BackendSide {
  readonly backend: ct.BackendName;
  readonly dtype: ct.DType;
}

/** Options of the backend equivalence checks: reference and candidate sides and the tolerance. */
export interface BackendEquivalenceOptions {
  readonly reference?: BackendSide;
  readonly candidate?: BackendSide;
  /** Default: the tolerance of the less precise dtype (f32: rtol 2e-4, atol 1e-5). */
  readonly tol?: Tolerance;
}

/** Law: the candidate's results equal the reference's results (pure comparison of read-back values). */
export function resultsAgree(
  reference: ArrayLike<number>,
  candidate: ArrayLike<number>,
  shape: readonly number[],
  tol: Tolerance = F32_TOL,
  label = 'backend equivalence',
): LawResult {
  const worst = compare(reference, candidate, shape, tol);
  if (!worst) return pass(label);
  return {
    ok: false,
    law: label,
    suspect: 'backend',
    message: `the candidate backend's values differ from the reference`,
    expectedLabel: 'reference',
    actualLabel: 'candidate',
    expected: Array.from(reference),
    actual: Array.from(candidate),
    worst,
  };
}

const leaves = (y: unknown): ct.Tensor[] => ct.treeLeaves(y as never).filter((l): l is ct.Tensor => l instanceof ct.Tensor);

/**
 * Law: `f` on inputs built on the reference backend and on the candidate
 * backend (each in its dtype) returns the same values, output by output.
 */
export async function backendsAgree(
  f: (...xs: ct.Tensor[]) => unknown,
  inputs: readonly TensorSpec[],
  opts: BackendEquivalenceOptions = {},
): Promise<LawResult> {
  const law = 'backend equivalence';
  const ref = opts.reference ?? { backend: 'cpu', dtype: 'f64' };
  const cand = opts.candidate ?? { backend: 'webgpu', dtype: 'f32' };
  const tol = opts.tol ?? (tolFor(ref.dtype).rtol > tolFor(cand.dtype).rtol ? tolFor(ref.dtype) : tolFor(cand.dtype));
  const run = async (side: BackendSide) => {
    const xs = inputs.map((s) =>
      ct.tensor(Float64Array.from(s.values), { shape: [...s.shape], dtype: s.dtype === 'i32' ? 'i32' : side.dtype, backend: side.backend }),
    );
    const ys = leaves(f(...xs));
    return Promise.all(ys.map(async (y) => ({ shape: y.shape, values: Array.from(await y.data()) })));
  };
  let a: { shape: readonly number[]; values: number[] }[];
  let b: typeof a;
  try {
    a = await run(ref);
  } catch (e) {
    return {
      ok: false,
      law,
      suspect: 'kernel',
      message: `the reference (${ref.backend}/${ref.dtype}) threw ${(e as Error).name}: ${(e as Error).message}`,
    };
  }
  try {
    b = await run(cand);
  } catch (e) {
    return {
      ok: false,
      law,
      suspect: 'backend',
      message: `the candidate (${cand.backend}/${cand.dtype}) threw ${(e as Error).name}: ${(e as Error).message}`,
    };
  }
  if (a.length !== b.length)
    return { ok: false, law, suspect: 'backend', message: `the reference returned ${a.length} tensors, the candidate ${b.length}` };
  for (let i = 0; i < a.length; i++) {
    if (JSON.stringify(a[i]!.shape) !== JSON.stringify(b[i]!.shape)) {
      return {
        ok: false,
        law,
        suspect: 'backend',
        message: `output ${i}: reference shape [${a[i]!.shape.join(',')}], candidate [${b[i]!.shape.join(',')}]`,
      };
    }
    const r = resultsAgree(a[i]!.values, b[i]!.values, a[i]!.shape, tol, law);
    if (!r.ok) return { ...r, message: `output ${i}: ${r.message} (${ref.backend}/${ref.dtype} vs ${cand.backend}/${cand.dtype})` };
  }
  return pass(law);
}
