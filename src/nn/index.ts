/**
 * cotangent/nn: typed network combinators, layers, PRNG keys, initialisers,
 * losses, optimisers and training loops.
 *
 * @module cotangent/nn
 */
export * from './layer.js';
export {
  serial,
  parallel,
  fanOut,
  fanInSum,
  fanInConcat,
  residual,
  identity,
  lambda,
  type CheckChain,
  type Serial,
  type SerialParams,
} from './combinators.js';
export {
  dense,
  relu,
  sigmoid,
  tanh,
  softmax,
  logSoftmax,
  flatten,
  dropout,
  reshape,
  type DenseParams,
  type DenseOptions,
} from './layers.js';
export {
  conv2dLayer as conv2d,
  maxPool2dLayer as maxPool2d,
  avgPool2dLayer as avgPool2d,
  type Conv2dParams,
  type Conv2dLayerOptions,
  type Padding,
} from './conv.js';
export { gru, lstm, type RecurrentOptions, type RecurrentParams } from './recurrent.js';
export {
  layerNormLayer as layerNorm,
  batchNormLayer as batchNorm,
  type LayerNormParams,
  type LayerNormLayerOptions,
  type BatchNormParams,
  type BatchNormLayerOptions,
} from './normalization.js';
export {
  multiHeadAttention,
  type MultiHeadAttentionParams,
  type MultiHeadAttentionOptions,
} from './attention.js';
export { embedding, positionEmbedding, type EmbeddingParams, type EmbeddingOptions } from './embedding.js';
export { applyWithState, reportState, type WithState } from './state.js';
export {
  transformerBlock,
  decoderTransformer,
  geluLayer as gelu,
  type TransformerBlockOptions,
  type DecoderOptions,
} from './transformer.js';
export * as functional from './functional.js';
export * as random from './random.js';
export type { Key } from './random.js';
export * as initializers from './initializers.js';
export type { Initializer, InitializerName } from './initializers.js';
export { mse, softmaxCrossEntropy, sigmoidBinaryCrossEntropy, l2, type Loss } from './losses.js';
export {
  sgd,
  momentum,
  adam,
  adamw,
  rmsprop,
  adagrad,
  lion,
  asOptimizer,
  chain,
  masked,
  transformation,
  applyUpdates,
  scale,
  scaleByLearningRate,
  scaleByAdam,
  scaleByRms,
  scaleByStddev,
  scaleByRss,
  scaleByLion,
  traceMomentum,
  addDecayedWeights,
  constant,
  stepDecay,
  cosineDecay,
  warmup,
  clipByGlobalNorm,
  type Optimizer,
  type OptState,
  type Schedule,
  type LearningRate,
  type UpdateOptions,
  type GradientTransformation,
  type TransformDef,
  type TransformOutput,
  type Hyper,
  type Mask,
  type MaskTree,
  type AsOptimizerOptions,
  type CommonOptions,
  type MomentumOptions,
  type AdamOptions,
  type AdamWOptions,
  type RmspropOptions,
  type AdagradOptions,
  type LionOptions,
  type TraceOptions,
  type ScaleByAdamOptions,
  type ScaleByRmsOptions,
  type ScaleByRssOptions,
  type ScaleByLionOptions,
} from './optim.js';
export { paramCount, globalNorm, namedLeaves } from './tree.js';
export {
  trainStep,
  fit,
  evaluate,
  confusionMatrix,
  countCorrect,
  type Model,
  type FitOptions,
  type FitResult,
  type EpochInfo,
  type StepInfo,
  type Metrics,
  type EvalResult,
  type TrainStepOptions,
} from './train.js';
export {
  checkDataset,
  checkCompatible,
  MAX_CLASSES,
  take,
  withExampleShape,
  trainTestSplit,
  batchTensors,
  datasetSize,
  type Dataset,
} from './dataset.js';
export { fromSpec, checkSpec, SPEC_LIMITS } from './spec.js';
