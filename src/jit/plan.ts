/**
 * From an (optimised) graph to a plan for one backend: fusion groups,
 * steps, buffer lifetimes. Elementwise equations (records with a `fusion`
 * description) that iterate over the same shape are grouped, greedily in the
 * graph's order, into fused kernels (src/backends/fused.ts) with one or more
 * outputs; every other equation is a step of its own. After each step the
 * values whose last use it was are freed, so the backend's pool or allocator
 * hands their memory to the next outputs (memory planning by liveness); the
 * plan knows its peak bytes.
 */
import type { Backend } from '../backends/Backend.js';
import { isFusedBackend, type FusedBackend, type FusedKernel, type FusedNode } from '../backends/fused.js';
import type { Graph, GraphEqn, GraphVar } from '../core/graphTrace.js';
import type { Primitive } from '../core/Primitive.js';
import type { Aval } from '../tensor/Aval.js';
import { bytesPerElement, type DType } from '../tensor/dtype.js';
import { shapesEqual, sizeOf } from '../tensor/shape.js';
import { ValueError } from '../tensor/ShapeError.js';
import type { Tensor } from '../tensor/Tensor.js';
import { lookupPrimitive } from '../ops/primitives.js';

/** One step of a plan; `ins` and `outs` are value slots. */
export type Step =
  | { readonly kind: 'prim'; readonly prim: Primitive; readonly params: unknown; readonly ins: readonly number[]; readonly out: number }
  | {
      readonly kind: 'fused';
      readonly kernel: FusedKernel;
      readonly ins: readonly number[];
      readonly outs: readonly number[];
      /** Each output's shape and dtype (elementwise outputs, then reductions). */
      readonly outAvals: readonly Aval[];
    };

/** A compiled program for one backend. */
export interface Plan {
  readonly slots: number;
  /** The slot of each graph input, in order. */
  readonly inputSlots: readonly number[];
  /** Constants (captured or folded tensors) and their slots. */
  readonly consts: readonly { readonly slot: number; readonly value: Tensor }[];
  readonly steps: readonly Step[];
  /** The slot of each graph output, in order. */
  readonly outputSlots: readonly number[];
  /** Slots whose last use is step i (freed after it; never inputs, constants or outputs). */
  readonly freeAfter: readonly (readonly number[])[];
  /** For each input, the index of the step that uses it last (-1: unused; Infinity: it is an output). */
  readonly inputLastUse: readonly number[];
  /** Bytes held by the values a call creates, at its peak (outputs included). */
  readonly peakBytes: number;
  /** The names of the values in slots (for lower). */
  readonly names: readonly string[];
  /** The outputs that are constants (copied when returned: the caller may dispose what it gets). */
  readonly constOutputs: ReadonlySet<number>;
}

/** A constant's value as a literal when it is a readable scalar (cpu and wasm hold data the host can read synchronously). */
function literalOf(t: Tensor): number | null {
  if (t.size !== 1 || (t.backendName !== 'cpu' && t.backendName !== 'wasm')) return null;
  try {
    const v = t.dataSync()[0]!;
    // shader compilers may fold a constant -0 as +0 (no signed zeros): -0 stays an input, read from memory
    return Object.is(v, -0) ? null : v;
  } catch {
    return null;
  }
}

/** Storage buffers one WebGPU kernel may bind (inputs and outputs); the default limit of WebGPU devices. */
const WEBGPU_BINDINGS = 8;

interface Group {
  readonly shape: readonly number[];
  readonly eqns: GraphEqn[];
  readonly members: Set<string>;
  /** Outputs of the group's fused reductions (nothing in the group may read them). */
  readonly reduced: Set<string>;
}

const avalOfVar = (v: GraphVar): Aval => ({ shape: v.shape, dtype: v.dtype as DType });
const isFloatName = (d: string): boolean => d === 'f32' || d === 'f64';

/** A sum or max equation (fusible after its producer's group on backends that fuse reductions). */
const isReduction = (e: GraphEqn): boolean => e.prim === 'sum' || e.prim === 'max';

