/**
 * CSV reader for classification data: one example per line, numeric feature
 * columns and an integer class label (last column by default, below
 * MAX_CLASSES). The first line is a header when none of its cells is a number
 * (or as `header` says); `.gz` content is decompressed. Errors name the file, the line
 * and the problem.
 */
import { MAX_CLASSES, type Dataset } from '../nn/dataset.js';
import { DataError } from './errors.js';
import { readMaybeGzip } from './files.js';

/** Options of the CSV readers: label column, header, feature scale, example shape and name. */
export interface CsvOptions {
  /** Column holding the label (default: the last one; negative counts from the end). */
  readonly labelColumn?: number;
  /**
   * Whether the first line is a header. Default: it is a header exactly when
   * none of its cells is a number (e.g. `a,b,label`); a first line with any
   * numeric cell is data, so a bad cell in it is an error, never a dropped row.
   */
  readonly header?: boolean;
  /** Multiply every feature by this (e.g. 1/16 for the digits pixels). */
  readonly scale?: number;
  /** The shape of one example (default [features]). */
  readonly exampleShape?: readonly number[];
  readonly name?: string;
}

/** A data set from CSV text (numeric features, one integer class label per row); `file` names the source in errors. */
export function parseCsv(text: string, file: string, opts: CsvOptions = {}): Dataset {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new DataError(file, 'empty CSV file');
  const isNumber = (c: string) => c.trim() !== '' && Number.isFinite(Number(c));
  const skip = opts.header ?? !lines[0]!.split(',').some(isNumber);
  const rows = skip ? lines.slice(1) : lines;
  if (rows.length === 0) throw new DataError(file, 'no data rows');
  const cols = rows[0]!.split(',').length;
  const headerCols = lines[0]!.split(',').length;
  if (skip && opts.header === undefined && headerCols !== cols)
    throw new DataError(file, `header line 1 has ${headerCols} columns but line 2 has ${cols}`);
  if (cols < 2) throw new DataError(file, `needs at least one feature column and a label column, line ${skip ? 2 : 1} has ${cols}`);
  const lc = opts.labelColumn === undefined ? cols - 1 : opts.labelColumn < 0 ? cols + opts.labelColumn : opts.labelColumn;
  if (lc < 0 || lc >= cols) throw new DataError(file, `label column ${opts.labelColumn} is out of range for ${cols} columns`);
  const f = cols - 1;
  const x = new Float32Array(rows.length * f);
  const y = new Int32Array(rows.length);
  const scale = opts.scale ?? 1;
  let maxLabel = 0;
  rows.forEach((row, r) => {
    const lineNo = r + 1 + (skip ? 1 : 0);
    const cells = row.split(',');
    if (cells.length !== cols) throw new DataError(file, `line ${lineNo} has ${cells.length} columns, expected ${cols}`);
    let k = 0;
    cells.forEach((c, j) => {
      const v = Number(c);
      if (c.trim() === '' || !Number.isFinite(v)) {
        const hint =
          lineNo === 1
            ? ' (a first line is taken as a header only when none of its cells is a number; pass header: true, or --header yes on ' +
              'the command line, to skip it)'
            : '';
        throw new DataError(file, `line ${lineNo}, column ${j + 1}: '${c}' is not a number${hint}`);
      }
      if (j === lc) {
        if (!Number.isInteger(v) || v < 0) throw new DataError(file, `line ${lineNo}: label '${c}' is not a non-negative integer`);
        if (v >= MAX_CLASSES)
          throw new DataError(
            file,
            `line ${lineNo}: label ${v} is at or above the limit of ${MAX_CLASSES} classes (labels are class indices 0, 1, ...)`,
          );
        y[r] = v;
        maxLabel = Math.max(maxLabel, v);
      } else x[r * f + k++] = v * scale;
    });
  });
  const exampleShape = opts.exampleShape ?? [f];
  if (exampleShape.reduce((a, b) => a * b, 1) !== f)
    throw new DataError(file, `example shape [${exampleShape.join(',')}] does not hold ${f} features`);
  return { name: opts.name ?? file, x, exampleShape: [...exampleShape], y, numClasses: maxLabel + 1 };
}

/** Read a CSV (or gzipped CSV) classification file. */
export function readCsv(file: string, opts: CsvOptions = {}): Dataset {
  return parseCsv(readMaybeGzip(file).toString('utf8'), file, opts);
}
