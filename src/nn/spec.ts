/**
 * Architectures as data: every layer carries a JSON `spec`; `fromSpec`
 * rebuilds the layer from it (used by checkpoints and the command line).
 * `lambda` layers wrap arbitrary functions and cannot be rebuilt.
 * Descriptions are checked against SPEC_LIMITS (depth, sizes, parameter
 * count) before anything is built.
 */
import { ValueError } from '../tensor/ShapeError.js';
import { fanInConcat, fanInSum, fanOut, identity, parallel, residual, serial } from './combinators.js';
import { avgPool2dLayer, conv2dLayer, maxPool2dLayer, type PoolPadding } from './conv.js';
import type { AnyLayer, LayerSpec } from './layer.js';
import { dense, dropout, flatten, logSoftmax, relu, reshape, sigmoid, softmax, tanh } from './layers.js';
import { initializers, type InitializerName } from './initializers.js';
import { gru, lstm } from './recurrent.js';
import { batchNormLayer, layerNormLayer } from './normalization.js';
import { multiHeadAttention } from './attention.js';
import { embedding, positionEmbedding } from './embedding.js';
import { geluLayer } from './transformer.js';
import type { DType } from '../tensor/dtype.js';

const num = (spec: LayerSpec, k: string): number => {
  const v = spec[k];
  if (typeof v !== 'number') throw new ValueError('fromSpec', `${spec.type}: field '${k}' must be a number, got ${JSON.stringify(v)}`);
  return v;
};
const pair = (spec: LayerSpec, k: string): [number, number] => {
  const v = spec[k];
  const [a, b] = Array.isArray(v) && v.length === 2 ? (v as unknown[]) : [];
  if (typeof a !== 'number' || typeof b !== 'number')
    throw new ValueError('fromSpec', `${spec.type}: field '${k}' must be a pair of numbers`);
  return [a, b];
};
const list = (spec: LayerSpec): LayerSpec[] => {
  const v = spec.layers;
  if (!Array.isArray(v)) throw new ValueError('fromSpec', `${spec.type}: field 'layers' must be an array`);
  return v as LayerSpec[];
};

/** Rebuild a layer from its spec (checked against SPEC_LIMITS first). */
export function fromSpec(spec: LayerSpec): AnyLayer {
  checkSpec(spec, { where: 'fromSpec', allowLambda: true });
  return build(spec);
}

