/**
 * Readers refuse what they cannot read exactly: safetensors whose data
 * section is not exactly covered by the tensors' offsets, CSV files whose
 * first row would be dropped silently or whose labels imply absurd class
 * counts, checkpoint architectures beyond the stated bounds; atomic writes
 * clean up what a killed write left behind.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import {
  checkWritableDir,
  decodeSafetensors,
  encodeSafetensors,
  parseCsv,
  readCheckpoint,
  readIdxDataset,
  readMnistDir,
  saveCheckpoint,
  writeFileAtomic,
} from '../../src/io/index.js';
import { checkCompatible, MAX_CLASSES } from '../../src/nn/dataset.js';
import * as nn from '../../src/nn/index.js';
import { SPEC_LIMITS } from '../../src/nn/spec.js';
import { restoreModel } from '../../src/io/index.js';
import { idx } from './idx.js';

const dir = mkdtempSync(join(tmpdir(), 'cotangent-rel-'));

/** A safetensors file from a header object and data bytes; `hlenDelta` corrupts the header-length field. */
function craft(header: Record<string, unknown>, data: Uint8Array, hlenDelta = 0): Uint8Array {
  let json = JSON.stringify(header);
  json += ' '.repeat(((8 - ((json.length + 8) % 8)) % 8) + 8); // at least 8 spaces of padding
  const hb = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + hb.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length + hlenDelta), true);
  out.set(hb, 8);
  out.set(data, 8 + hb.length);
  return out;
}
const msg = (b: Uint8Array): string => {
  const r = decodeSafetensors(b);
  return E.isLeft(r) ? r.left : 'ok';
};
const meta = { __metadata__: { format: 'cotangent', version: '1' } };

describe('safetensors: the data section is exactly covered by the offsets', () => {
  const a = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
  const b = { dtype: 'F32', shape: [3], data_offsets: [8, 20] };

  it('a well-formed file decodes', () => {
    expect(msg(craft({ ...meta, a, b }, new Uint8Array(20)))).toBe('ok');
  });

  it('a header-length field one byte short is refused (the data would be byte-shifted)', () => {
    const good = encodeSafetensors(
      [
        ['w', { dtype: 'f32', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) }],
        ['b', { dtype: 'f32', shape: [2], data: Float32Array.from([5, 6]) }],
      ],
      { pad: 'xx' },
    );
    const dv = new DataView(good.buffer);
    const hlen = dv.getBigUint64(0, true);
    // make sure the header still parses as JSON when one byte shorter
    expect(good[8 + Number(hlen) - 1]).toBe(' '.charCodeAt(0));
    dv.setBigUint64(0, hlen - 1n, true);
    expect(msg(good)).toMatch(/data section has 25 bytes but the tensors cover 24/);
    expect(msg(craft({ ...meta, a, b }, new Uint8Array(20), -1))).toMatch(/21 bytes but the tensors cover 20/);
  });

  it('gaps, a start past 0, and trailing bytes are refused naming the tensor', () => {
    expect(msg(craft({ ...meta, a, b: { ...b, data_offsets: [12, 24] } }, new Uint8Array(24)))).toMatch(
      /tensor 'b' starts at byte 12 but the previous tensor 'a' ends at 8/,
    );
    expect(msg(craft({ ...meta, a: { ...a, data_offsets: [4, 12] } }, new Uint8Array(12)))).toMatch(
      /tensor 'a' starts at byte 4, the first tensor must start at 0/,
    );
    expect(msg(craft({ ...meta, a, b }, new Uint8Array(24)))).toMatch(
      /data section has 24 bytes but the tensors cover 20 .*after tensor 'b'/,
    );
    expect(msg(craft({ ...meta, a, b: { ...b, data_offsets: [4, 16] } }, new Uint8Array(16)))).toMatch(/tensors 'a' and 'b' overlap/);
  });

  it('zero-sized tensors are allowed anywhere in the order', () => {
    const z = { dtype: 'F32', shape: [0, 3], data_offsets: [8, 8] };
    expect(msg(craft({ ...meta, a, z, b }, new Uint8Array(20)))).toBe('ok');
  });

  it('readCheckpoint names the file and the tensor', () => {
    const f = join(dir, 'shifted.safetensors');
    writeFileSync(f, craft({ ...meta, a, b: { ...b, data_offsets: [12, 24] } }, new Uint8Array(24)));
    const r = readCheckpoint(f);
    expect(E.isLeft(r) && r.left.message).toMatch(new RegExp(`^${f.replace(/[.]/g, '\\.')}: .*tensor 'b'`));
  });
});

