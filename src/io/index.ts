/**
 * cotangent/io: data set readers (CSV, IDX / MNIST-style, the embedded
 * digits), safetensors encoding, checkpoints, the io-ts codecs that
 * validate everything read, and ONNX export (`exportOnnx`).
 *
 * @module cotangent/io
 */
export { DataError } from './errors.js';
export { readCsv, parseCsv, type CsvOptions } from './csv.js';
export { readIdx, parseIdx, readIdxDataset, readMnistDir, FASHION_MNIST_DIR, type IdxArray } from './idx.js';
export { loadDigits, digitsSplit, digitsPath, DIGITS_SPLIT_SEED } from './digits.js';
export { encodeSafetensors, decodeSafetensors, type RawTensor, type Safetensors } from './safetensors.js';
export {
  saveCheckpoint,
  readCheckpoint,
  loadParams,
  loadOptState,
  restoreModel,
  checkpointFile,
  CheckpointError,
  CHECKPOINT_FILE,
  type Checkpoint,
  type SaveOptions,
  type Restored,
} from './checkpoint.js';
export { writeFileAtomic, writeFilesAtomic, checkWritableDir, makeDir, removeStaleTemps, OutputError } from './atomic.js';
export * as codecs from './codecs.js';
export { exportOnnx, DEFAULT_OPSET, type OnnxExportOptions } from './onnx/export.js';
export { onnxRules, type OnnxRule, type OnnxBuilder, type OnnxEqn, type Dim, type Attrs } from './onnx/rules.js';
export { decodeModel as decodeOnnx, encodeModel as encodeOnnx, ONNX_PROTO, type ModelProto as OnnxModelProto } from './onnx/schema.js';
