/**
 * The embedded 8×8 handwritten digits data set (1,797 images, 10 classes,
 * `data/digits.csv.gz`, see data/DIGITS-LICENSE.md), pixels scaled from
 * 0..16 to [0, 1], split deterministically into train (80%) and test (20%)
 * by a fixed PRNG key.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Dataset } from '../nn/dataset.js';
import { trainTestSplit } from '../nn/dataset.js';
import { key } from '../nn/random.js';
import { readCsv } from './csv.js';
import { DataError } from './errors.js';

/** The seed of the fixed train/test split. */
export const DIGITS_SPLIT_SEED = 0;

/** Where the embedded file lives (works from src/ under tsx, from dist/src/ once built, and from a one-file bundle one folder down). */
export function digitsPath(): string {
  for (const rel of ['../../data/digits.csv.gz', '../../../data/digits.csv.gz', '../data/digits.csv.gz']) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new DataError('data/digits.csv.gz', 'the embedded digits data set is missing from this installation');
}

/** All 1,797 digits, examples [64] (or [8, 8, 1] with `image: true`). */
export function loadDigits(opts: { image?: boolean } = {}): Dataset {
  const d = readCsv(digitsPath(), { scale: 1 / 16, name: 'digits', header: false, exampleShape: opts.image ? [8, 8, 1] : [64] });
  if (d.y.length !== 1797 || d.numClasses !== 10)
    throw new DataError(digitsPath(), `expected 1797 examples of 10 classes, found ${d.y.length} of ${d.numClasses}`);
  return d;
}

/** The fixed split: 1,438 training and 359 test images. */
export function digitsSplit(opts: { image?: boolean } = {}): { train: Dataset; test: Dataset } {
  return trainTestSplit(loadDigits(opts), key(DIGITS_SPLIT_SEED), 0.2);
}
