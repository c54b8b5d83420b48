/**
 * Reverse mode. A VjpTrace records, on a tape, each primitive application
 * that involves one of its tracers (applications on constants are evaluated
 * and not recorded). `backward` walks the tape in reverse, calling each
 * primitive's VJP rule and accumulating cotangents; nodes no cotangent
 * reaches are skipped, so symbolic zeros cost nothing. VJP rules run with ops
 * on the recorded primals, one level down, so they can themselves be traced by
 * an enclosing transformation (higher-order derivatives).
 */
import { describe } from '../tensor/format.js';
import { shapesEqual } from '../tensor/shape.js';
import { ShapeError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import type { Bindable } from './Primitive.js';
import { bind, Trace, Tracer } from './trace.js';
import { isZero } from './Zero.js';

/** A reverse-mode value: its primal and its node on the tape. */
export class VjpTracer extends Tracer {
  constructor(
    readonly trace: VjpTrace,
    readonly primal: Tensor,
    readonly node: number,
  ) {
    super();
  }
  get shape() {
    return this.primal.shape;
  }
  get dtype() {
    return this.primal.dtype;
  }
  primalValue(): Tensor {
    return this.primal;
  }
}

interface TapeNode {
  readonly prim: Bindable | null; // null for an input (leaf)
  readonly params: unknown;
  readonly inputs: readonly number[]; // node ids, -1 for constants
  readonly primals: readonly Tensor[];
  readonly out: Tensor;
}

/** Reverse mode: applies each primitive to the primals and records it on a tape that the VJP rules run back along. */
export class VjpTrace extends Trace {
  readonly kind = 'vjp';
  private readonly nodes: TapeNode[] = [];

  /** `add` accumulates the cotangents that reach one value along several paths (given by the transformation that builds the tape). */
  constructor(private readonly add: (a: Tensor, b: Tensor) => Tensor) {
    super();
  }

  input(primal: Tensor): VjpTracer {
    this.nodes.push({ prim: null, params: null, inputs: [], primals: [], out: primal });
    return new VjpTracer(this, primal, this.nodes.length - 1);
  }

  process(prim: Bindable, inputs: readonly Tensor[], params: unknown): Tensor {
    const ids = inputs.map((x) => (x instanceof VjpTracer && x.trace === this ? x.node : -1));
    const primals = inputs.map((x, i) => (ids[i]! >= 0 ? (x as VjpTracer).primal : x));
    const out = bind(prim, primals, params);
    if (ids.every((id) => id < 0)) return out;
    this.nodes.push({ prim, params, inputs: ids, primals, out });
    return new VjpTracer(this, out, this.nodes.length - 1);
  }

  /** Cotangents of the given input nodes, seeded with `seeds` (node id -> cotangent). */
  backward(seeds: ReadonlyMap<number, Tensor>, wanted: readonly number[]): Map<number, Tensor> {
    const add = this.add;
    const ct = new Map<number, Tensor>();
    const accumulate = (id: number, c: Tensor) => {
      const prev = ct.get(id);
      ct.set(id, prev ? add(prev, c) : c);
    };
    for (const [id, c] of seeds) accumulate(id, c);
    const want = new Set(wanted);
    const start = Math.max(-1, ...seeds.keys());
    for (let id = start; id >= 0; id--) {
      const node = this.nodes[id]!;
      const c = ct.get(id);
      if (!node.prim || !c) continue;
      if (!want.has(id)) ct.delete(id);
      const needed = node.inputs.map((i) => i >= 0);
      const cts = node.prim.vjp(c, node.primals, node.params, node.out, needed);
      if (cts.length !== node.inputs.length) {
        throw new ShapeError(node.prim.name, `VJP rule returned ${cts.length} cotangents for ${node.inputs.length} inputs`);
      }
      node.inputs.forEach((inp, k) => {
        const g = cts[k]!;
        if (inp < 0 || isZero(g)) return;
        const p = node.primals[k]!;
        if (!shapesEqual(g.shape, p.shape) || g.dtype !== p.dtype) {
          throw new ShapeError(
            node.prim!.name,
            `VJP rule returned a cotangent ${describe(g.dtype, g.shape)} for input ${k} ${describe(p.dtype, p.shape)}`,
          );
        }
        accumulate(inp, g);
      });
    }
    const out = new Map<number, Tensor>();
    for (const w of wanted) {
      const g = ct.get(w);
      if (g) out.set(w, g);
    }
    return out;
  }
}
