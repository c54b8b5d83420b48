/**
 * The interpreter stack. Every op calls `bind(prim, inputs, params)`. When an
 * input is a Tracer, the trace with the highest level among the inputs
 * processes the application (JVP, VJP recording, graph building); values of
 * lower levels are constants to it. Levels come from a global counter, so a
 * nested transformation never confuses its perturbation with an outer one.
 * With only concrete inputs the primitive is evaluated on its backend.
 */
import type { Aval } from '../tensor/Aval.js';
import type { TypedArray } from '../tensor/dtype.js';
import { describe } from '../tensor/format.js';
import { checkTensorLimit } from '../tensor/shape.js';
import { ValueError } from '../tensor/ShapeError.js';
import { Tensor } from '../tensor/Tensor.js';
import { ConcreteTensor } from './ConcreteTensor.js';
import { countKernelCall, debugOptions, NumericsError } from './debug.js';
import { isCustomCall, type Bindable, type CustomCall, type Primitive } from './Primitive.js';

type CustomCallOf<P> = CustomCall<P>;

let levelCounter = 0;

/**
 * An interpretation level: one transformation (or the graph builder) in progress, which processes every primitive applied to its tracers.
 */
export abstract class Trace {
  readonly level = ++levelCounter;
  active = true;
  abstract readonly kind: string;
  abstract process(prim: Bindable, inputs: readonly Tensor[], params: unknown): Tensor;
}

/** A tensor seen by a transformation: it belongs to one trace, which interprets every op applied to it. */
export abstract class Tracer extends Tensor {
  abstract readonly trace: Trace;
  /** The value one level down (what `data()` reads); undefined for abstract graph values. */
  abstract primalValue(): Tensor | undefined;

  get backendName(): string | undefined {
    return undefined;
  }

  data(): Promise<TypedArray> {
    const p = this.primalValue();
    if (!p)
      return Promise.reject(
        new ValueError('data', `cannot read the abstract value ${describe(this.dtype, this.shape)} while building a graph`),
      );
    return p.data();
  }

  dataSync(): TypedArray {
    const p = this.primalValue();
    if (!p) throw new ValueError('dataSync', `cannot read the abstract value ${describe(this.dtype, this.shape)} while building a graph`);
    return p.dataSync();
  }

  dispose(): void {
    /* tracers own no buffer */
  }

  /** Values a scope must keep alive when this tracer is returned from it. */
  retained(): unknown[] {
    return [this.primalValue()];
  }

  override toString(): string {
    const p = this.primalValue();
    return `Tracer<${this.trace.kind}@${this.trace.level}>(${describe(this.dtype, this.shape)}${p ? `, primal ${p.toString()}` : ''})`;
  }
}

/** The abstract value (shape and dtype) of a tensor. */
export const avalOf = (t: Tensor): Aval => ({ shape: t.shape, dtype: t.dtype });

/** Apply a primitive to inputs: dispatch to the top trace, or evaluate. */
export function bind<P>(prim: Bindable<P>, inputs: readonly Tensor[], params: P): Tensor {
  let top: Trace | null = null;
  for (const x of inputs) {
    if (x instanceof Tracer) {
      if (!x.trace.active) {
        throw new ValueError(
          prim.name,
          `a ${x.trace.kind} tracer escaped its transformation (a value from inside jvp/grad/... was used after that ` +
            'transformation returned)',
        );
      }
      if (!top || x.trace.level > top.level) top = x.trace;
    }
  }
  if (top) return top.process(prim as Bindable, inputs, params);
  if (isCustomCall(prim as Bindable)) return (prim as CustomCallOf<P>).impl(inputs, params); // run its ops (core/custom.ts)
  return evaluate(prim as Primitive<P>, inputs as ConcreteTensor[], params);
}

/** Evaluate a primitive on concrete tensors with their backend. */
export function evaluate<P>(prim: Primitive<P>, inputs: readonly ConcreteTensor[], params: P): ConcreteTensor {
  if (inputs.length === 0) throw new ValueError(prim.name, 'a primitive needs at least one input');
  const backend = inputs[0]!.backend;
  for (const x of inputs) {
    if (x.backend !== backend) {
      throw new ValueError(
        prim.name,
        `inputs live on different backends (${inputs.map((i) => i.backendName).join(', ')}); move them with toBackend()`,
      );
    }
  }
  // the backends are checked first: a wasm f32 tensor beside a cpu f64 one is a placement error, not a dtype mismatch
  const out = prim.shape(inputs.map(avalOf), params);
  if (!backend.supports(out.dtype)) throw new ValueError(prim.name, `the ${backend.name} backend does not support dtype ${out.dtype}`);
  checkTensorLimit(prim.name, out.shape, out.dtype); // before the kernel allocates its output
  countKernelCall();
  const storage = backend.run<P>({
    name: prim.name,
    params,
    inputs: inputs.map((x) => ({ shape: x.shape, dtype: x.dtype, storage: x.storageFor(prim.name) })),
    out,
    cpu: (xs, p, aval) => prim.cpu(xs, p, aval),
    webgpu: prim.webgpu,
    wasm: prim.wasm,
    wgsl: prim.wgsl,
  });
  const result = new ConcreteTensor(backend, storage, out.shape, out.dtype);
  if (debugOptions().checkNumerics && (backend.name === 'cpu' || backend.name === 'wasm') && out.dtype !== 'i32')
    checkNumerics(prim, inputs, result);
  return result;
}

function finite(a: TypedArray): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return false;
  return true;
}

function checkNumerics(prim: Primitive<never>, inputs: readonly ConcreteTensor[], out: ConcreteTensor): void {
  if (finite(out.dataSync())) return;
  if (inputs.every((x) => finite(x.dataSync()))) {
    throw new NumericsError(
      prim.name,
      `produced a non-finite value from finite inputs ${inputs.map((x) => describe(x.dtype, x.shape)).join(', ')} (checkNumerics)`,
    );
  }
}