describe('CSV: the header rule and the class-count limit', () => {
  it('a first line with no numeric cell is a header; one with any numeric cell is data, never dropped', () => {
    expect(Array.from(parseCsv('a,b,label\n1,2,0\n', 'h.csv').y)).toEqual([0]);
    // a corrupt first data row is an error naming the line and the column, not a dropped header
    expect(() => parseCsv('1,x,0\n3,4,1\n5,6,0\n', 'h.csv')).toThrow(/h\.csv: line 1, column 2: 'x' is not a number/);
    expect(() => parseCsv('1,2,cat\n3,4,1\n', 'h.csv')).toThrow(/h\.csv: line 1, column 3: 'cat' is not a number.*header: true/);
  });

  it('header: true skips the first line whatever it holds; header: false never skips it', () => {
    const d = parseCsv('x1,2,label\n1,2,0\n3,4,1\n', 'h.csv', { header: true });
    expect(Array.from(d.y)).toEqual([0, 1]);
    expect(() => parseCsv('a,b,label\n1,2,0\n', 'h.csv', { header: false })).toThrow(/line 1, column 1: 'a' is not a number/);
  });

  it('a header line must have as many columns as the data', () => {
    expect(() => parseCsv('a,b\n1,2,0\n', 'h.csv')).toThrow(/h\.csv: header line 1 has 2 columns but line 2 has 3/);
  });

  it('labels at or above the class limit are an error naming the file, the line and the label', () => {
    expect(() => parseCsv('1,2,0\n3,4,100000\n', 'big.csv')).toThrow(
      /big\.csv: line 2: label 100000 is at or above the limit of 65536 classes/,
    );
    expect(() => parseCsv('1,2,100000000\n', 'big.csv')).toThrow(/big\.csv: line 1: label 100000000 /);
    expect(parseCsv('1,2,65535\n', 'ok.csv').numClasses).toBe(65536);
  });
});

describe('IDX labels and train/test compatibility', () => {
  it('labels outside the class range are an error naming the labels file, the index and the label', () => {
    const m = join(dir, 'mnist-bad-label');
    mkdirSync(m, { recursive: true });
    writeFileSync(join(m, 'train-images-idx3-ubyte'), idx(0x08, [2, 2, 2], new Uint8Array(8)));
    writeFileSync(join(m, 'train-labels-idx1-ubyte'), idx(0x08, [2], Uint8Array.from([1, 0])));
    writeFileSync(join(m, 't10k-images-idx3-ubyte'), idx(0x08, [2, 2, 2], new Uint8Array(8)));
    writeFileSync(join(m, 't10k-labels-idx1-ubyte'), idx(0x08, [2], Uint8Array.from([3, 12])));
    expect(() => readMnistDir(m)).toThrow(/t10k-labels-idx1-ubyte: label 12 at index 1 is outside \[0, 10\)/);
    // i32 labels past the class limit, without a stated class count
    const big = new Uint8Array(4);
    new DataView(big.buffer).setInt32(0, 1e8, false);
    writeFileSync(join(dir, 'big-labels.idx'), idx(0x0c, [1], big));
    writeFileSync(join(dir, 'one-image.idx'), idx(0x08, [1, 2, 2], new Uint8Array(4)));
    expect(() => readIdxDataset(join(dir, 'one-image.idx'), join(dir, 'big-labels.idx'))).toThrow(
      new RegExp(`big-labels\\.idx: label 100000000 at index 0 is outside \\[0, ${MAX_CLASSES}\\)`),
    );
  });

  it('checkCompatible names both data sets and their shapes', () => {
    const a = { name: 'train', x: new Float32Array(4), exampleShape: [2, 2], y: Int32Array.from([0]), numClasses: 2 };
    const b = { name: 'test', x: new Float32Array(9), exampleShape: [3, 3], y: Int32Array.from([1]), numClasses: 2 };
    expect(() => checkCompatible(a, b)).toThrow(/examples of train are \[2,2\] but those of test are \[3,3\]/);
    const c = { ...a, name: 'test', y: Int32Array.from([4]), numClasses: 5 };
    expect(() => checkCompatible(a, c)).toThrow(/test has labels up to 4 but train has 2 classes/);
    expect(checkCompatible(a, { ...a, name: 'test' })).toBeUndefined();
  });
});

describe('atomic writes', () => {
  it('saveCheckpoint writes extra files in the same step; a failed rename leaves the old checkpoint and no temporaries', async () => {
    const d = join(dir, 'ck');
    const f = await saveCheckpoint(d, { params: { w: ct.tensor([1, 2]) }, files: { 'history.json': '{"epochs":[1]}' } });
    expect(readFileSync(join(d, 'history.json'), 'utf8')).toBe('{"epochs":[1]}');
    const before = readFileSync(f);
    // history.json cannot be replaced (a folder is in the way): the checkpoint must not be replaced either
    mkdirSync(join(d, 'blocked.json'));
    await expect(saveCheckpoint(d, { params: { w: ct.tensor([3, 4, 5]) }, files: { 'blocked.json': 'x' } })).rejects.toThrow();
    expect(readFileSync(f).equals(before)).toBe(true);
    expect(readdirSync(d).filter((n) => n.includes('.tmp-'))).toEqual([]);
    await expect(saveCheckpoint(d, { params: { w: ct.tensor([1]) }, files: { '../escape.json': 'x' } })).rejects.toThrow(
      /plain names in the checkpoint folder/,
    );
  });

  it('writeFileAtomic removes temporaries of writers that no longer exist', () => {
    const d = join(dir, 'temps');
    mkdirSync(d);
    writeFileSync(join(d, '.model.safetensors.tmp-2147483646-zz9'), 'stale');
    writeFileAtomic(join(d, 'history.json'), '{}');
    expect(readdirSync(d).sort()).toEqual(['history.json']);
  });

  it('checkWritableDir creates the folder, leaves no probe behind, and refuses /proc without hanging', () => {
    const d = join(dir, 'a', 'b', 'c');
    checkWritableDir(d);
    expect(existsSync(d)).toBe(true);
    expect(readdirSync(d)).toEqual([]);
    expect(() => checkWritableDir('/proc/cotangent-probe')).toThrow(/\/proc\/cotangent-probe: cannot create the folder/);
  });
});

