/**
 * Recurrent layers built on `scan`: `gru(units)` and `lstm(units)` read
 * inputs [batch, time, features] and return the last state [batch, units] or,
 * with `returnSequences`, every state [batch, time, units]. The input
 * projection of every time step is one matmul before the loop; the loop
 * (one `scan` equation, its body traced once) carries the state.
 */
import type { Tensor } from '../tensor/Tensor.js';
import type { DType } from '../tensor/dtype.js';
import { fmt } from '../tensor/shape.js';
import { ShapeError } from '../tensor/ShapeError.js';
import { add, mul, sigmoid, sub, tanh } from '../ops/elementwise.js';
import { matmul } from '../ops/matmul.js';
import { concat, matrixTranspose, reshape, slice, transpose } from '../ops/structural.js';
import { ones, zeros } from '../ops/creation.js';
import { scan } from '../transforms/control.js';
import { initializers } from './initializers.js';
import { makeLayer, type Layer, type RShape } from './layer.js';
import { split } from './random.js';

/** Options of `gru` and `lstm`. */
export interface RecurrentOptions {
  /** Return every state [batch, time, units] instead of the last one [batch, units] (default false). */
  readonly returnSequences?: boolean;
  /** The parameters' dtype (default f32). */
  readonly dtype?: DType;
}

/**
 * The parameters of a recurrent layer with `g` gates: input kernel Wx [g·units, features], recurrent kernel
 * Wh [g·units, units], bias b [g·units].
 */
export interface RecurrentParams {
  readonly Wx: Tensor;
  readonly Wh: Tensor;
  readonly b: Tensor;
}

/** Columns [k·units, (k+1)·units) of a [batch, g·units] tensor. */
const gate = (x: Tensor, k: number, units: number, n = 1): Tensor => slice(x, [0, k * units], [x.shape[0]!, n * units]);

function recurrent(
  kind: 'gru' | 'lstm',
  units: number,
  opts: RecurrentOptions,
): Layer<readonly [number, number, number], readonly number[], RecurrentParams> {
  if (!Number.isInteger(units) || units <= 0) throw new ShapeError(kind, `units must be a positive integer, got ${units}`);
  const gates = kind === 'gru' ? 3 : 4;
  const seqs = opts.returnSequences === true;
  const name = `${kind}(${units}${seqs ? ', sequences' : ''})`;
  const spec: Record<string, unknown> = { type: kind, units };
  if (seqs) spec.returnSequences = true;
  if (opts.dtype) spec.dtype = opts.dtype;
  return makeLayer({
    name,
    spec: spec as { type: string },
    init: (key, s: RShape) => {
      const shape = s as readonly number[];
      if (shape.length !== 3 || Array.isArray(shape[0]))
        throw new ShapeError(name, `expects an input [batch, time, features], got ${fmt(shape as number[])}`);
      const fin = shape[2]!;
      if (!(fin > 0)) throw new ShapeError(name, `input features must be known and positive, got ${fmt(shape)}`);
      const [kx, kh] = split(key, 2);
      const Wx = initializers.glorotNormal(kx!, [gates * units, fin], fin, gates * units, opts.dtype);
      const Wh = initializers.glorotNormal(kh!, [gates * units, units], units, gates * units, opts.dtype);
      // the LSTM's forget gate starts open (bias 1), the usual choice
      const dtype = { dtype: opts.dtype ?? 'f32' } as const;
      const b =
        kind === 'lstm'
          ? concat([zeros([units], dtype), ones([units], dtype), zeros([2 * units], dtype)], 0)
          : zeros([gates * units], dtype);
      return { params: { Wx, Wh, b }, outputShape: seqs ? [shape[0]!, shape[1]!, units] : [shape[0]!, units] };
    },
    apply: (p, input) => {
      const x = input as Tensor;
      if (x.ndim !== 3) throw new ShapeError(name, `expects an input [batch, time, features], got ${fmt(x.shape)}`);
      const [batch, time, fin] = x.shape as [number, number, number];
      // every time step's input projection at once: [time, batch, gates·units]
      const proj = add(matmul(reshape(transpose(x, [1, 0, 2]), [time * batch, fin]), matrixTranspose(p.Wx)), p.b);
      const xs = reshape(proj, [time, batch, gates * units]);
      const WhT = matrixTranspose(p.Wh);
      const h0 = zeros([batch, units], { dtype: x.dtype });
      if (kind === 'gru') {
        const Wzr = slice(WhT, [0, 0], [units, 2 * units]);
        const Wn = slice(WhT, [0, 2 * units], [units, units]);
        const [hT, hs] = scan(
          (h: Tensor, xp: Tensor): [Tensor, Tensor] => {
            const zr = sigmoid(add(gate(xp, 0, units, 2), matmul(h, Wzr)));
            const z = gate(zr, 0, units);
            const r = gate(zr, 1, units);
            const n = tanh(add(gate(xp, 2, units), matmul(mul(r, h), Wn)));
            const h2 = add(n, mul(z, sub(h, n))); // (1 − z)·n + z·h
            return [h2, h2];
          },
          h0,
          xs,
        );
        return seqs ? transpose(hs, [1, 0, 2]) : hT;
      }
      const [[hT], hs] = scan(
        ([h, c]: readonly [Tensor, Tensor], xp: Tensor): [[Tensor, Tensor], Tensor] => {
          const pre = add(xp, matmul(h, WhT));
          const i = sigmoid(gate(pre, 0, units));
          const f = sigmoid(gate(pre, 1, units));
          const g = tanh(gate(pre, 2, units));
          const o = sigmoid(gate(pre, 3, units));
          const c2 = add(mul(f, c), mul(i, g));
          const h2 = mul(o, tanh(c2));
          return [[h2, c2], h2];
        },
        [h0, h0] as readonly [Tensor, Tensor],
        xs,
      );
      return seqs ? transpose(hs, [1, 0, 2]) : hT;
    },
  }) as Layer<readonly [number, number, number], readonly number[], RecurrentParams>;
}

/**
 * A gated recurrent unit over inputs [batch, time, features]:
 * z = σ(x Wxzᵀ + h Whzᵀ + bz), r = σ(…), n = tanh(x Wxnᵀ + (r ⊙ h) Whnᵀ + bn),
 * h ← (1 − z) ⊙ n + z ⊙ h, from h = 0; returns the last h [batch, units]
 * (every h with `returnSequences`).
 *
 * @example
 * const model = nn.serial(nn.reshape([8, 8]), nn.gru(64), nn.dense(10)); // an 8×8 image read row by row
 */
export const gru = (units: number, opts: RecurrentOptions = {}) => recurrent('gru', units, opts);

/**
 * A long short-term memory layer over inputs [batch, time, features]: gates
 * i, f, o = σ(…), g = tanh(…) from x Wxᵀ + h Whᵀ + b; c ← f ⊙ c + i ⊙ g,
 * h ← o ⊙ tanh(c), from h = c = 0 (the forget gate's bias starts at 1);
 * returns the last h (every h with `returnSequences`).
 *
 * @example
 * const model = nn.serial(nn.reshape([8, 8]), nn.lstm(64), nn.dense(10));
 */
export const lstm = (units: number, opts: RecurrentOptions = {}) => recurrent('lstm', units, opts);
