/**
 * Architectures as data: every layer carries a JSON `spec`; `fromSpec`
 * rebuilds the layer from it (used by checkpoints and the command line).
 * `lambda` layers wrap arbitrary functions and cannot be rebuilt.
 */
import { ValueError } from '../tensor/ShapeError.js';
import { fanInConcat, fanInSum, fanOut, identity, parallel, residual, serial } from './combinators.js';
import { avgPool2dLayer, conv2dLayer, maxPool2dLayer, type Padding } from './conv.js';
import type { AnyLayer, LayerSpec } from './layer.js';
import { dense, dropout, flatten, logSoftmax, relu, reshape, sigmoid, softmax, tanh } from './layers.js';
import type { InitializerName } from './initializers.js';

const num = (spec: LayerSpec, k: string): number => {
  const v = spec[k];
  if (typeof v !== 'number') throw new ValueError('fromSpec', `${spec.type}: field '${k}' must be a number, got ${JSON.stringify(v)}`);
  return v;
};
const pair = (spec: LayerSpec, k: string): [number, number] => {
  const v = spec[k];
  if (!Array.isArray(v) || v.length !== 2 || !v.every((d) => typeof d === 'number')) throw new ValueError('fromSpec', `${spec.type}: field '${k}' must be a pair of numbers`);
  return [v[0], v[1]];
};
const list = (spec: LayerSpec): LayerSpec[] => {
  const v = spec.layers;
  if (!Array.isArray(v)) throw new ValueError('fromSpec', `${spec.type}: field 'layers' must be an array`);
  return v as LayerSpec[];
};

/** Rebuild a layer from its spec. */
export function fromSpec(spec: LayerSpec): AnyLayer {
  if (typeof spec !== 'object' || spec === null || typeof spec.type !== 'string') throw new ValueError('fromSpec', `not a layer spec: ${JSON.stringify(spec)}`);
  switch (spec.type) {
    case 'serial':
      return (serial as (...ls: AnyLayer[]) => AnyLayer)(...list(spec).map(fromSpec));
    case 'parallel':
      return parallel(...list(spec).map(fromSpec));
    case 'identity':
      return identity;
    case 'fanOut':
      return fanOut(num(spec, 'n'));
    case 'fanInSum':
      return fanInSum;
    case 'fanInConcat':
      return fanInConcat;
    case 'residual':
      return residual(fromSpec(spec.layer as LayerSpec));
    case 'dense':
      return dense(num(spec, 'units'), {
        ...(spec.inputs !== undefined ? { inputs: num(spec, 'inputs') } : {}),
        ...(spec.kernelInit ? { kernelInit: spec.kernelInit as InitializerName } : {}),
        ...(spec.biasInit ? { biasInit: spec.biasInit as InitializerName } : {}),
      });
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
      if (!Array.isArray(s) || !s.every((d) => typeof d === 'number')) throw new ValueError('fromSpec', `reshape: field 'shape' must be an array of numbers`);
      return reshape(s as number[]);
    }
    case 'conv2d':
      return conv2dLayer(num(spec, 'filters'), pair(spec, 'kernel'), {
        stride: pair(spec, 'stride'),
        padding: spec.padding as Padding,
        ...(spec.inputs !== undefined ? { inputs: num(spec, 'inputs') } : {}),
        ...(spec.kernelInit ? { kernelInit: spec.kernelInit as InitializerName } : {}),
      });
    case 'maxPool2d':
      return maxPool2dLayer(pair(spec, 'window'), pair(spec, 'stride'));
    case 'avgPool2d':
      return avgPool2dLayer(pair(spec, 'window'), pair(spec, 'stride'));
    case 'lambda':
      throw new ValueError('fromSpec', `lambda layer '${String(spec.name)}' wraps a function and cannot be rebuilt from its description`);
    default:
      throw new ValueError('fromSpec', `unknown layer type '${spec.type}'`);
  }
}
