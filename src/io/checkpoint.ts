/**
 * Checkpoints: a model's parameters (and optionally the optimiser state and
 * the architecture description) in one safetensors file. Tensor names are
 * paths in the parameter tree (`params.0.W`, `optimizer.m.0.W`); the
 * architecture, input shape and optimiser go in `__metadata__` as JSON
 * strings, validated by io-ts on load. Writes are atomic (with any extra
 * files in the same commit step). Loading into an
 * architecture with different shapes fails naming the parameter.
 */
import { statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { pipe } from 'fp-ts/lib/function.js';
import type { Tensor } from '../tensor/Tensor.js';
import { fmt, shapesEqual } from '../tensor/shape.js';
import { backendFor, fromTypedArray } from '../ops/creation.js';
import { scope } from '../core/memory.js';
import { treeLeaves } from '../core/pytree.js';
import type { AnyLayer, LayerSpec, RShape } from '../nn/layer.js';
import type { Optimizer, OptState } from '../nn/optim.js';
import { key as prngKey } from '../nn/random.js';
import { checkSpec, fromSpec } from '../nn/spec.js';
import { namedLeaves, rebuildByName } from '../nn/tree.js';
import { OutputError, writeFilesAtomic } from './atomic.js';
import { CheckpointMeta, formatErrors, type OptimizerMeta } from './codecs.js';
import { readMaybeGzip } from './files.js';
import { decodeSafetensors, encodeSafetensors, type RawTensor } from './safetensors.js';

/** A checkpoint that cannot be read or does not fit: `file` names it, the message says what is wrong. */
export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'CheckpointError';
  }
}

/** The file name of a checkpoint inside its folder. */
export const CHECKPOINT_FILE = 'model.safetensors';

/** A directory means `<dir>/model.safetensors`; a path ending in .safetensors is the file itself. */
export function checkpointFile(path: string): string {
  if (path.endsWith('.safetensors')) return path;
  try {
    if (statSync(path).isFile()) return path;
  } catch {
    // not there yet: treat as a directory
  }
  return join(path, CHECKPOINT_FILE);
}

/** What `saveCheckpoint` saves: the parameters and, optionally, the architecture, input shape, optimiser state and class names. */
export interface SaveOptions<P> {
  readonly params: P;
  /** Saves the architecture description so `restoreModel` can rebuild the model. */
  readonly model?: AnyLayer;
  /** The input shape the model was initialised with (batch axis -1). */
  readonly inputShape?: readonly number[];
  readonly optimizer?: Optimizer;
  readonly optState?: OptState;
  readonly classes?: readonly string[];
  readonly info?: Readonly<Record<string, unknown>>;
  /**
   * Other files written next to the checkpoint in the same commit step (e.g.
   * `{ 'history.json': text }`): all are written to synced temporaries first,
   * then renamed into place, the checkpoint last.
   */
  readonly files?: Readonly<Record<string, Uint8Array | string>>;
}

async function raw(t: Tensor): Promise<RawTensor> {
  return { dtype: t.dtype, shape: t.shape, data: await t.data() };
}

/** Write a checkpoint atomically; returns the file written. */
export async function saveCheckpoint<P>(path: string, opts: SaveOptions<P>): Promise<string> {
  const file = checkpointFile(path);
  const entries: [string, RawTensor][] = [];
  for (const [name, t] of namedLeaves(opts.params)) entries.push([`params.${name}`, await raw(t)]);
  const meta: Record<string, string> = { format: 'cotangent', version: '1' };
  if (opts.model) meta.architecture = JSON.stringify(opts.model.spec);
  if (opts.inputShape) meta.inputShape = JSON.stringify(opts.inputShape);
  if (opts.classes) meta.classes = JSON.stringify(opts.classes);
  if (opts.info) meta.info = JSON.stringify(opts.info);
  if (opts.optState) {
    const slots = Object.keys(opts.optState.slots);
    for (const s of slots)
      for (const [name, t] of namedLeaves(opts.optState.slots[s])) entries.push([`optimizer.${s}.${name}`, await raw(t)]);
    const om: OptimizerMeta = { config: { ...(opts.optimizer?.config ?? {}) }, step: opts.optState.step as OptimizerMeta['step'], slots };
    meta.optimizer = JSON.stringify(om);
  }
  const dir = dirname(file);
  const extra = Object.entries(opts.files ?? {}).map(([name, data]): [string, Uint8Array | string] => {
    if (name === '' || name !== basename(name) || name === basename(file))
      throw new OutputError(
        join(dir, name),
        'extra checkpoint files are plain names in the checkpoint folder, other than the checkpoint itself',
      );
    return [join(dir, name), data];
  });
  writeFilesAtomic([...extra, [file, encodeSafetensors(entries, meta)]]);
  return file;
}

/** A checkpoint read back: its file, its raw tensors by name and its validated metadata. */
export interface Checkpoint {
  readonly file: string;
  readonly tensors: ReadonlyMap<string, RawTensor>;
  readonly meta: CheckpointMeta;
}

