/** Laws of the elementwise primitives (unary maths, broadcasting binary ops, comparisons, where). */
import { primitiveLawSuite } from './primitiveSuite.js';

primitiveLawSuite([
  'neg', 'exp', 'log', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'sqrt', 'square', 'abs', 'reciprocal', 'sign',
  'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum',
  'greater', 'greaterEqual', 'less', 'lessEqual', 'equal', 'notEqual', 'where',
]);
