/**
 * A transformer that learns 3-digit + 3-digit addition from character
 * sequences (the `transformer-addition` model of `cotangent train` and
 * examples/transformer-addition.ts).
 *
 * Format: the operands zero-padded to 3 digits, then '+' and '=', then the
 * 4-digit sum with its digits reversed (units first, so each answer digit
 * depends on digits already written and a carry): 123 + 989 = 1112 is
 * "123+989=2111". Tokens 0-9 are digits, 10 is '+', 11 is '='. The model
 * reads the first 11 tokens and is trained on its predictions of the 4
 * answer digits only. 1,000 problems are held out (never trained on) and
 * scored by exact match after greedy autoregressive decoding: the prompt,
 * then each answer digit taken as the argmax of the model's logits given
 * the prompt and the digits it wrote before.
 */
import type { Tensor } from '../tensor/Tensor.js';
import { ValueError } from '../tensor/ShapeError.js';
import { fromTypedArray } from '../ops/creation.js';
import { defaultBackend } from '../backends/registry.js';
import { div, mul, neg } from '../ops/elementwise.js';
import { oneHot, logSoftmax } from '../ops/composite.js';
import { argmax, sum } from '../ops/reduce.js';
import { cast } from '../ops/structural.js';
import { greaterEqual } from '../ops/elementwise.js';
import { scope } from '../core/memory.js';
import { treeLeaves } from '../core/pytree.js';
import { jit } from '../jit/jit.js';
import { debugCounters } from '../core/debug.js';
import { adam } from '../nn/optim.js';
import { cosineDecay, warmup } from '../nn/schedules.js';
import { key as prngKey } from '../nn/random.js';
import { trainStep } from '../nn/train.js';
import { paramCount } from '../nn/tree.js';
import { decoderTransformer } from '../nn/transformer.js';
import type { AnyLayer } from '../nn/layer.js';
import type { BackendName } from '../backends/Backend.js';
import { init, shutdown } from '../core/init.js';
import { mulberry32 } from '../core/seededRandom.js';
import type { CliIO } from './io.js';

/** Digits per operand. */
export const DIGITS = 3;
/** The '+' token. */
export const PLUS = 10;
/** The '=' token. */
export const EQUALS = 11;
/** Number of token ids. */
export const VOCAB = 12;
/** Tokens of the prompt "abc+def=". */
export const PROMPT = 2 * DIGITS + 2;
/** Digits of the answer (the sum of two 3-digit numbers has at most 4). */
export const ANSWER = DIGITS + 1;
/** Tokens the model reads: the prompt and all but the last answer digit. */
export const INPUT = PROMPT + ANSWER - 1;

const POW = 10 ** DIGITS;

/** The 12 tokens of a + b: operands zero-padded, then the sum's digits units first. */
export function encodeProblem(a: number, b: number): number[] {
  if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= 0 && a < POW && b < POW))
    throw new ValueError('encodeProblem', `operands must be integers in [0, ${POW}), got ${a} and ${b}`);
  const digits = (n: number, k: number) => Array.from({ length: k }, (_, i) => Math.floor(n / 10 ** (k - 1 - i)) % 10);
  const s = a + b;
  const answer = Array.from({ length: ANSWER }, (_, i) => Math.floor(s / 10 ** i) % 10);
  return [...digits(a, DIGITS), PLUS, ...digits(b, DIGITS), EQUALS, ...answer];
}

/** The number whose digits, units first, are `ds`. */
export const decodeAnswer = (ds: ArrayLike<number>): number => Array.from(ds).reduce((acc, d, i) => acc + d * 10 ** i, 0);

/** A seeded generator of uniform numbers in [0, 1) (mulberry32). */
export const randomStream: (seed: number) => () => number = mulberry32;

/** A problem: the two operands. */
export type Problem = readonly [number, number];

/** `n` distinct problems drawn with `seed` (the held-out set). */
export function heldOutProblems(n: number, seed: number): Problem[] {
  if (!(Number.isInteger(n) && n >= 1 && n <= POW * POW))
    throw new ValueError('heldOutProblems', `the held-out set must hold 1 to ${POW * POW} problems, got ${n}`);
  const rand = randomStream(seed ^ 0x5eed);
  const seen = new Set<number>();
  const out: Problem[] = [];
  while (out.length < n) {
    const a = Math.floor(rand() * POW);
    const b = Math.floor(rand() * POW);
    if (seen.has(a * POW + b)) continue;
    seen.add(a * POW + b);
    out.push([a, b]);
  }
  return out;
}

