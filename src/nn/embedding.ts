/**
 * Embeddings: `embedding(vocab, dim)` maps i32 token ids [...] to rows of a
 * learned table [vocab, dim] ([..., dim]); `positionEmbedding(maxLength)`
 * adds a learned vector per position to [batch, seq, dim] (seq ≤ maxLength).
 */
import type { Tensor } from '../tensor/Tensor.js';
import type { DType } from '../tensor/dtype.js';
import { fmt } from '../tensor/shape.js';
import { ShapeError } from '../tensor/ShapeError.js';
import { add } from '../ops/elementwise.js';
import { take } from '../ops/indexing.js';
import { slice } from '../ops/structural.js';
import { isMultiShape, makeLayer, type Layer, type RShape, type Same, type ShapeT } from './layer.js';
import { fmtShape } from './combinators.js';
import { normal } from './random.js';

/** Parameters of an embedding: the table [rows, dim]. */
export interface EmbeddingParams {
  readonly table: Tensor;
}

/** Options of `embedding` and `positionEmbedding`. */
export interface EmbeddingOptions {
  /** Standard deviation of the table's normal initialisation (default 1 for `embedding`, 0.02 for `positionEmbedding`). */
  readonly std?: number;
  /** The table's dtype (default f32). */
  readonly dtype?: DType;
}

/**
 * Rows `indices` (i32, any shape [...]) of `table` [rows, dim]: [..., dim] (`take` along axis 0). The derivative with
 * respect to the table adds each cotangent row into the row it was read from (`scatterAdd`). Negative ids count from
 * the end; ids outside [−rows, rows) are an error on the cpu and wasm backends and read a zero row on WebGPU.
 */
export function lookup(table: Tensor, indices: Tensor): Tensor {
  if (indices.dtype !== 'i32') throw new ShapeError('embedding', `token ids must be i32, got ${indices.dtype}${fmt(indices.shape)}`);
  if (table.ndim !== 2) throw new ShapeError('embedding', `the table must be [rows, dim], got ${fmt(table.shape)}`);
  return take(table, indices, 0);
}

function one(name: string, s: RShape): readonly number[] {
  if (isMultiShape(s)) throw new ShapeError(name, `expects one input, got ${fmtShape(s)}`);
  return s as readonly number[];
}

function checkSize(op: string, what: string, n: number): void {
  if (!Number.isInteger(n) || n <= 0) throw new ShapeError(op, `${what} must be a positive integer, got ${n}`);
}

/**
 * Token embedding: i32 ids [...] → rows of a learned table [vocab, dim] ([..., dim]); the table starts N(0, std²)
 * (std 1 by default).
 *
 * @example
 * ```ts
 * const model = nn.serial(nn.embedding(12, 64), nn.positionEmbedding(16)); // ids [batch, seq] → [batch, seq, 64]
 * ```
 */
export function embedding<const D extends number>(
  vocab: number,
  dim: D,
  opts: EmbeddingOptions = {},
): Layer<ShapeT, readonly [...number[], D], EmbeddingParams> {
  checkSize('embedding', 'vocab', vocab);
  checkSize('embedding', 'dim', dim);
  const name = `embedding(${vocab}, ${dim})`;
  const spec: Record<string, unknown> = { type: 'embedding', vocab, dim };
  if (opts.std !== undefined) spec.std = opts.std;
  if (opts.dtype) spec.dtype = opts.dtype;
  // ValueOf of a generic shape type stays unresolved inside the body; the declared return type carries the shapes
  // biome-ignore lint/suspicious/noExplicitAny: see above
  return makeLayer<any, any, EmbeddingParams>({
    name,
    spec: spec as { type: string },
    init: (key, s) => {
      const shape = one(name, s);
      return {
        params: { table: normal(key, [vocab, dim], { std: opts.std ?? 1, dtype: opts.dtype === 'f64' ? 'f64' : 'f32' }) },
        outputShape: [...shape, dim],
      };
    },
    apply: (p, x) => lookup(p.table, x as Tensor),
  });
}

/**
 * Learned position embedding: adds row t of a table [maxLength, dim] to position t of [batch, seq, dim]
 * (seq ≤ maxLength); the table starts N(0, std²) (std 0.02 by default).
 */
export function positionEmbedding(maxLength: number, opts: EmbeddingOptions = {}): Layer<Same, Same, EmbeddingParams> {
  checkSize('positionEmbedding', 'maxLength', maxLength);
  const name = `positionEmbedding(${maxLength})`;
  const spec: Record<string, unknown> = { type: 'positionEmbedding', maxLength };
  if (opts.std !== undefined) spec.std = opts.std;
  if (opts.dtype) spec.dtype = opts.dtype;
  const check = (shape: readonly number[]): void => {
    if (shape.length !== 3) throw new ShapeError(name, `expects an input [batch, seq, dim], got ${fmt(shape)}`);
    if (shape[1]! > maxLength) throw new ShapeError(name, `sequence length ${shape[1]} exceeds maxLength ${maxLength}`);
  };
  return makeLayer<Same, Same, EmbeddingParams>({
    name,
    spec: spec as { type: string },
    init: (key, s) => {
      const shape = one(name, s);
      check(shape);
      const dim = shape[2]!;
      if (!(dim > 0)) throw new ShapeError(name, `the embedding width must be known, got ${fmt(shape)}`);
      const table = normal(key, [maxLength, dim], { std: opts.std ?? 0.02, dtype: opts.dtype === 'f64' ? 'f64' : 'f32' });
      return { params: { table }, outputShape: shape };
    },
    apply: (p, x) => {
      check(x.shape);
      if (x.shape[2] !== p.table.shape[1])
        throw new ShapeError(name, `input ${fmt(x.shape)} and table ${fmt(p.table.shape)} differ in width`);
      return add(x, slice(p.table, [0, 0], [x.shape[1]!, x.shape[2]!]));
    },
  });
}
