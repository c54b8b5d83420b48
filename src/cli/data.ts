/**
 * Data sets the command line knows: `digits` (embedded), `fashion-mnist`
 * (Debian's dataset-fashion-mnist files) and a path (a CSV file, split
 * 80/20 with a fixed key, or a folder of MNIST-style IDX files).
 */
import { existsSync, statSync } from 'node:fs';
import type { Dataset } from '../nn/dataset.js';
import { checkCompatible, trainTestSplit } from '../nn/dataset.js';
import { key } from '../nn/random.js';
import { readCsv } from '../io/csv.js';
import { digitsSplit } from '../io/digits.js';
import { FASHION_MNIST_DIR, readMnistDir } from '../io/idx.js';
import { UsageError } from './args.js';

export interface DataChoice {
  readonly name: string;
  readonly train: Dataset;
  readonly test: Dataset;
  readonly classes: readonly string[];
  /** [H, W, C] when the examples are images (for the CNN). */
  readonly imageShape?: readonly [number, number, number];
}

export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

const numbered = (n: number): string[] => Array.from({ length: n }, (_, i) => String(i));

/** Load a data set (see `load`) and check that its test split fits a model trained on its train split. */
/** How a CSV file's first line is read: `yes` a header, `no` data, undefined the documented rule. */
export type HeaderChoice = 'yes' | 'no' | undefined;
const csvOptions = (header: HeaderChoice) => (header === undefined ? {} : { header: header === 'yes' });

export function loadData(spec: string, header?: HeaderChoice): DataChoice {
  const d = load(spec, header);
  checkCompatible(d.train, d.test);
  return d;
}

function load(spec: string, header: HeaderChoice): DataChoice {
  if (spec === 'digits') {
    const { train, test } = digitsSplit();
    return { name: 'digits', train, test, classes: numbered(10), imageShape: [8, 8, 1] };
  }
  if (spec === 'fashion-mnist') {
    if (!existsSync(FASHION_MNIST_DIR))
      throw new UsageError(
        `--data fashion-mnist: ${FASHION_MNIST_DIR} not found (apt-get install dataset-fashion-mnist, or pass the folder holding ` +
          'the IDX files)',
      );
    const { train, test } = readMnistDir(FASHION_MNIST_DIR, { name: 'fashion-mnist' });
    return { name: 'fashion-mnist', train, test, classes: FASHION_CLASSES, imageShape: [28, 28, 1] };
  }
  if (!existsSync(spec)) throw new UsageError(`--data: '${spec}' is not digits, fashion-mnist or an existing file or folder`);
  if (statSync(spec).isDirectory()) {
    const { train, test } = readMnistDir(spec, { name: spec });
    const side = Math.round(Math.sqrt(train.exampleShape[0]!));
    return {
      name: spec,
      train,
      test,
      classes: numbered(train.numClasses),
      ...(side * side === train.exampleShape[0] ? { imageShape: [side, side, 1] as const } : {}),
    };
  }
  const all = readCsv(spec, csvOptions(header));
  const { train, test } = trainTestSplit(all, key(0), 0.2);
  const f = all.exampleShape[0]!;
  const side = Math.round(Math.sqrt(f));
  return {
    name: spec,
    train,
    test,
    classes: numbered(all.numClasses),
    ...(side * side === f ? { imageShape: [side, side, 1] as const } : {}),
  };
}

/** Data for `eval`: the test split of a named set; for a CSV path, the whole file. */
export function loadEvalData(spec: string, header?: HeaderChoice): { name: string; data: Dataset } {
  if (spec === 'digits' || spec === 'fashion-mnist') {
    const d = loadData(spec);
    return { name: `${d.name} (test split)`, data: d.test };
  }
  if (!existsSync(spec)) throw new UsageError(`--data: '${spec}' is not digits, fashion-mnist or an existing file or folder`);
  if (statSync(spec).isDirectory()) return { name: `${spec} (test files)`, data: readMnistDir(spec).test };
  return { name: spec, data: readCsv(spec, csvOptions(header)) };
}