/** A training batch: inputs x [size, 11] and labels y [size, 11] (the next token at answer positions, −1 elsewhere). */
export function trainingBatch(size: number, rand: () => number, excluded: ReadonlySet<number>): { x: Int32Array; y: Int32Array } {
  const x = new Int32Array(size * INPUT);
  const y = new Int32Array(size * INPUT).fill(-1);
  for (let r = 0; r < size; r++) {
    let a: number;
    let b: number;
    do {
      a = Math.floor(rand() * POW);
      b = Math.floor(rand() * POW);
    } while (excluded.has(a * POW + b));
    const t = encodeProblem(a, b);
    for (let i = 0; i < INPUT; i++) x[r * INPUT + i] = t[i]!;
    for (let i = PROMPT - 1; i < INPUT; i++) y[r * INPUT + i] = t[i + 1]!;
  }
  return { x, y };
}

/** Mean cross-entropy of the logits [batch, seq, vocab] at the positions whose label [batch, seq] is ≥ 0. */
export function maskedCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const target = oneHot(labels, logits.shape[logits.ndim - 1]!, { dtype: logits.dtype }); // −1 gives a zero row
  const count = sum(cast(greaterEqual(labels, 0), logits.dtype));
  return div(neg(sum(mul(target, logSoftmax(logits, -1)))), count);
}

/**
 * Greedy autoregressive decoding of the answers: `logitsOf` maps ids [n, 11] to logits [n, 11, vocab]; answer digit k is
 * the argmax at position PROMPT − 1 + k given the prompt and the k digits decoded before (later positions hold 0 and,
 * the model being causal, do not matter). Returns the decoded sums.
 */
export async function greedyAnswers(logitsOf: (ids: Tensor) => Tensor, problems: readonly Problem[]): Promise<number[]> {
  const n = problems.length;
  const ids = new Int32Array(n * INPUT);
  problems.forEach(([a, b], r) => {
    encodeProblem(a, b)
      .slice(0, PROMPT)
      .forEach((t, i) => {
        ids[r * INPUT + i] = t;
      });
  });
  const digits = Array.from({ length: n }, () => new Array<number>(ANSWER).fill(0));
  for (let k = 0; k < ANSWER; k++) {
    const pos = PROMPT - 1 + k;
    const pred = scope(() => argmax(logitsOf(fromTypedArray(ids, [n, INPUT], 'i32', defaultBackend())), -1));
    const p = (await pred.data()) as Int32Array;
    pred.dispose();
    for (let r = 0; r < n; r++) {
      const d = p[r * INPUT + pos]!;
      digits[r]![k] = d;
      if (pos + 1 < INPUT) ids[r * INPUT + pos + 1] = d;
    }
  }
  return digits.map(decodeAnswer);
}

/** Exact-match accuracy of decoded sums: how many equal a + b. */
export function exactMatches(problems: readonly Problem[], answers: readonly number[]): number {
  return problems.reduce((c, [a, b], i) => c + (answers[i] === a + b ? 1 : 0), 0);
}

/** The accuracy line printed last: `exact-match accuracy X% (n/total)`. */
export const accuracyLine = (correct: number, total: number): string =>
  `exact-match accuracy ${((100 * correct) / total).toFixed(1)}% (${correct}/${total})`;

/** Options of `trainAddition`. */
export interface AdditionOptions {
  /** Training steps (default 1200). */
  readonly steps?: number;
  /** Problems per step (default 128). */
  readonly batch?: number;
  /** Peak learning rate of Adam (default 3e-3), reached after a linear warm-up, then cosine decay. */
  readonly lr?: number;
  /** Warm-up steps (default 100). */
  readonly warmupSteps?: number;
  /** Seed of the initialisation, the training problems and the held-out set (default 0). */
  readonly seed?: number;
  /** Model width (default 64); 4 heads, 2 blocks, MLP 4·width. */
  readonly dim?: number;
  /** Held-out problems (default 1000). */
  readonly heldOut?: number;
  /** Compile the step with jit (default true). */
  readonly jit?: boolean;
  /** Progress lines (default none). */
  readonly log?: (line: string) => void;
  /** Report the loss every this many steps (default 100). */
  readonly logEvery?: number;
}

/** What `trainAddition` returns. */
export interface AdditionResult {
  readonly model: AnyLayer;
  readonly params: unknown;
  readonly steps: number;
  /** Mean loss of the last logged window of steps. */
  readonly finalLoss: number;
  /** Mean loss of every logged window of steps, in order. */
  readonly losses: readonly number[];
  readonly correct: number;
  readonly total: number;
  readonly trainSeconds: number;
  /** Programs traced by jit during training (1 when every step ran the one compiled program). */
  readonly traces: number;
  /** Fused kernels launched by compiled programs during training (0 when the steps ran op by op). */
  readonly fusedKernels: number;
}

