/**
 * Graph building. A GraphTrace records every primitive application as an
 * equation on named variables, using only shape rules (abstract evaluation):
 * no data is computed. The result is the computation DAG as plain data.
 */
import type { Backend } from '../backends/Backend.js';
import type { Aval } from '../tensor/Aval.js';
import type { Tensor } from '../tensor/Tensor.js';
import { describe } from '../tensor/format.js';
import { ValueError } from '../tensor/ShapeError.js';
import { isCustomCall, type Bindable } from './Primitive.js';
import { avalOf, Trace, Tracer } from './trace.js';

/** A variable of a {@link Graph}: its name in the printed graph, shape and dtype. */
export interface GraphVar {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: string;
}

/** One equation of a {@link Graph}: `output = prim[params](...inputs)`. */
export interface GraphEqn {
  readonly prim: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly inputs: readonly GraphVar[];
  readonly output: GraphVar;
}

/** A tensor captured by the traced function (not an argument), as a variable of the graph. */
export interface GraphConst {
  readonly var: GraphVar;
  /** The constant's value (the tensor captured by the function). */
  readonly value: Tensor;
}

/** The DAG of primitive applications of a function, as plain data. */
export interface Graph {
  readonly inputs: readonly GraphVar[];
  readonly consts: readonly GraphConst[];
  readonly eqns: readonly GraphEqn[];
  readonly outputs: readonly GraphVar[];
}

/** A graph value: a named variable with a shape and dtype, no data. */
export class GraphTracer extends Tracer {
  constructor(
    readonly trace: GraphTrace,
    readonly aval: Aval,
    readonly v: GraphVar,
  ) {
    super();
  }
  get shape() {
    return this.aval.shape;
  }
  get dtype() {
    return this.aval.dtype;
  }
  primalValue(): undefined {
    return undefined;
  }

  override dataSync(): never {
    throw new ValueError('dataSync', this.readError());
  }

  override data(): Promise<never> {
    return Promise.reject(new ValueError('data', this.readError()));
  }

  private readError(): string {
    return this.trace.readError ?? `cannot read the abstract value ${describe(this.dtype, this.shape)} while building a graph`;
  }
}

const varName = (i: number): string => {
  let s = '';
  let n = i;
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return s;
};

/** Graph building: records every primitive application as an equation, by shape rules alone. */
export class GraphTrace extends Trace {
  readonly kind = 'graph';
  /** What reading a value of this trace says (jit explains why and what to do instead). */
  readError: string | undefined = undefined;
  /** The backend the graph is built for (jit): where constants made while tracing are placed. */
  backend: Backend | undefined = undefined;
  readonly eqns: GraphEqn[] = [];
  readonly consts: GraphConst[] = [];
  private readonly constVars = new Map<Tensor, GraphVar>();
  private count = 0;

  fresh(aval: Aval): GraphVar {
    return { name: varName(this.count++), shape: [...aval.shape], dtype: aval.dtype };
  }

  input(aval: Aval): GraphTracer {
    return new GraphTracer(this, aval, this.fresh(aval));
  }

  varOf(x: Tensor): GraphVar {
    if (x instanceof GraphTracer && x.trace === this) return x.v;
    let v = this.constVars.get(x);
    if (!v) {
      v = this.fresh(avalOf(x));
      this.constVars.set(x, v);
      this.consts.push({ var: v, value: x });
    }
    return v;
  }

  process(prim: Bindable, inputs: readonly Tensor[], params: unknown): Tensor {
    if (isCustomCall(prim)) return prim.impl(inputs, params); // custom calls are inlined into the graph
    const vars = inputs.map((x) => this.varOf(x));
    const aval = prim.shape(inputs.map(avalOf), params);
    const output = this.fresh(aval);
    this.eqns.push({ prim: prim.name, params: { ...(params as object) }, inputs: vars, output });
    return new GraphTracer(this, aval, output);
  }
}
