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
import { decodeSafetensors, encodeSafetensors, parseCsv, readCheckpoint } from '../../src/io/index.js';

const dir = mkdtempSync(join(tmpdir(), 'cotangent-rel-'));

/** A safetensors file from a header object and data bytes; `hlenDelta` corrupts the header-length field. */
function craft(header: Record<string, unknown>, data: Uint8Array, hlenDelta = 0): Uint8Array {
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8 + 8); // at least 8 spaces of padding
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
    expect(msg(craft({ ...meta, a, b: { ...b, data_offsets: [12, 24] } }, new Uint8Array(24)))).toMatch(/tensor 'b' starts at byte 12 but the previous tensor 'a' ends at 8/);
    expect(msg(craft({ ...meta, a: { ...a, data_offsets: [4, 12] } }, new Uint8Array(12)))).toMatch(/tensor 'a' starts at byte 4, the first tensor must start at 0/);
    expect(msg(craft({ ...meta, a, b }, new Uint8Array(24)))).toMatch(/data section has 24 bytes but the tensors cover 20 .*after tensor 'b'/);
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
