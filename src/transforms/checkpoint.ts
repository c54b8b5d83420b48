/**
 * `checkpoint(f)` (alias `remat`): rematerialisation. Under reverse mode the
 * tape keeps only the inputs and outputs of `f`, not its intermediates; the
 * backward pass runs `f` again (with a VJP) from its inputs. This trades
 * compute (one more forward pass of each checkpointed block) for memory:
 * a long chain cut into checkpointed blocks holds one block's intermediates
 * at a time instead of the whole chain's.
 *
 * How: each call traces `f` abstractly into a small program (its primitive
 * applications, custom calls kept whole so their own rules still apply), in
 * which tensors of enclosing transformations that `f` captures become
 * explicit inputs. The program's outputs, grouped by dtype and packed into
 * one 1-D tensor per group, are the result of one custom call per group,
 * whose impl runs the program, whose JVP rule runs `jvp` of it and whose VJP
 * rule runs `vjp` of it on the recorded inputs. On concrete values (no
 * transformation watching) the intermediates are freed as soon as the
 * program or its VJP has run.
 */
import { GraphTrace, GraphTracer, type GraphVar } from '../core/graphTrace.js';
import { scopeFreeing } from '../core/memory.js';
import type { Bindable, CustomCall } from '../core/Primitive.js';
import { flatten, unflatten } from '../core/pytree.js';
import { avalOf, bind, Tracer } from '../core/trace.js';
import { isZero, Zero, type MaybeZero } from '../core/Zero.js';
import { isFloat, type DType } from '../tensor/dtype.js';
import { ValueError } from '../tensor/ShapeError.js';
import { Tensor } from '../tensor/Tensor.js';
import { backendOf } from '../ops/creation.js';
import { concat, reshape, slice } from '../ops/structural.js';
import type { Fn } from './argnums.js';
import { jvp as jvpTransform } from './jvp.js';
import { vjp as vjpTransform } from './vjp.js';

/** One application in a traced program: the record itself (primitive or custom call) and its parameters. */
interface Step {
  readonly prim: Bindable;
  readonly params: unknown;
  readonly inputs: readonly GraphVar[];
  readonly output: GraphVar;
}

/** A traced function: inputs (arguments' tensor leaves, then captured tensors), constants, steps, outputs. */
interface Program {
  readonly inputs: readonly GraphVar[];
  readonly consts: readonly { readonly var: GraphVar; readonly value: Tensor }[];
  readonly steps: readonly Step[];
  readonly outputs: readonly GraphVar[];
}

/**
 * A graph trace that records every application with its record and
 * parameters, custom calls included (a plain graph trace inlines them), so
 * that running the program again applies the same rules.
 */
class ProgramTrace extends GraphTrace {
  readonly steps: Step[] = [];

  override process(prim: Bindable, inputs: readonly Tensor[], params: unknown): Tensor {
    const vars = inputs.map((x) => this.varOf(x));
    const aval = prim.shape(inputs.map(avalOf), params);
    const output = this.fresh(aval);
    this.steps.push({ prim, params, inputs: vars, output });
    return new GraphTracer(this, aval, output);
  }
}

