/**
 * Data readers: the embedded digits (size, split, determinism), IDX files
 * (round trip, gzip, bad magic, truncation, size mismatch) and CSV (header
 * detection, errors naming the file and the line).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataError, digitsSplit, loadDigits, parseCsv, readCsv, readIdx, readIdxDataset, readMnistDir } from '../../src/io/index.js';

const dir = mkdtempSync(join(tmpdir(), 'cotangent-io-'));

function idx(type: number, shape: number[], body: Uint8Array): Uint8Array {
  const h = new Uint8Array(4 + 4 * shape.length);
  h[2] = type;
  h[3] = shape.length;
  const dv = new DataView(h.buffer);
  shape.forEach((d, i) => {
    dv.setUint32(4 + 4 * i, d, false);
  });
  const out = new Uint8Array(h.length + body.length);
  out.set(h);
  out.set(body, h.length);
  return out;
}

describe('digits', () => {
  it('has 1,797 images of 64 pixels in [0, 1] and 10 classes; the split is fixed', () => {
    const d = loadDigits();
    expect(d.y.length).toBe(1797);
    expect(d.x.length).toBe(1797 * 64);
    expect(Math.max(...d.x)).toBe(1);
    expect(Math.min(...d.x)).toBe(0);
    expect(new Set(d.y).size).toBe(10);
    const a = digitsSplit();
    const b = digitsSplit();
    expect(a.train.y.length).toBe(1438);
    expect(a.test.y.length).toBe(359);
    expect(Array.from(a.test.y)).toEqual(Array.from(b.test.y));
    expect(Array.from(a.test.x.subarray(0, 64))).toEqual(Array.from(b.test.x.subarray(0, 64)));
    expect(loadDigits({ image: true }).exampleShape).toEqual([8, 8, 1]);
  });
});

describe('IDX', () => {
  const images = idx(0x08, [3, 2, 2], Uint8Array.from([0, 255, 51, 102, 1, 2, 3, 4, 5, 6, 7, 8]));
  const labels = idx(0x08, [3], Uint8Array.from([1, 0, 2]));

  it('reads images and labels (plain and gzipped) into a data set scaled to [0, 1]', () => {
    writeFileSync(join(dir, 'img.idx'), images);
    writeFileSync(join(dir, 'lab.idx.gz'), gzipSync(labels));
    const d = readIdxDataset(join(dir, 'img.idx'), join(dir, 'lab.idx.gz'));
    expect(Array.from(d.y)).toEqual([1, 0, 2]);
    expect(d.exampleShape).toEqual([4]);
    expect(d.x[1]).toBeCloseTo(1, 6);
    expect(d.x[2]).toBeCloseTo(0.2, 6);
    const i32 = idx(0x0c, [2], Uint8Array.from([0, 0, 1, 0, 0xff, 0xff, 0xff, 0xfe]));
    writeFileSync(join(dir, 'i32.idx'), i32);
    expect(Array.from(readIdx(join(dir, 'i32.idx')).data)).toEqual([256, -2]);
  });

  it('reads an MNIST-style folder', () => {
    const m = join(dir, 'mnist');
    mkdirSync(m, { recursive: true });
    writeFileSync(join(m, 'train-images-idx3-ubyte.gz'), gzipSync(images));
    writeFileSync(join(m, 'train-labels-idx1-ubyte.gz'), gzipSync(labels));
    writeFileSync(join(m, 't10k-images-idx3-ubyte'), images);
    writeFileSync(join(m, 't10k-labels-idx1-ubyte'), labels);
    const { train, test } = readMnistDir(m);
    expect(train.y.length).toBe(3);
    expect(test.numClasses).toBe(10);
  });

  it('corrupt files give a DataError naming the file and the problem', () => {
    const bad = Uint8Array.from(images);
    bad[2] = 0x07;
    writeFileSync(join(dir, 'bad-magic.idx'), bad);
    expect(() => readIdx(join(dir, 'bad-magic.idx'))).toThrow(DataError);
    expect(() => readIdx(join(dir, 'bad-magic.idx'))).toThrow(/bad-magic\.idx: bad magic number 0x00000703/);
    writeFileSync(join(dir, 'short.idx'), images.subarray(0, images.length - 3));
    expect(() => readIdx(join(dir, 'short.idx'))).toThrow(
      /short\.idx: size mismatch: header says u8\[3,2,2\] = 12 data bytes \(28 in all\), file has 25 bytes \(truncated\)/,
    );
    writeFileSync(join(dir, 'long.idx'), Uint8Array.from([...images, 9]));
    expect(() => readIdx(join(dir, 'long.idx'))).toThrow(/long\.idx: size mismatch/);
    writeFileSync(join(dir, 'header.idx'), images.subarray(0, 6));
    expect(() => readIdx(join(dir, 'header.idx'))).toThrow(/truncated IDX header/);
    writeFileSync(join(dir, 'broken.gz'), gzipSync(images).subarray(0, 20));
    expect(() => readIdx(join(dir, 'broken.gz'))).toThrow(/broken\.gz: corrupt or truncated gzip data/);
    expect(() => readIdx(join(dir, 'missing.idx'))).toThrow(/missing\.idx: file not found/);
    writeFileSync(join(dir, 'lab2.idx'), idx(0x08, [2], Uint8Array.from([1, 0])));
    expect(() => readIdxDataset(join(dir, 'img.idx'), join(dir, 'lab2.idx'))).toThrow(/lab2\.idx: 2 labels for 3 images/);
  });
});

describe('CSV', () => {
  it('reads features and labels, detecting a header line', () => {
    const d = parseCsv('a,b,label\n1,2,0\n3,4,2\n', 'x.csv');
    expect(Array.from(d.x)).toEqual([1, 2, 3, 4]);
    expect(Array.from(d.y)).toEqual([0, 2]);
    expect(d.numClasses).toBe(3);
    const e = parseCsv('5,1,2\n6,3,4\n', 'y.csv', { labelColumn: 0, scale: 0.5 });
    expect(Array.from(e.y)).toEqual([5, 6]);
    expect(Array.from(e.x)).toEqual([0.5, 1, 1.5, 2]);
    writeFileSync(join(dir, 'd.csv.gz'), gzipSync('1,2,1\n'));
    expect(readCsv(join(dir, 'd.csv.gz')).y[0]).toBe(1);
  });

  it('bad rows give errors naming the file and the line', () => {
    expect(() => parseCsv('1,2,0\n3,x,1\n', 'f.csv')).toThrow(/f\.csv: line 2, column 2: 'x' is not a number/);
    expect(() => parseCsv('1,2,0\n3,1\n', 'f.csv')).toThrow(/f\.csv: line 2 has 2 columns, expected 3/);
    expect(() => parseCsv('1,2,0.5\n', 'f.csv')).toThrow(/line 1: label '0.5' is not a non-negative integer/);
    expect(() => parseCsv('', 'f.csv')).toThrow(/empty CSV file/);
  });
});