describe('checkpoint architectures are bounded before anything is built', () => {
  /** A checkpoint file holding only an architecture (as a JSON string) and an input shape. */
  const archFile = (name: string, architecture: string, inputShape = '[-1,64]'): string => {
    const f = join(dir, `${name}.safetensors`);
    writeFileSync(f, encodeSafetensors([], { format: 'cotangent', version: '1', architecture, inputShape }));
    return f;
  };
  const restoreError = (f: string): string => {
    const ck = readCheckpoint(f);
    if (E.isLeft(ck)) return ck.left.message;
    const r = restoreModel(ck.right);
    return E.isLeft(r) ? r.left.message : 'ok';
  };

  it('nesting 5,000 deep is refused naming the file and the depth limit, not a stack overflow', () => {
    const deep = `${'{"type":"serial","layers":['.repeat(5000)}{"type":"relu"}${']}'.repeat(5000)}`;
    const f = archFile('deep', deep);
    expect(restoreError(f)).toMatch(
      new RegExp(`^${f.replace(/[.]/g, '\\.')}: .*architecture: .*layers\\.0: nested more than ${SPEC_LIMITS.depth} deep`),
    );
  });

  it('units: 2e6 is refused at once naming the field', () => {
    const f = archFile(
      'units',
      JSON.stringify({ type: 'serial', layers: [{ type: 'dense', units: 10 }, { type: 'relu' }, { type: 'dense', units: 2e6 }] }),
    );
    const t0 = performance.now();
    expect(restoreError(f)).toMatch(/units\.safetensors: .*architecture: layers\.2\.units: units 2000000 is above the limit of 65536/);
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('a parameter count past the limit is refused from the shapes, naming the layer', () => {
    const spec = {
      type: 'serial',
      layers: [
        { type: 'dense', units: 60000 },
        { type: 'dense', units: 60000 },
      ],
    };
    const f = archFile('params', JSON.stringify(spec));
    const t0 = performance.now();
    expect(restoreError(f)).toMatch(
      /params\.safetensors: architecture: layers\.1\.units: the architecture has more than 268435456 parameters/,
    );
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('kernel sizes, strides, dropout rates, reshapes and unknown types are checked field by field', () => {
    const conv = (k: unknown) =>
      JSON.stringify({
        type: 'serial',
        layers: [
          { type: 'reshape', shape: [8, 8, 1] },
          { type: 'conv2d', filters: 4, kernel: k, stride: [1, 1], padding: 'same' },
        ],
      });
    expect(restoreError(archFile('k1', conv([5000, 3])))).toMatch(
      /architecture: layers\.1\.kernel\.0: kernel 5000 is above the limit of 1024/,
    );
    expect(restoreError(archFile('k2', conv([3])))).toMatch(/layers\.1\.kernel: kernel must be a pair of integers/);
    expect(restoreError(archFile('dr', JSON.stringify({ type: 'dropout', rate: 1.5 })))).toMatch(
      /\(root\)\.rate|rate: must be a number in \[0, 1\)/,
    );
    expect(restoreError(archFile('rs', JSON.stringify({ type: 'reshape', shape: [1e9, 1e9] })))).toMatch(
      /shape\.0: dimension 1000000000 is above the limit/,
    );
    expect(restoreError(archFile('ty', JSON.stringify({ type: 'serial', layers: [{ type: 'dense2' }] })))).toMatch(
      /layers\.0\.type: unknown layer type 'dense2'/,
    );
    expect(restoreError(archFile('in', JSON.stringify({ type: 'relu' }), '[-1,100000000000]'))).toMatch(
      /inputShape\.1: dimension 100000000000 is above the limit/,
    );
  });

  it('the architectures the library builds pass, and restore', async () => {
    const model = nn.serial(
      nn.reshape([8, 8, 1]),
      nn.conv2d(4, 3, { padding: 'same' }),
      nn.relu,
      nn.maxPool2d(2),
      nn.flatten,
      nn.dropout(0.1),
      nn.dense(10),
    );
    const { params } = model.init(nn.random.key(0), [-1, 64]);
    const f = await saveCheckpoint(join(dir, 'fine'), { params, model, inputShape: [-1, 64] });
    expect(restoreError(f)).toBe('ok');
  });
});