/** Builds the plan of `g` for `backend`; `fuse` false keeps one step per equation. */
export function planGraph(g: Graph, backend: Backend, fuse: boolean): Plan {
  const slotOf = new Map<string, number>();
  const names: string[] = [];
  const slot = (v: GraphVar): number => {
    let s = slotOf.get(v.name);
    if (s === undefined) {
      s = names.length;
      names.push(v.name);
      slotOf.set(v.name, s);
    }
    return s;
  };
  const inputSlots = g.inputs.map(slot);
  const consts = g.consts.map((c) => ({ slot: slot(c.var), value: c.value }));
  const constValue = new Map(g.consts.map((c) => [c.var.name, c.value]));
  const isOutput = new Set(g.outputs.map((v) => v.name));
  // consumers of each value (equation indices)
  const consumers = new Map<string, number[]>();
  g.eqns.forEach((e, i) => {
    for (const v of e.inputs) {
      const list = consumers.get(v.name) ?? [];
      list.push(i);
      consumers.set(v.name, list);
    }
  });
  const eqnIndex = new Map(g.eqns.map((e, i) => [e, i]));
  const canFuse = fuse && isFusedBackend(backend);
  const fusesReductions = canFuse && (backend as Backend & FusedBackend).fusesReductions === true;
  const fusesMatmul = canFuse && (backend as Backend & FusedBackend).fusesMatmul === true;
  /** matmul steps by output name (an epilogue group may take one over) and the steps taken over. */
  const matmulSteps = new Map<string, { step: Step; eqn: GraphEqn }>();
  const removed = new Set<Step>();
  const bindingLimit = backend.name === 'webgpu' ? WEBGPU_BINDINGS : 64;
  /** broadcastTo joins a group as a broadcasting read of its input (fused kernels broadcast their inputs). */
  const isBroadcastRead = (e: GraphEqn): boolean => e.prim === 'broadcastTo' && e.inputs[0]!.dtype === e.output.dtype;
  const fusible = (e: GraphEqn): boolean => {
    if (!canFuse) return false;
    if (isBroadcastRead(e)) return true;
    const prim = lookupPrimitive(e.prim);
    if (!prim?.fusion) return false;
    const fb = backend as Backend & FusedBackend;
    return fb.canFuse ? e.inputs.every((v) => fb.canFuse!(e.prim, v.dtype as DType)) : true;
  };

  const steps: Step[] = [];
  const open: Group[] = [];
  const groupOf = new Map<string, Group>(); // value name -> its open group

  const externalInputs = (grp: Group): string[] => {
    const seen = new Set<string>();
    for (const e of grp.eqns) for (const v of e.inputs) if (!grp.members.has(v.name) && literalOfVar(v.name) === null) seen.add(v.name);
    return [...seen];
  };
  const literalOfVar = (name: string): number | null => {
    const c = constValue.get(name);
    return c ? literalOf(c) : null;
  };
  /** Members some consumer outside the group (or the graph's outputs) may read: an upper bound on the outputs. */
  const escaping = (grp: Group, extra: GraphEqn | null): number => {
    let n = 0;
    for (const name of grp.members) {
      if (isOutput.has(name)) {
        n++;
        continue;
      }
      const cs = consumers.get(name) ?? [];
      if (cs.some((c) => !grp.eqns.includes(g.eqns[c]!) && g.eqns[c] !== extra)) n++;
    }
    return n;
  };

  const flush = (grp: Group): void => {
    const i = open.indexOf(grp);
    if (i < 0) return;
    open.splice(i, 1);
    for (const m of grp.members) groupOf.delete(m);
    if (grp.eqns.length === 1) {
      emitPrim(grp.eqns[0]!);
      return;
    }
    const ins = externalInputs(grp);
    const nodes: FusedNode[] = [];
    const nodeOf = new Map<string, number>();
    const inputVars: GraphVar[] = [];
    const nodeFor = (v: GraphVar): number => {
      const known = nodeOf.get(v.name);
      if (known !== undefined) return known;
      const lit = literalOfVar(v.name);
      if (lit !== null) nodes.push({ kind: 'literal', value: lit, dtype: v.dtype as DType });
      else {
        nodes.push({ kind: 'input', input: inputVars.length, dtype: v.dtype as DType });
        inputVars.push(v);
      }
      nodeOf.set(v.name, nodes.length - 1);
      return nodes.length - 1;
    };
    // an epilogue: the group reads a matmul product that nothing else reads; the kernel computes the product itself
    let matmul: { eqn: GraphEqn; v: GraphVar } | null = null;
    if (fusesMatmul && grp.reduced.size === 0) {
      for (const name of ins) {
        const m = matmulSteps.get(name);
        if (!m || isOutput.has(name) || !shapesEqual(m.eqn.output.shape, grp.shape) || !isFloatName(m.eqn.output.dtype)) continue;
        if (!(consumers.get(name) ?? []).every((c) => grp.members.has(g.eqns[c]!.output.name))) continue;
        matmul = { eqn: m.eqn, v: m.eqn.output };
        removed.add(m.step);
        nodes.push({ kind: 'input', input: 0, dtype: m.eqn.output.dtype as DType });
        inputVars.push(m.eqn.output);
        nodeOf.set(name, 0);
        break;
      }
    }
    const reductions: { node: number; op: 'sum' | 'max'; axes: readonly number[]; v: GraphVar }[] = [];
    for (const e of grp.eqns) {
      if (grp.reduced.has(e.output.name)) {
        const axes = (e.params as { axes: readonly number[] }).axes;
        reductions.push({ node: nodeFor(e.inputs[0]!), op: e.prim as 'sum' | 'max', axes: [...axes], v: e.output });
        continue;
      }
      if (isBroadcastRead(e)) {
        nodeOf.set(e.output.name, nodeFor(e.inputs[0]!));
        continue;
      }
      const args = e.inputs.map(nodeFor);
      const prim = lookupPrimitive(e.prim)!;
      nodes.push({ kind: 'op', op: e.prim, spec: prim.fusion!, args, dtype: e.output.dtype as DType });
      nodeOf.set(e.output.name, nodes.length - 1);
    }
    const outVars = grp.eqns
      .filter((e) => !grp.reduced.has(e.output.name))
      .map((e) => e.output)
      .filter((v) => isOutput.has(v.name) || (consumers.get(v.name) ?? []).some((c) => !grp.members.has(g.eqns[c]!.output.name)));
    if (ins.length !== inputVars.length) throw new Error('jit: fusion group inputs disagree'); // internal invariant
    steps.push({
      kind: 'fused',
      kernel: {
        shape: [...grp.shape],
        inputs: inputVars.map((v) => ({ shape: v.shape, dtype: v.dtype as DType })),
        nodes,
        outputs: outVars.map((v) => nodeOf.get(v.name)!),
        ...(reductions.length > 0 ? { reductions: reductions.map(({ node, op, axes }) => ({ node, op, axes })) } : {}),
        ...(matmul ? { matmul: { a: avalOfVar(matmul.eqn.inputs[0]!), b: avalOfVar(matmul.eqn.inputs[1]!) } } : {}),
      },
      ins: matmul ? [...matmul.eqn.inputs.map(slot), ...inputVars.slice(1).map(slot)] : inputVars.map(slot),
      outs: [...outVars, ...reductions.map((r) => r.v)].map(slot),
      outAvals: [...outVars, ...reductions.map((r) => r.v)].map((v) => ({ shape: v.shape, dtype: v.dtype as DType })),
    });
  };

  const emitPrim = (e: GraphEqn): void => {
    const prim = lookupPrimitive(e.prim);
    if (!prim) throw new ValueError('jit', `unknown primitive '${e.prim}'`);
    const step: Step = { kind: 'prim', prim, params: e.params, ins: e.inputs.map(slot), out: slot(e.output) };
    steps.push(step);
    if (e.prim === 'matmul') matmulSteps.set(e.output.name, { step, eqn: e });
  };

  /** Flush the open groups that produced any of `vars` (other than `keep`). */
  const flushProducers = (vars: readonly GraphVar[], keep: Group | null): void => {
    for (const v of vars) {
      const grp = groupOf.get(v.name);
      if (grp && grp !== keep) flush(grp);
    }
  };

  for (const e of g.eqns) {
    // a sum or max of a value computed in an open group of its input's shape joins that group as a fused reduction
    const producer = isReduction(e) && fusesReductions ? groupOf.get(e.inputs[0]!.name) : undefined;
    if (producer && shapesEqual(producer.shape, e.inputs[0]!.shape) && !producer.reduced.has(e.inputs[0]!.name)) {
      producer.eqns.push(e);
      producer.members.add(e.output.name);
      producer.reduced.add(e.output.name);
      groupOf.set(e.output.name, producer);
      continue;
    }
    if (!fusible(e)) {
      flushProducers(e.inputs, null);
      emitPrim(e);
      continue;
    }
    const shape = e.output.shape;
    // prefer the open group of the same shape that produced an input; else any open group of that shape
    const producers = e.inputs.map((v) => groupOf.get(v.name)).filter((x): x is Group => x !== undefined);
    // a group cannot read its own reductions (they complete after its elementwise pass)
    const readsReduction = (grp: Group): boolean => e.inputs.some((v) => grp.reduced.has(v.name));
    let target =
      producers.find((grp) => shapesEqual(grp.shape, shape) && !readsReduction(grp)) ??
      open.find((grp) => shapesEqual(grp.shape, shape) && !readsReduction(grp)) ??
      null;
    if (target) {
      // the kernel's buffers must fit the backend's binding limit
      const trial: Group = {
        shape,
        eqns: [...target.eqns, e],
        members: new Set([...target.members, e.output.name]),
        reduced: target.reduced,
      };
      if (externalInputs(trial).length + escaping(trial, null) > bindingLimit) {
        flush(target);
        target = null;
      }
    }
    flushProducers(e.inputs, target);
    if (target) {
      target.eqns.push(e);
      target.members.add(e.output.name);
      groupOf.set(e.output.name, target);
    } else {
      const grp: Group = { shape, eqns: [e], members: new Set([e.output.name]), reduced: new Set() };
      open.push(grp);
      groupOf.set(e.output.name, grp);
    }
  }
  while (open.length > 0) flush(open[0]!);
  // matmuls taken over by their epilogue kernels
  for (let i = steps.length - 1; i >= 0; i--) if (removed.has(steps[i]!)) steps.splice(i, 1);
  void eqnIndex;

  const outputSlots = g.outputs.map(slot);
  // lifetimes
  const lastUse = new Array<number>(names.length).fill(-1);
  steps.forEach((s, i) => {
    for (const x of s.ins) lastUse[x] = i;
  });
  const pinned = new Set([...inputSlots, ...consts.map((c) => c.slot), ...outputSlots]);
  const freeAfter: number[][] = steps.map(() => []);
  lastUse.forEach((i, s) => {
    if (i >= 0 && !pinned.has(s)) freeAfter[i]!.push(s);
  });
  const outputSet = new Set(outputSlots);
  const inputLastUse = inputSlots.map((s) => (outputSet.has(s) ? Infinity : lastUse[s]!));
  // peak bytes of the values a call creates
  const bytesOf = new Array<number>(names.length).fill(0);
  const byName = new Map<string, GraphVar>();
  for (const e of g.eqns) byName.set(e.output.name, e.output);
  names.forEach((n, s) => {
    const v = byName.get(n);
    if (v) bytesOf[s] = sizeOf(v.shape) * bytesPerElement(v.dtype as DType);
  });
  let live = 0;
  let peak = 0;
  steps.forEach((s, i) => {
    for (const o of s.kind === 'prim' ? [s.out] : s.outs) live += bytesOf[o]!;
    peak = Math.max(peak, live);
    for (const x of freeAfter[i]!) live -= bytesOf[x]!;
  });
  const constSlots = new Set(consts.map((c) => c.slot));
  const constOutputs = new Set(outputSlots.filter((o) => constSlots.has(o)));
  return { slots: names.length, inputSlots, consts, steps, outputSlots, freeAfter, inputLastUse, peakBytes: peak, names, constOutputs };
}
