/**
 * A decoder-only (GPT-style) transformer built from the layers: token
 * embedding + learned position embedding, `layers` pre-norm blocks
 * (x + attention(layerNorm(x)), then x + mlp(layerNorm(x)) with a GELU
 * (exact, x·Φ(x)) between two dense layers), a final layer norm and a projection to the
 * vocabulary. Input i32 token ids [batch, seq] (seq ≤ maxLength), output
 * logits [batch, seq, vocab]; attention is causal.
 */
import { ShapeError } from '../tensor/ShapeError.js';
import { gelu } from '../ops/activations.js';
import { residual, serial } from './combinators.js';
import { dense } from './layers.js';
import { makeLayer, noParams, type AnyLayer, type Layer, type NoParams, type Same } from './layer.js';
import { layerNormLayer } from './normalization.js';
import { multiHeadAttention } from './attention.js';
import { embedding, positionEmbedding } from './embedding.js';

/** GELU layer, x·Φ(x) elementwise (exact; `ct.gelu`). */
export const geluLayer: Layer<Same, Same, NoParams> = makeLayer<Same, Same, NoParams>({
  name: 'gelu',
  spec: { type: 'gelu' },
  init: (_k, s) => ({ params: noParams, outputShape: s }),
  apply: (_p, x) => gelu(x),
});

const seq = (...ls: AnyLayer[]): AnyLayer => (serial as (...l: AnyLayer[]) => AnyLayer)(...ls);

/** Options of `transformerBlock`. */
export interface TransformerBlockOptions {
  /** Hidden width of the MLP (default 4·dim). */
  readonly mlpDim?: number;
  /** Causal self-attention (default true). */
  readonly causal?: boolean;
}

/**
 * One pre-norm transformer block on [batch, seq, dim]: x + attention(layerNorm(x)), then x + W₂ gelu(W₁ layerNorm(x)).
 *
 * @example
 * ```ts
 * const block = nn.transformerBlock(64, 4); // [batch, seq, 64] → [batch, seq, 64]
 * ```
 */
export function transformerBlock(dim: number, heads: number, opts: TransformerBlockOptions = {}): AnyLayer {
  const mlpDim = opts.mlpDim ?? 4 * dim;
  if (!Number.isInteger(mlpDim) || mlpDim <= 0)
    throw new ShapeError('transformerBlock', `mlpDim must be a positive integer, got ${mlpDim}`);
  return seq(
    residual(seq(layerNormLayer(), multiHeadAttention(heads, dim, { causal: opts.causal ?? true }))),
    residual(seq(layerNormLayer(), dense(mlpDim), geluLayer, dense(dim))),
  );
}

/** Options of `decoderTransformer`. */
export interface DecoderOptions {
  /** Number of token ids. */
  readonly vocab: number;
  /** Longest sequence (rows of the position embedding). */
  readonly maxLength: number;
  /** Model width. */
  readonly dim: number;
  /** Attention heads (dim must be a multiple). */
  readonly heads: number;
  /** Number of blocks. */
  readonly layers: number;
  /** Hidden width of each block's MLP (default 4·dim). */
  readonly mlpDim?: number;
  /** Standard deviation of the token and position embeddings' initialisation (default 0.5). */
  readonly embeddingStd?: number;
}

/**
 * A decoder-only transformer language model: ids [batch, seq] → next-token logits [batch, seq, vocab] (see the module
 * notes). Parameters: [tokenEmbedding, positionEmbedding, ...blocks, layerNorm, projection].
 *
 * @example
 * ```ts
 * const model = nn.decoderTransformer({ vocab: 12, maxLength: 16, dim: 64, heads: 4, layers: 2 });
 * const { params } = model.init(nn.random.key(0), [-1, 11]); // logits [-1, 11, 12]
 * ```
 */
export function decoderTransformer(opts: DecoderOptions): AnyLayer {
  const { vocab, maxLength, dim, heads, layers } = opts;
  if (!Number.isInteger(layers) || layers < 0) throw new ShapeError('decoderTransformer', `layers must be an integer ≥ 0, got ${layers}`);
  const std = opts.embeddingStd ?? 0.5;
  const blocks = Array.from({ length: layers }, () => transformerBlock(dim, heads, opts.mlpDim ? { mlpDim: opts.mlpDim } : {}));
  return seq(embedding(vocab, dim, { std }), positionEmbedding(maxLength, { std }), ...blocks, layerNormLayer(), dense(vocab));
}
