/**
 * IDX reader (the MNIST / Fashion-MNIST format, optionally gzipped): magic
 * 0x0000 + type byte + rank byte, big-endian u32 dimensions, then the data.
 * Corrupt or truncated files give a DataError naming the file and the
 * problem (bad magic number, size mismatch, ...).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_CLASSES, type Dataset } from '../nn/dataset.js';
import { DataError } from './errors.js';
import { readMaybeGzip } from './files.js';

/** An IDX array (MNIST format): its shape and data in the file's element type. */
export interface IdxArray {
  readonly shape: number[];
  readonly data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

/** Element types by the header's type byte (0x08, 0x09, 0x0b-0x0e in the IDX format). */
const TYPES: Record<number, { name: string; bytes: number }> = {
  8: { name: 'u8', bytes: 1 },
  9: { name: 'i8', bytes: 1 },
  11: { name: 'i16', bytes: 2 },
  12: { name: 'i32', bytes: 4 },
  13: { name: 'f32', bytes: 4 },
  14: { name: 'f64', bytes: 8 },
};

/** Parse IDX bytes; `file` only names the source in errors. */
export function parseIdx(buf: Uint8Array, file: string): IdxArray {
  if (buf.length < 4) throw new DataError(file, `truncated IDX file: ${buf.length} bytes, no header`);
  if (buf[0] !== 0 || buf[1] !== 0 || !(buf[2]! in TYPES)) {
    const magic = Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
    throw new DataError(
      file,
      `bad magic number 0x${magic} (an IDX file starts with 0x0000, a type byte 08/09/0b/0c/0d/0e and a rank byte)`,
    );
  }
  const type = TYPES[buf[2]!]!;
  const rank = buf[3]!;
  if (rank === 0) throw new DataError(file, 'bad IDX header: rank 0');
  const headerBytes = 4 + 4 * rank;
  if (buf.length < headerBytes)
    throw new DataError(file, `truncated IDX header: needs ${headerBytes} bytes for rank ${rank}, file has ${buf.length}`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const shape = Array.from({ length: rank }, (_, i) => dv.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = headerBytes + count * type.bytes;
  if (buf.length !== expected) {
    throw new DataError(
      file,
      `size mismatch: header says ${type.name}[${shape.join(',')}] = ${count * type.bytes} data bytes (${expected} in all), file ` +
        `has ${buf.length} bytes${buf.length < expected ? ' (truncated)' : ''}`,
    );
  }
  const body = buf.subarray(headerBytes);
  switch (type.name) {
    case 'u8':
      return { shape, data: new Uint8Array(body) };
    case 'i8':
      return { shape, data: new Int8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length)) };
    default: {
      const out =
        type.name === 'i16'
          ? new Int16Array(count)
          : type.name === 'i32'
            ? new Int32Array(count)
            : type.name === 'f32'
              ? new Float32Array(count)
              : new Float64Array(count);
      const bdv = new DataView(body.buffer, body.byteOffset, body.byteLength);
      for (let i = 0; i < count; i++) {
        out[i] =
          type.name === 'i16'
            ? bdv.getInt16(2 * i, false)
            : type.name === 'i32'
              ? bdv.getInt32(4 * i, false)
              : type.name === 'f32'
                ? bdv.getFloat32(4 * i, false)
                : bdv.getFloat64(8 * i, false);
      }
      return { shape, data: out };
    }
  }
}

/** Read an IDX file (gzipped or not). */
export const readIdx = (file: string): IdxArray => parseIdx(readMaybeGzip(file), file);

/** An image/label IDX pair as a data set: pixels scaled to [0, 1], examples [H, W, 1] or flat. */
export function readIdxDataset(
  imagesFile: string,
  labelsFile: string,
  opts: { name?: string; flat?: boolean; numClasses?: number } = {},
): Dataset {
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  if (images.shape.length !== 3) throw new DataError(imagesFile, `expected images [n, rows, cols], got [${images.shape.join(',')}]`);
  if (labels.shape.length !== 1) throw new DataError(labelsFile, `expected labels [n], got [${labels.shape.join(',')}]`);
  if (labels.shape[0] !== images.shape[0])
    throw new DataError(labelsFile, `${labels.shape[0]} labels for ${images.shape[0]} images in ${imagesFile}`);
  const [n, h, w] = images.shape as [number, number, number];
  const x = new Float32Array(n * h * w);
  const scale = images.data instanceof Uint8Array ? 1 / 255 : 1;
  for (let i = 0; i < x.length; i++) x[i] = images.data[i]! * scale;
  const y = Int32Array.from(labels.data as ArrayLike<number>);
  const limit = opts.numClasses ?? MAX_CLASSES;
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    if (!(v >= 0 && v < limit))
      throw new DataError(
        labelsFile,
        `label ${v} at index ${i} is outside [0, ${limit})${opts.numClasses === undefined ? ` (the limit of ${MAX_CLASSES} classes)` : ''}`,
      );
  }
  const maxLabel = y.reduce((a, b) => Math.max(a, b), 0);
  return {
    name: opts.name ?? imagesFile,
    x,
    exampleShape: opts.flat === false ? [h, w, 1] : [h * w],
    y,
    numClasses: opts.numClasses ?? maxLabel + 1,
  };
}

/** Where the Fashion-MNIST files are looked for by default. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** The four files of MNIST / Fashion-MNIST in `dir` (gzipped or not). */
export function readMnistDir(dir: string, opts: { name?: string; flat?: boolean } = {}): { train: Dataset; test: Dataset } {
  const find = (base: string): string => {
    for (const f of [`${base}.gz`, base]) if (existsSync(join(dir, f))) return join(dir, f);
    throw new DataError(join(dir, base), 'file not found (expected the MNIST-style file names train-images-idx3-ubyte[.gz], ...)');
  };
  const name = opts.name ?? dir;
  const flat = opts.flat ?? true;
  return {
    train: readIdxDataset(find('train-images-idx3-ubyte'), find('train-labels-idx1-ubyte'), {
      name: `${name}-train`,
      flat,
      numClasses: 10,
    }),
    test: readIdxDataset(find('t10k-images-idx3-ubyte'), find('t10k-labels-idx1-ubyte'), { name: `${name}-test`, flat, numClasses: 10 }),
  };
}