function build(spec: LayerSpec): AnyLayer {
  if (typeof spec !== 'object' || spec === null || typeof spec.type !== 'string')
    throw new ValueError('fromSpec', `not a layer spec: ${JSON.stringify(spec)}`);
  switch (spec.type) {
    case 'serial':
      return (serial as (...ls: AnyLayer[]) => AnyLayer)(...list(spec).map(build));
    case 'parallel':
      return parallel(...list(spec).map(build));
    case 'identity':
      return identity;
    case 'fanOut':
      return fanOut(num(spec, 'n'));
    case 'fanInSum':
      return fanInSum;
    case 'fanInConcat':
      return fanInConcat;
    case 'residual':
      return residual(build(spec.layer as LayerSpec));
    case 'dense':
      return dense(num(spec, 'units'), {
        ...(spec.inputs !== undefined ? { inputs: num(spec, 'inputs') } : {}),
        ...(spec.kernelInit ? { kernelInit: spec.kernelInit as InitializerName } : {}),
        ...(spec.biasInit ? { biasInit: spec.biasInit as InitializerName } : {}),
      });
    case 'gru':
    case 'lstm': {
      const make = spec.type === 'gru' ? gru : lstm;
      return make(num(spec, 'units'), {
        ...(spec.returnSequences === true ? { returnSequences: true } : {}),
        ...(spec.dtype ? { dtype: spec.dtype as DType } : {}),
      });
    }
    case 'relu':
      return relu;
    case 'sigmoid':
      return sigmoid;
    case 'tanh':
      return tanh;
    case 'softmax':
      return softmax;
    case 'logSoftmax':
      return logSoftmax;
    case 'flatten':
      return flatten;
    case 'dropout':
      return dropout(num(spec, 'rate'));
    case 'reshape': {
      const s = spec.shape;
      if (!Array.isArray(s) || !s.every((d) => typeof d === 'number'))
        throw new ValueError('fromSpec', `reshape: field 'shape' must be an array of numbers`);
      return reshape(s as number[]);
    }
    case 'conv2d':
      return conv2dLayer(num(spec, 'filters'), pair(spec, 'kernel'), {
        stride: pair(spec, 'stride'),
        padding: spec.padding as 'valid' | 'same',
        ...(spec.dilation !== undefined ? { dilation: pair(spec, 'dilation') } : {}),
        ...(spec.groups !== undefined ? { groups: num(spec, 'groups') } : {}),
        ...(spec.inputs !== undefined ? { inputs: num(spec, 'inputs') } : {}),
        ...(spec.kernelInit ? { kernelInit: spec.kernelInit as InitializerName } : {}),
      });
    case 'maxPool2d':
      return maxPool2dLayer(pair(spec, 'window'), pair(spec, 'stride'), spec.padding as PoolPadding | undefined);
    case 'avgPool2d':
      return avgPool2dLayer(pair(spec, 'window'), pair(spec, 'stride'), spec.padding as PoolPadding | undefined);
    case 'gelu':
      return geluLayer;
    case 'layerNorm':
      return layerNormLayer({
        ...(spec.axis !== undefined ? { axis: spec.axis as number | number[] } : {}),
        ...(spec.eps !== undefined ? { eps: num(spec, 'eps') } : {}),
        ...(spec.dtype ? { dtype: spec.dtype as DType } : {}),
      });
    case 'batchNorm':
      return batchNormLayer({
        ...(spec.momentum !== undefined ? { momentum: num(spec, 'momentum') } : {}),
        ...(spec.eps !== undefined ? { eps: num(spec, 'eps') } : {}),
        ...(spec.axis !== undefined ? { axis: num(spec, 'axis') } : {}),
        ...(spec.dtype ? { dtype: spec.dtype as DType } : {}),
      });
    case 'multiHeadAttention':
      return multiHeadAttention(num(spec, 'heads'), num(spec, 'dim'), {
        ...(spec.causal === true ? { causal: true } : {}),
        ...(spec.dtype ? { dtype: spec.dtype as DType } : {}),
      });
    case 'embedding':
    case 'positionEmbedding': {
      const o = {
        ...(spec.std !== undefined ? { std: num(spec, 'std') } : {}),
        ...(spec.dtype ? { dtype: spec.dtype as DType } : {}),
      };
      return spec.type === 'embedding' ? embedding(num(spec, 'vocab'), num(spec, 'dim'), o) : positionEmbedding(num(spec, 'maxLength'), o);
    }
    case 'lambda':
      throw new ValueError('fromSpec', `lambda layer '${String(spec.name)}' wraps a function and cannot be rebuilt from its description`);
    default:
      throw new ValueError('fromSpec', `unknown layer type '${spec.type}'`);
  }
}

/**
 * Bounds on architectures read from outside (checkpoints): `checkSpec`
 * refuses anything beyond them before a layer is built or a parameter
 * allocated.
 */
export const SPEC_LIMITS = Object.freeze({
  /** Nesting of serial / parallel / residual. */
  depth: 64,
  /** Layer descriptions in the whole architecture. */
  layers: 10_000,
  /** dense units and conv2d filters. */
  units: 65_536,
  /** conv2d kernel and pooling window and stride sides. */
  kernel: 1_024,
  /** fanOut branches. */
  branches: 1_024,
  /** Values per example in any shape (the input shape, reshape, dense inputs). */
  exampleSize: 1 << 26,
  /** Rank of any shape. */
  rank: 8,
  /** Total parameters (counted from the shapes, before allocating). */
  params: 1 << 28,
});

const INITIALIZERS: readonly string[] = Object.keys(initializers);
const LEAF_TYPES = ['identity', 'fanInSum', 'fanInConcat', 'relu', 'sigmoid', 'tanh', 'softmax', 'logSoftmax', 'flatten', 'gelu'];

type Shapes = number[] | number[][];
const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/**
 * Validate an architecture description (and, given `inputShape`, its
 * parameter count) against SPEC_LIMITS without recursion on the description
 * and without building anything. `lambda` layers are refused unless
 * `allowLambda` (they cannot be rebuilt, but their description is valid). Throws a ValueError naming the field path, e.g.
 * `architecture: layers.1.units: 2000000 is above the limit of 65536`.
 */