/** Build the model, train it on fresh random problems (never the held-out ones) and score it on the held-out set. */
export async function trainAddition(opts: AdditionOptions = {}): Promise<AdditionResult> {
  const steps = opts.steps ?? 1200;
  const batch = opts.batch ?? 128;
  const lr = opts.lr ?? 3e-3;
  const warm = Math.min(opts.warmupSteps ?? 100, steps);
  const seed = opts.seed ?? 0;
  const dim = opts.dim ?? 64;
  const log = opts.log ?? (() => undefined);
  const every = opts.logEvery ?? 100;
  const held = heldOutProblems(opts.heldOut ?? 1000, seed);
  const excluded = new Set(held.map(([a, b]) => a * POW + b));
  const model = decoderTransformer({ vocab: VOCAB, maxLength: INPUT, dim, heads: 4, layers: 2 });
  let params = model.init(prngKey(seed), [-1, INPUT]).params as unknown;
  const optimizer = adam(warmup(warm, cosineDecay(lr, Math.max(1, steps - warm), lr / 20)));
  let state = optimizer.init(params);
  const step = trainStep(model, maskedCrossEntropy, optimizer, opts.jit === false ? { jit: false } : {});
  log(
    `model: decoder transformer, 2 blocks, width ${dim}, 4 heads, ${paramCount(params)} parameters; ${steps} steps of ${batch} ` +
      `problems, adam lr ${lr} (warm-up ${warm}, cosine decay), seed ${seed}`,
  );
  const rand = randomStream(seed + 1);
  const backend = defaultBackend();
  const c0 = debugCounters();
  const t0 = performance.now();
  let window = 0;
  let windowN = 0;
  let finalLoss = Number.NaN;
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const { x, y } = trainingBatch(batch, rand, excluded);
    const xt = fromTypedArray(x, [batch, INPUT], 'i32', backend);
    const yt = fromTypedArray(y, [batch, INPUT], 'i32', backend);
    const r = step(params as never, state, xt, yt);
    xt.dispose();
    yt.dispose();
    params = r.params;
    state = r.state;
    window += (await r.loss.data())[0]!;
    windowN++;
    if ((s + 1) % every === 0 || s + 1 === steps) {
      finalLoss = window / windowN;
      losses.push(finalLoss);
      if (!Number.isFinite(finalLoss)) throw new ValueError('trainAddition', `the loss is ${finalLoss} at step ${s + 1}`);
      log(`step ${s + 1}/${steps}: loss ${finalLoss.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      window = 0;
      windowN = 0;
    }
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  const c1 = debugCounters();
  const traces = c1.traces - c0.traces;
  const fusedKernels = c1.dispatches - c1.kernelCalls - (c0.dispatches - c0.kernelCalls);
  step.release();
  for (const l of treeLeaves(state.slots)) if (typeof l !== 'number') l.dispose();
  const forward = jit((p: unknown, ids: Tensor) => model.apply(p, ids as never) as Tensor);
  const answers = await greedyAnswers((ids) => forward(params, ids), held);
  forward.clearCache();
  return {
    model,
    params,
    steps,
    finalLoss,
    losses,
    correct: exactMatches(held, answers),
    total: held.length,
    trainSeconds,
    traces,
    fusedKernels,
  };
}

/** Flags `cotangent train --model transformer-addition` accepts (others are refused). */
export interface AdditionFlags {
  readonly steps?: number | undefined;
  readonly batch?: number | undefined;
  readonly lr?: number | undefined;
  readonly seed?: number | undefined;
  readonly backend?: BackendName | undefined;
  readonly 'no-jit'?: boolean | undefined;
}

/**
 * `cotangent train --model transformer-addition`: train on the wasm backend (or `--backend`), progress on stderr,
 * then the model's description and, last, the exact-match accuracy line on stdout.
 */
export async function additionCommand(f: AdditionFlags, io: CliIO): Promise<number> {
  const backend = f.backend ?? 'wasm';
  await init({ backend });
  try {
    const r = await trainAddition({
      ...(f.steps !== undefined ? { steps: f.steps } : {}),
      ...(f.batch !== undefined ? { batch: f.batch } : {}),
      ...(f.lr !== undefined ? { lr: f.lr } : {}),
      ...(f.seed !== undefined ? { seed: f.seed } : {}),
      ...(f['no-jit'] ? { jit: false } : {}),
      log: (line) => io.err(`${line}\n`),
    });
    io.out(
      `transformer-addition: ${r.steps} steps in ${r.trainSeconds.toFixed(1)} s on ${backend}${f['no-jit'] ? ' (no jit)' : ''}, ` +
        `final loss ${r.finalLoss.toFixed(4)}\n`,
    );
    io.out(`${accuracyLine(r.correct, r.total)}\n`);
    return 0;
  } finally {
    if (backend === 'webgpu') await shutdown();
  }
}
