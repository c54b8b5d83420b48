/**
 * `cotangent export`: restore a checkpoint's architecture and parameters and
 * write the model's forward pass as an ONNX file (parameters as
 * initializers, a dynamic batch dimension), ready for ONNX Runtime.
 */
import * as E from 'fp-ts/lib/Either.js';
import { init } from '../core/init.js';
import { zeros } from '../ops/creation.js';
import type { Tensor } from '../tensor/Tensor.js';
import { readCheckpoint, restoreModel } from '../io/checkpoint.js';
import { writeFileAtomic } from '../io/atomic.js';
import { decodeModel } from '../io/onnx/schema.js';
import { DEFAULT_OPSET, exportOnnx } from '../io/onnx/export.js';
import { decodeFlags, enumFlag, intFlag, stringFlag, UsageError } from './args.js';
import type { CliIO } from './io.js';

/** The flags of `cotangent export`. */
export const exportFlags = {
  checkpoint: stringFlag('checkpoint'),
  format: enumFlag('format', ['onnx'] as const),
  out: stringFlag('out'),
  opset: intFlag('opset', 17),
};

const DTYPE_NAMES: Readonly<Record<number, string>> = { 1: 'f32', 6: 'i32', 11: 'f64' };

/** A value's shape as ONNX gives it: numbers and symbolic names. */
const fmtDims = (dims: readonly ({ dim_value?: number } | { dim_param?: string })[]): string =>
  `[${dims.map((d) => ('dim_param' in d && d.dim_param ? d.dim_param : String((d as { dim_value?: number }).dim_value ?? 0))).join(',')}]`;

/** Run `cotangent export` with decoded flags: write the ONNX file and say what it holds. */
export async function exportCommand(flags: Readonly<Record<string, string | true>>, io: CliIO): Promise<number> {
  const f = decodeFlags('export', exportFlags, flags);
  if (!f.checkpoint) throw new UsageError('export needs --checkpoint PATH (see cotangent export --help)');
  if (!f.out) throw new UsageError('export needs --out FILE, e.g. --out model.onnx (see cotangent export --help)');
  const ck = readCheckpoint(f.checkpoint);
  if (E.isLeft(ck)) throw ck.left;
  await init({ backend: 'cpu' });
  const restored = restoreModel(ck.right);
  if (E.isLeft(restored)) throw restored.left;
  const { model, params, inputShape } = restored.right;
  // an example batch of 2 (any size works: the exporter traces other sizes to make the batch dynamic)
  const example = zeros([2, ...inputShape.slice(1)]);
  const opset = f.opset ?? DEFAULT_OPSET;
  const bytes = await exportOnnx((x: Tensor) => model.apply(params, x) as Tensor, example, {
    opset,
    names: { inputs: ['input'], outputs: ['output'], params },
  });
  writeFileAtomic(f.out, bytes);
  const m = decodeModel(bytes);
  const io_ = (v: (typeof m.graph.input)[number]) =>
    `'${v.name}' ${DTYPE_NAMES[v.type.tensor_type.elem_type] ?? '?'}${fmtDims(v.type.tensor_type.shape.dim)}`;
  io.out(
    `wrote ${f.out} (${bytes.length} bytes, ONNX opset ${opset}): input ${m.graph.input.map(io_).join(', ')}, ` +
      `output ${m.graph.output.map(io_).join(', ')}, ${m.graph.node.length} nodes, ${m.graph.initializer.length} initializers\n`,
  );
  return 0;
}