export function checkSpec(
  spec: unknown,
  opts: { readonly inputShape?: readonly number[]; readonly where?: string; readonly allowLambda?: boolean } = {},
): void {
  const L = SPEC_LIMITS;
  const { inputShape, where = 'architecture' } = opts;
  const fail = (path: string, msg: string): never => {
    const shown = path.length > 120 ? `…${path.slice(-60)}` : path || '(root)';
    throw new ValueError(where, `${shown}: ${msg}`);
  };
  const int = (v: unknown, path: string, lo: number, hi: number, what: string): void => {
    if (typeof v !== 'number' || !Number.isInteger(v)) fail(path, `${what} must be an integer, got ${JSON.stringify(v)}`);
    else if (v < lo) fail(path, `${what} ${v} is below ${lo}`);
    else if (v > hi) fail(path, `${what} ${v} is above the limit of ${hi}`);
  };
  const pairOf = (v: unknown, path: string, what: string): void => {
    if (!Array.isArray(v) || v.length !== 2) fail(path, `${what} must be a pair of integers, got ${JSON.stringify(v)}`);
    else
      v.forEach((d, i) => {
        int(d, `${path}.${i}`, 1, L.kernel, what);
      });
  };
  if (inputShape !== undefined) {
    if (inputShape.length < 1 || inputShape.length > L.rank) fail('inputShape', `rank ${inputShape.length} is outside [1, ${L.rank}]`);
    inputShape.slice(1).forEach((d, i) => {
      int(d, `inputShape.${i + 1}`, 1, L.exampleSize, 'dimension');
    });
    if (prod(inputShape.slice(1)) > L.exampleSize)
      fail('inputShape', `${prod(inputShape.slice(1))} values per example is above the limit of ${L.exampleSize}`);
  }
  // structure and fields, iteratively (depth-first, explicit stack)
  const stack: { node: unknown; path: string; depth: number }[] = [{ node: spec, path: '', depth: 0 }];
  let count = 0;
  const at = (path: string, k: string | number): string => (path ? `${path}.${k}` : String(k));
  while (stack.length > 0) {
    const { node, path, depth } = stack.pop()!;
    if (++count > L.layers) fail(path, `more than ${L.layers} layer descriptions`);
    if (depth > L.depth) fail(path, `nested more than ${L.depth} deep`);
    if (typeof node !== 'object' || node === null || Array.isArray(node) || typeof (node as LayerSpec).type !== 'string')
      fail(path, `not a layer description (an object with a string 'type')`);
    const s = node as LayerSpec;
    const f = (k: string): string => at(path, k);
    switch (s.type) {
      case 'serial':
      case 'parallel': {
        if (!Array.isArray(s.layers)) fail(f('layers'), 'must be an array');
        const ls = s.layers as unknown[];
        if (ls.length > L.layers) fail(f('layers'), `${ls.length} layers is above the limit of ${L.layers}`);
        for (let i = ls.length - 1; i >= 0; i--) stack.push({ node: ls[i], path: at(f('layers'), i), depth: depth + 1 });
        break;
      }
      case 'residual':
        stack.push({ node: s.layer, path: f('layer'), depth: depth + 1 });
        break;
      case 'fanOut':
        int(s.n, f('n'), 1, L.branches, 'n');
        break;
      case 'dense':
        int(s.units, f('units'), 1, L.units, 'units');
        if (s.inputs !== undefined) int(s.inputs, f('inputs'), 1, L.exampleSize, 'inputs');
        for (const k of ['kernelInit', 'biasInit'])
          if (s[k] !== undefined && !INITIALIZERS.includes(s[k] as string))
            fail(f(k), `unknown initializer ${JSON.stringify(s[k])} (expected ${INITIALIZERS.join(', ')})`);
        break;
      case 'gru':
      case 'lstm':
        int(s.units, f('units'), 1, L.units, 'units');
        if (s.returnSequences !== undefined && typeof s.returnSequences !== 'boolean')
          fail(f('returnSequences'), `must be a boolean, got ${JSON.stringify(s.returnSequences)}`);
        break;
      case 'conv2d':
        int(s.filters, f('filters'), 1, L.units, 'filters');
        pairOf(s.kernel, f('kernel'), 'kernel');
        pairOf(s.stride, f('stride'), 'stride');
        if (s.padding !== 'valid' && s.padding !== 'same')
          fail(f('padding'), `must be 'valid' or 'same', got ${JSON.stringify(s.padding)}`);
        if (s.inputs !== undefined) int(s.inputs, f('inputs'), 1, L.units, 'inputs');
        if (s.dilation !== undefined) pairOf(s.dilation, f('dilation'), 'dilation');
        if (s.groups !== undefined) int(s.groups, f('groups'), 1, L.units, 'groups');
        if (s.kernelInit !== undefined && !INITIALIZERS.includes(s.kernelInit as string))
          fail(f('kernelInit'), `unknown initializer ${JSON.stringify(s.kernelInit)}`);
        break;
      case 'maxPool2d':
      case 'avgPool2d':
        pairOf(s.window, f('window'), 'window');
        pairOf(s.stride, f('stride'), 'stride');
        if (s.padding !== undefined && s.padding !== 'valid' && s.padding !== 'same')
          fail(f('padding'), `must be 'valid' or 'same', got ${JSON.stringify(s.padding)}`);
        break;
      case 'dropout':
        if (typeof s.rate !== 'number' || !(s.rate >= 0 && s.rate < 1))
          fail(f('rate'), `must be a number in [0, 1), got ${JSON.stringify(s.rate)}`);
        break;
      case 'reshape': {
        const sh = s.shape;
        if (!Array.isArray(sh) || sh.length < 1 || sh.length > L.rank)
          fail(f('shape'), `must be an array of 1 to ${L.rank} integers, got ${JSON.stringify(sh)}`);
        (sh as unknown[]).forEach((d, i) => {
          int(d, at(f('shape'), i), 1, L.exampleSize, 'dimension');
        });
        if (prod(sh as number[]) > L.exampleSize)
          fail(f('shape'), `${prod(sh as number[])} values per example is above the limit of ${L.exampleSize}`);
        break;
      }
      case 'layerNorm': {
        const axes = s.axis === undefined ? [-1] : Array.isArray(s.axis) ? (s.axis as unknown[]) : [s.axis];
        if (axes.length < 1 || axes.length > L.rank)
          fail(f('axis'), `must be an axis or 1 to ${L.rank} axes, got ${JSON.stringify(s.axis)}`);
        axes.forEach((a, i) => {
          int(a, Array.isArray(s.axis) ? at(f('axis'), i) : f('axis'), -L.rank, L.rank - 1, 'axis');
        });
        if (s.eps !== undefined && !(typeof s.eps === 'number' && s.eps >= 0))
          fail(f('eps'), `must be a number ≥ 0, got ${JSON.stringify(s.eps)}`);
        break;
      }
      case 'batchNorm':
        if (s.axis !== undefined) int(s.axis, f('axis'), -L.rank, L.rank - 1, 'axis');
        if (s.momentum !== undefined && !(typeof s.momentum === 'number' && s.momentum >= 0 && s.momentum <= 1))
          fail(f('momentum'), `must be a number in [0, 1], got ${JSON.stringify(s.momentum)}`);
        if (s.eps !== undefined && !(typeof s.eps === 'number' && s.eps >= 0))
          fail(f('eps'), `must be a number ≥ 0, got ${JSON.stringify(s.eps)}`);
        break;
      case 'multiHeadAttention':
        int(s.heads, f('heads'), 1, L.units, 'heads');
        int(s.dim, f('dim'), 1, L.units, 'dim');
        if (typeof s.dim === 'number' && typeof s.heads === 'number' && s.dim % s.heads !== 0)
          fail(f('dim'), `dim ${s.dim} must be a multiple of heads ${s.heads}`);
        break;
      case 'embedding':
        int(s.vocab, f('vocab'), 1, L.exampleSize, 'vocab');
        int(s.dim, f('dim'), 1, L.units, 'dim');
        break;
      case 'positionEmbedding':
        int(s.maxLength, f('maxLength'), 1, L.exampleSize, 'maxLength');
        break;
      case 'lambda':
        if (!opts.allowLambda) fail(path, `lambda layer '${String(s.name)}' wraps a function and cannot be rebuilt from its description`);
        break;
      default:
        if (!LEAF_TYPES.includes(s.type)) fail(f('type'), `unknown layer type '${s.type}'`);
    }
  }
  if (inputShape === undefined) return;
  // parameter count from the shapes (depth is bounded now, so recursion is safe);
  // where shapes do not fit, counting stops and `init` reports the mismatch
  let total = 0;
  const add = (n: number, path: string): void => {
    total += n;
    if (total > L.params) fail(path, `the architecture has more than ${L.params} parameters (${total} counted up to here)`);
  };
  const single = (x: Shapes | undefined): number[] | undefined => (x !== undefined && !Array.isArray(x[0]) ? (x as number[]) : undefined);
  const walk = (node: LayerSpec, path: string, x: Shapes | undefined): Shapes | undefined => {
    if (x === undefined) return undefined;
    const s1 = single(x);
    const f = (k: string): string => at(path, k);
    switch (node.type) {
      case 'serial':
        return (node.layers as LayerSpec[]).reduce<Shapes | undefined>((acc, l, i) => walk(l, at(f('layers'), i), acc), x);
      case 'parallel': {
        if (s1) return undefined;
        const outs = (node.layers as LayerSpec[]).map((l, i) => single(walk(l, at(f('layers'), i), (x as number[][])[i])));
        return outs.every((o) => o !== undefined) ? (outs as number[][]) : undefined;
      }
      case 'residual':
        walk(node.layer as LayerSpec, f('layer'), x);
        return x;
      case 'fanOut':
        return s1 ? Array.from({ length: node.n as number }, () => s1) : undefined;
      case 'fanInSum':
        return s1 ? undefined : (x as number[][])[0];
      case 'fanInConcat': {
        if (s1) return undefined;
        const xs = x as number[][];
        const first = xs[0];
        return first ? [...first.slice(0, -1), xs.reduce((a, s) => a + (s[s.length - 1] ?? 0), 0)] : undefined;
      }
      case 'dense': {
        const inW = s1?.[s1.length - 1];
        if (!s1 || inW === undefined) return undefined;
        add((node.units as number) * (inW + 1), f('units'));
        return [...s1.slice(0, -1), node.units as number];
      }
      case 'gru':
      case 'lstm': {
        if (s1?.length !== 3) return undefined;
        const u = node.units as number;
        const g = node.type === 'gru' ? 3 : 4;
        add(g * u * (s1[2]! + u + 1), f('units'));
        return node.returnSequences === true ? [s1[0]!, s1[1]!, u] : [s1[0]!, u];
      }
      case 'flatten':
        return s1 && s1.length >= 1 ? [s1[0]!, prod(s1.slice(1))] : undefined;
      case 'reshape':
        return s1 && s1.length >= 1 ? [s1[0]!, ...(node.shape as number[])] : undefined;
      case 'conv2d':
      case 'maxPool2d':
      case 'avgPool2d': {
        if (s1?.length !== 4) return undefined;
        const [n, h, w, c] = s1 as [number, number, number, number];
        const conv = node.type === 'conv2d';
        const [kh, kw] = (conv ? node.kernel : node.window) as [number, number];
        const [sh, sw] = node.stride as [number, number];
        const same = node.padding === 'same';
        const [dh, dw] = (conv && node.dilation !== undefined ? node.dilation : [1, 1]) as [number, number];
        const groups = conv && typeof node.groups === 'number' ? node.groups : 1;
        const out = (size: number, k: number, st: number): number => (same ? Math.ceil(size / st) : Math.floor((size - k) / st) + 1);
        if (conv) add((kh * kw * c * (node.filters as number)) / groups + (node.filters as number), f('filters'));
        if (conv) return [n, out(h, dh * (kh - 1) + 1, sh), out(w, dw * (kw - 1) + 1, sw), node.filters as number];
        return [n, out(h, kh, sh), out(w, kw, sw), conv ? (node.filters as number) : c];
      }
      case 'layerNorm': {
        if (!s1) return undefined;
        const axes = node.axis === undefined ? [-1] : Array.isArray(node.axis) ? (node.axis as number[]) : [node.axis as number];
        add(2 * prod(axes.map((a) => s1[a < 0 ? a + s1.length : a] ?? 0)), f('axis'));
        return x;
      }
      case 'batchNorm': {
        if (!s1) return undefined;
        const a = typeof node.axis === 'number' ? node.axis : -1;
        add(4 * (s1[a < 0 ? a + s1.length : a] ?? 0), f('axis'));
        return x;
      }
      case 'multiHeadAttention': {
        if (s1?.length !== 3) return undefined;
        const d = node.dim as number;
        add(3 * d * (s1[2]! + 1) + d * (d + 1), f('dim'));
        return [s1[0]!, s1[1]!, d];
      }
      case 'embedding':
        if (!s1) return undefined;
        add((node.vocab as number) * (node.dim as number), f('vocab'));
        return [...s1, node.dim as number];
      case 'positionEmbedding':
        if (s1?.length !== 3) return undefined;
        add((node.maxLength as number) * s1[2]!, f('maxLength'));
        return x;
      default:
        return x; // shape-preserving layers
    }
  };
  walk(spec as LayerSpec, '', [...inputShape]);
}
