/**
 * The WebGPU test harness: get a WebGPU device on whatever adapter this
 * machine has (default: the software adapter Mesa llvmpipe; override with
 * COTANGENT_WEBGPU_ADAPTER=swiftshader|hardware|auto), print which adapter,
 * and make WebGPU the default backend. Without an adapter the suites skip
 * with a loud message, except under CI=true where they fail.
 */
import * as ct from '../../src/index.js';
import { prng } from '../../laws/numeric.js';

export const ADAPTER = (process.env.COTANGENT_WEBGPU_ADAPTER as ct.AdapterChoice | undefined) ?? 'llvmpipe';

let announced = false;

/** True when WebGPU is up (and the default backend); false (after a loud warning) when not. Throws under CI=true. */
export async function acquireGpu(): Promise<boolean> {
  try {
    await ct.init({ backend: 'webgpu', webgpu: { adapter: ADAPTER } });
  } catch (e) {
    const msg =
      `\n${'!'.repeat(78)}\n!! WebGPU tests SKIPPED: no WebGPU adapter (${ADAPTER}).\n!! ` +
      `${(e as Error).message.split('\n').join('\n!! ')}\n!! Run as root: bash scripts/setup-software-gpu.sh\n${'!'.repeat(78)}\n`;
    if (process.env.CI === 'true') throw new Error(`CI=true and the WebGPU suites cannot run: ${(e as Error).message}`);
    console.warn(msg);
    return false;
  }
  if (!announced) {
    console.log(`[webgpu tests] adapter: ${ct.backendInfo('webgpu')}`);
    announced = true;
  }
  return true;
}

/**
 * For suites that are mostly CPU but have a WebGPU part: acquire the GPU like
 * the WebGPU suites (loud skip, or failure under CI=true), then leave the CPU
 * as the default backend. Returns whether the WebGPU part can run.
 */
export async function acquireGpuKeepCpuDefault(): Promise<boolean> {
  try {
    return await acquireGpu();
  } finally {
    await ct.init({ backend: 'cpu' });
  }
}

/** Run `fn` with the CPU as the default backend (reference computations), then switch back. */
export async function onCpu<T>(fn: () => T): Promise<T> {
  await ct.init({ backend: 'cpu' });
  try {
    return fn();
  } finally {
    await ct.init({ backend: 'webgpu', webgpu: { adapter: ADAPTER } });
  }
}

/** A deterministic PRNG for test data (the law kit's mulberry32). */
export const rng = prng;

export type Domain = 'any' | 'pos' | 'small' | 'ints' | 'bits' | 'nonzero';

/** n values from a domain: any [-3,3], pos [0.1,3], small [-1,1], ints {-2..2}, bits {0,1}, nonzero ±[0.5,3]. */
export function values(n: number, seed: number, domain: Domain = 'any'): number[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const u = r();
    switch (domain) {
      case 'any':
        return u * 6 - 3;
      case 'pos':
        return 0.1 + u * 2.9;
      case 'small':
        return u * 2 - 1;
      case 'ints':
        return Math.floor(u * 5) - 2;
      case 'bits':
        return u < 0.5 ? 0 : 1;
      case 'nonzero':
        return (r() < 0.5 ? -1 : 1) * (0.5 + u * 2.5);
      default:
        throw new Error(`values: unknown domain '${domain satisfies never}'`);
    }
  });
}

export interface Tol {
  rtol: number;
  atol: number;
}

/** First index where |actual - expected| > atol + rtol·|expected| (NaN matches NaN), or -1. */
export function mismatch(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tol): number {
  if (actual.length !== expected.length) return 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (Number.isNaN(e) && Number.isNaN(a)) continue;
      return i;
    }
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      if (a === e) continue;
      return i;
    }
    if (Math.abs(a - e) > tol.atol + tol.rtol * Math.abs(e)) return i;
  }
  return -1;
}

/** Assert-style closeness with a message showing the first bad element. */
export function closeMessage(label: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tol): string | null {
  const i = mismatch(actual, expected, tol);
  if (i < 0) return null;
  if (actual.length !== expected.length) return `${label}: length ${actual.length} vs expected ${expected.length}`;
  return `${label}: element ${i}: got ${actual[i]}, expected ${expected[i]} (rtol ${tol.rtol}, atol ${tol.atol})`;
}