/** Run a program on its inputs (tensors of any level: the applications go through `bind`). */
function runProgram(p: Program, inputs: readonly Tensor[]): Tensor[] {
  const env = new Map<string, Tensor>();
  p.inputs.forEach((v, i) => {
    env.set(v.name, inputs[i]!);
  });
  for (const c of p.consts) env.set(c.var.name, c.value);
  for (const s of p.steps)
    env.set(
      s.output.name,
      bind(
        s.prim,
        s.inputs.map((v) => env.get(v.name)!),
        s.params,
      ),
    );
  return p.outputs.map((v) => env.get(v.name)!);
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Outputs of one dtype as one tensor: the output itself when alone, else their flattened concatenation. */
function pack(ts: readonly Tensor[]): Tensor {
  if (ts.length === 1) return ts[0]!;
  return concat(
    ts.map((t) => reshape(t, [t.size])),
    0,
  );
}

function unpack(packed: Tensor, like: readonly GraphVar[]): Tensor[] {
  if (like.length === 1) return [packed];
  let at = 0;
  return like.map((v) => {
    const n = sizeOf(v.shape);
    const part = reshape(slice(packed, [at], [n]), v.shape);
    at += n;
    return part;
  });
}

const floatIndices = (xs: readonly Tensor[]): number[] => xs.flatMap((x, i) => (isFloat(x.dtype) ? [i] : []));
const anyTracer = (xs: readonly Tensor[]): boolean => xs.some((x) => x instanceof Tracer);

/**
 * The custom call computing outputs `idx` of the program (all of dtype
 * `dtype`), packed. Its rules re-run the program from the recorded inputs.
 */
function groupCall(name: string, p: Program, idx: readonly number[], dtype: DType): CustomCall<Record<string, never>> {
  const outs = idx.map((i) => p.outputs[i]!);
  const shape = outs.length === 1 ? [...outs[0]!.shape] : [outs.reduce((n, v) => n + sizeOf(v.shape), 0)];
  const run = (ins: readonly Tensor[]): Tensor => {
    const all = runProgram(p, ins);
    return pack(idx.map((i) => all[i]!));
  };
  /** The program as a function of the float inputs at `wrt`, the others held at `primals`. */
  const at =
    (primals: readonly Tensor[], wrt: readonly number[]) =>
    (...w: Tensor[]): Tensor => {
      const full = [...primals];
      wrt.forEach((i, k) => {
        full[i] = w[k]!;
      });
      return run(full);
    };
  return {
    name,
    shape: () => ({ shape, dtype }),
    declared: { kind: 'rules' },
    // on concrete inputs nothing records the intermediates: free them as soon as the output exists
    impl: (ins) => (anyTracer(ins) ? run(ins) : scopeFreeing(() => run(ins))),
    jvp: (primals, tangents): MaybeZero => {
      if (!isFloat(dtype)) return Zero;
      const wrt = floatIndices(primals).filter((i) => !isZero(tangents[i]!));
      if (wrt.length === 0) return Zero;
      const ts = wrt.map((i) => tangents[i] as Tensor);
      return jvpTransform(
        at(primals, wrt),
        wrt.map((i) => primals[i]!),
        ts,
      )[1];
    },
    vjp: (cot, primals, _params, _out, needed) => {
      const wrt = floatIndices(primals).filter((i) => needed[i]);
      if (wrt.length === 0 || !isFloat(dtype)) return primals.map((): MaybeZero => Zero);
      // the rematerialisation: the forward pass of the block again, taped, then its backward pass
      const backward = (): Tensor[] => {
        const [, pullback] = vjpTransform(at(primals, wrt), ...wrt.map((i) => primals[i]!));
        return pullback(cot);
      };
      const cts = anyTracer([cot, ...primals]) ? backward() : scopeFreeing(backward);
      const out: MaybeZero[] = primals.map((): MaybeZero => Zero);
      wrt.forEach((i, k) => {
        out[i] = cts[k]!;
      });
      return out;
    },
  };
}

let counter = 0;

/**
 * `checkpoint(f)`: `f` (same arguments and results, pytrees of tensors)
 * whose intermediates reverse mode does not keep: the tape holds only its
 * inputs and outputs, and the backward pass recomputes its forward pass from
 * the inputs. Outside transformations it computes `f`; forward mode, nesting
 * (a checkpoint inside a checkpoint) and higher-order derivatives work.
 * `f` is traced abstractly at each call (it cannot read tensor values); the
 * tensors it captures from an enclosing transformation are differentiated
 * as usual.
 *
 * @example
 * // 8 blocks of 8 layers: the gradient keeps 8 block inputs instead of 64 layers' activations
 * const block = ct.checkpoint((h: ct.Tensor, ws: ct.Tensor[]) => ws.reduce((a, w) => ct.tanh(ct.matmul(a, w)), h));
 * const loss = (x: ct.Tensor) => ct.sum(blocks.reduce((h, ws) => block(h, ws), x));
 * const dx = ct.grad(loss)(x);
 */
export function checkpoint<F extends Fn>(f: F): F {
  if (typeof f !== 'function') throw new ValueError('checkpoint', 'expects a function');
  const name = `checkpoint(${f.name || 'anonymous'})#${++counter}`;
  const wrapped = (...args: unknown[]): unknown => {
    const { leaves, def } = flatten(args);
    const trace = new ProgramTrace();
    trace.readError = `${name}: the function is traced abstractly and cannot read tensor values (dataSync / data)`;
    // constants f makes while traced live where its arguments do
    const first = leaves.find((l): l is Tensor => l instanceof Tensor);
    if (first) trace.backend = backendOf(first);
    let outLeaves: unknown[];
    let outDef: ReturnType<typeof flatten>['def'];
    let program: Program;
    let callInputs: Tensor[];
    try {
      const inputs = leaves.map((l) => (l instanceof Tensor ? trace.input(avalOf(l)) : l));
      const result = f(...unflatten<unknown[]>(def, inputs));
      const o = flatten(result);
      outLeaves = o.leaves;
      outDef = o.def;
      const outputs = o.leaves.flatMap((y) => (y instanceof Tensor ? [trace.varOf(y)] : []));
      // tensors of enclosing transformations that f captured: explicit inputs, so their derivatives flow
      const captured = trace.consts.filter((c) => c.value instanceof Tracer);
      const consts = trace.consts.filter((c) => !(c.value instanceof Tracer));
      program = {
        inputs: [...inputs.filter((x): x is GraphTracer => x instanceof GraphTracer).map((x) => x.v), ...captured.map((c) => c.var)],
        consts,
        steps: [...trace.steps],
        outputs,
      };
      callInputs = [...leaves.filter((l): l is Tensor => l instanceof Tensor), ...captured.map((c) => c.value)];
    } finally {
      trace.active = false;
    }
    // one custom call per output dtype
    const groups = new Map<DType, number[]>();
    program.outputs.forEach((v, i) => {
      const d = v.dtype as DType;
      const g = groups.get(d);
      if (g) g.push(i);
      else groups.set(d, [i]);
    });
    const values: Tensor[] = new Array(program.outputs.length);
    for (const [dtype, idx] of groups) {
      const packed = bind(groupCall(name, program, idx, dtype), callInputs, {});
      const parts = unpack(
        packed,
        idx.map((i) => program.outputs[i]!),
      );
      idx.forEach((i, k) => {
        values[i] = parts[k]!;
      });
    }
    let k = 0;
    return unflatten(
      outDef,
      outLeaves.map((y) => (y instanceof Tensor ? values[k++]! : y)),
    );
  };
  Object.defineProperty(wrapped, 'name', { value: name });
  return wrapped as F;
}

/** The same as {@link checkpoint}. */
export const remat = checkpoint;