/** Read and validate a checkpoint file (or `<dir>/model.safetensors`). */
export function readCheckpoint(path: string): E.Either<CheckpointError, Checkpoint> {
  const file = checkpointFile(path);
  let buf: Uint8Array;
  try {
    buf = readMaybeGzip(file);
  } catch (e) {
    return E.left(new CheckpointError(file, (e as Error).message.replace(`${file}: `, '')));
  }
  return pipe(
    decodeSafetensors(buf),
    E.mapLeft((m) => new CheckpointError(file, `not a valid safetensors file: ${m}`)),
    E.chain((st) =>
      pipe(
        CheckpointMeta.decode(st.metadata),
        E.mapLeft((errs) => new CheckpointError(file, `invalid cotangent metadata: ${formatErrors(errs)}`)),
        E.map((meta) => ({ file, tensors: st.tensors, meta })),
      ),
    ),
  );
}

/** Tensors under `prefix` rebuilt in the structure of `template`; names, shapes and dtypes must match. */
function rebuild<P>(ck: Checkpoint, prefix: string, template: P, what: string): E.Either<CheckpointError, P> {
  const expected = namedLeaves(template);
  const names = new Set(expected.map(([n]) => `${prefix}${n}`));
  for (const [n, t] of expected) {
    const r = ck.tensors.get(`${prefix}${n}`);
    if (!r) return E.left(new CheckpointError(ck.file, `${what} '${n}' is missing from the checkpoint (the architecture differs)`));
    if (!shapesEqual(r.shape, t.shape))
      return E.left(
        new CheckpointError(ck.file, `${what} '${n}' has shape ${fmt(r.shape)} in the checkpoint but ${fmt(t.shape)} in the model`),
      );
    if (r.dtype !== t.dtype)
      return E.left(new CheckpointError(ck.file, `${what} '${n}' has dtype ${r.dtype} in the checkpoint but ${t.dtype} in the model`));
  }
  for (const k of ck.tensors.keys()) {
    if (k.startsWith(prefix) && !names.has(k))
      return E.left(
        new CheckpointError(
          ck.file,
          `${what} '${k.slice(prefix.length)}' in the checkpoint has no place in the model (the architecture differs)`,
        ),
      );
  }
  return E.right(
    rebuildByName(template, (n) => {
      const r = ck.tensors.get(`${prefix}${n}`)!;
      return fromTypedArray(r.data, r.shape, r.dtype, backendFor(undefined, r.dtype));
    }),
  );
}

/** The saved parameters in the structure of `template` (e.g. fresh `model.init(...)` parameters). */
export const loadParams = <P>(ck: Checkpoint, template: P): E.Either<CheckpointError, P> => rebuild(ck, 'params.', template, 'parameter');

/** The saved optimiser state, slots in the structure of `params`. */
export function loadOptState<P>(ck: Checkpoint, params: P): E.Either<CheckpointError, OptState | undefined> {
  const om = ck.meta.optimizer;
  if (!om) return E.right(undefined);
  const slots: Record<string, unknown> = {};
  for (const s of om.slots) {
    const r = rebuild(ck, `optimizer.${s}.`, params, `optimizer slot ${s}`);
    if (E.isLeft(r)) return r;
    slots[s] = r.right;
  }
  return E.right(Object.freeze({ step: om.step, slots: Object.freeze(slots) }));
}

/** What `restoreModel` returns: the rebuilt model, its spec, parameters, input and output shapes and the optimiser state if saved. */
export interface Restored {
  readonly model: AnyLayer;
  readonly spec: LayerSpec;
  readonly params: unknown;
  readonly inputShape: readonly number[];
  /** The model's output shape for `inputShape` (e.g. [-1, classes]). */
  readonly outputShape: RShape;
  readonly optState?: OptState;
}

/** Rebuild the saved architecture and load its parameters (and optimiser state when present). */
export function restoreModel(ck: Checkpoint): E.Either<CheckpointError, Restored> {
  const spec = ck.meta.architecture;
  const inputShape = ck.meta.inputShape;
  if (!spec || !inputShape)
    return E.left(new CheckpointError(ck.file, 'the checkpoint has no architecture description (save it with { model, inputShape })'));
  try {
    checkSpec(spec, { inputShape });
  } catch (e) {
    return E.left(new CheckpointError(ck.file, (e as Error).message));
  }
  let model: AnyLayer;
  try {
    model = fromSpec(spec);
  } catch (e) {
    return E.left(new CheckpointError(ck.file, `cannot rebuild the architecture: ${(e as Error).message}`));
  }
  let template: unknown;
  let outputShape: RShape = [];
  try {
    template = scope(() => {
      const r = model.init(prngKey(0), inputShape);
      outputShape = r.outputShape;
      return r.params;
    });
  } catch (e) {
    return E.left(new CheckpointError(ck.file, `the saved architecture does not accept its saved input shape: ${(e as Error).message}`));
  }
  const loaded = loadParams(ck, template);
  for (const l of treeLeaves(template)) if (typeof l !== 'number') l.dispose();
  return pipe(
    loaded,
    E.chain((params) =>
      pipe(
        loadOptState(ck, params),
        E.map((optState) => ({ model, spec, params, inputShape, outputShape, ...(optState ? { optState } : {}) })),
      ),
    ),
  );
}
