/**
 * Running exported ONNX models for real: ONNX Runtime's WebAssembly build
 * (onnxruntime-web, one thread) on cotangent tensors, and the comparison of
 * its outputs with cotangent's.
 */
import * as ort from 'onnxruntime-web';
import { expect } from 'vitest';
import type * as ct from '../../src/index.js';

ort.env.wasm.numThreads = 1;

const ORT_TYPE = { f32: 'float32', f64: 'float64', i32: 'int32' } as const;

/** An output of ONNX Runtime: its shape, element type (float32, float64, int32, …) and values. */
export interface OrtOutput {
  readonly dims: readonly number[];
  readonly type: string;
  readonly data: readonly number[];
}

/** A cotangent tensor as an ONNX Runtime tensor (same dtype, shape and values). */
export function ortTensor(x: ct.Tensor): ort.Tensor {
  const d = x.dataSync();
  const data = x.dtype === 'f32' ? Float32Array.from(d) : x.dtype === 'f64' ? Float64Array.from(d) : Int32Array.from(d);
  return new ort.Tensor(ORT_TYPE[x.dtype], data, [...x.shape]);
}

/** Load the model bytes in ONNX Runtime and run it on the named inputs; every output by name. */
export async function runOnnx(bytes: Uint8Array, feeds: Readonly<Record<string, ct.Tensor>>): Promise<Record<string, OrtOutput>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const inputs: Record<string, ort.Tensor> = {};
    for (const [k, v] of Object.entries(feeds)) inputs[k] = ortTensor(v);
    const outs = await session.run(inputs);
    const r: Record<string, OrtOutput> = {};
    for (const [k, v] of Object.entries(outs))
      r[k] = { dims: [...v.dims], type: v.type, data: Array.from(v.data as ArrayLike<number>, Number) };
    return r;
  } finally {
    await session.release();
  }
}

/** A tolerance: |got − want| ≤ atol · max(1, max |want|) + rtol · |want|. */
export interface Tol {
  readonly rtol: number;
  readonly atol: number;
}

/** The tolerance of each dtype. */
export const TOL: Readonly<Record<ct.DType, Tol>> = {
  f32: { rtol: 2e-5, atol: 2e-6 },
  f64: { rtol: 1e-12, atol: 1e-13 },
  i32: { rtol: 0, atol: 0 },
};

/** ONNX Runtime's output equals cotangent's tensor: shape, element type and values within the dtype's tolerance. */
export function expectSame(got: OrtOutput | undefined, want: ct.Tensor, label: string, tol: Tol = TOL[want.dtype]): void {
  expect(got, `${label}: no output`).toBeDefined();
  const g = got!;
  expect(g.dims, `${label}: shape`).toEqual([...want.shape]);
  expect(g.type, `${label}: element type`).toBe(ORT_TYPE[want.dtype]);
  const w = want.dataSync();
  const scale = Math.max(1, ...Array.from(w, (v) => (Number.isFinite(v) ? Math.abs(v) : 0)));
  for (let i = 0; i < w.length; i++) {
    const a = g.data[i]!;
    const b = w[i]!;
    const ok = Object.is(a, b) || Math.abs(a - b) <= tol.atol * scale + tol.rtol * Math.abs(b);
    if (!ok) expect.fail(`${label}: element ${i} of ${w.length}: ONNX Runtime ${a}, cotangent ${b}`);
  }
}
