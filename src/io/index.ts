/**
 * cotangent/io: data set readers (CSV, IDX / MNIST-style, the embedded
 * digits), safetensors encoding, checkpoints and the io-ts codecs that
 * validate everything read.
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
