/**
 * The safetensors layout: 8-byte little-endian header length, a JSON header
 * `{ name: { dtype, shape, data_offsets: [start, end] }, "__metadata__": {
 * string: string } }` (padded with spaces to a multiple of 8 bytes), then the
 * raw little-endian tensor bytes. Decoding validates the header with io-ts
 * and checks that the tensors' offsets cover the data section exactly
 * (contiguous, non-overlapping, from 0 to its end, each of prod(shape) ×
 * dtype-size bytes).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { DType, TypedArray } from '../tensor/dtype.js';
import { formatErrors, StringMap, TensorEntry, type SafetensorsDType } from './codecs.js';

/** A tensor in host memory: dtype, shape and row-major data. */
export interface RawTensor {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TypedArray;
}

/** A decoded safetensors file: the tensors by name and the string metadata. */
export interface Safetensors {
  readonly tensors: ReadonlyMap<string, RawTensor>;
  readonly metadata: Readonly<Record<string, string>>;
}

const TO_ST: Record<DType, SafetensorsDType> = { f32: 'F32', f64: 'F64', i32: 'I32' };
const FROM_ST: Record<SafetensorsDType, DType> = { F32: 'f32', F64: 'f64', I32: 'i32' };
const BYTES: Record<SafetensorsDType, number> = { F32: 4, F64: 8, I32: 4 };

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Encode named tensors and string metadata as a safetensors file (little-endian, header padded to a multiple of 8 bytes). */
export function encodeSafetensors(tensors: readonly (readonly [string, RawTensor])[], metadata: Record<string, string>): Uint8Array {
  if (!littleEndian) throw new Error('safetensors: big-endian hosts are not supported');
  const header: Record<string, unknown> = { __metadata__: metadata };
  let off = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new Error('safetensors: "__metadata__" is reserved');
    if (name in header) throw new Error(`safetensors: duplicate tensor name '${name}'`);
    const n = t.data.byteLength;
    header[name] = { dtype: TO_ST[t.dtype], shape: [...t.shape], data_offsets: [off, off + n] };
    off += n;
  }
  let json = JSON.stringify(header);
  const pad = (8 - ((Buffer.byteLength(json) + 8) % 8)) % 8;
  json += ' '.repeat(pad);
  const hb = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + hb.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const [, t] of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), p);
    p += t.data.byteLength;
  }
  return out;
}

/** Decode and validate; the Left is a one-line description of the first problems found. */
export function decodeSafetensors(buf: Uint8Array): E.Either<string, Safetensors> {
  if (buf.length < 8) return E.left(`truncated: ${buf.length} bytes, a safetensors file starts with an 8-byte header length`);
  const hlen = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getBigUint64(0, true);
  if (hlen > BigInt(buf.length - 8))
    return E.left(`header length ${hlen} exceeds the file size ${buf.length} (truncated or not a safetensors file)`);
  const hbytes = buf.subarray(8, 8 + Number(hlen));
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(hbytes).toString('utf8'));
  } catch (e) {
    return E.left(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return E.left('header must be a JSON object');
  const dataStart = 8 + Number(hlen);
  const dataLen = buf.length - dataStart;
  let metadata: Record<string, string> = {};
  const tensors = new Map<string, RawTensor>();
  const spans: [number, number, string][] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      const m = StringMap.decode(value);
      if (E.isLeft(m)) return E.left(`__metadata__: ${formatErrors(m.left)}`);
      metadata = m.right;
      continue;
    }
    const d = TensorEntry.decode(value);
    if (E.isLeft(d)) return E.left(`tensor '${name}': ${formatErrors(d.left)}`);
    const {
      dtype,
      shape,
      data_offsets: [s, e],
    } = d.right;
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    if (e < s || e > dataLen)
      return E.left(`tensor '${name}': data_offsets [${s}, ${e}] outside the ${dataLen} data bytes (truncated file?)`);
    if (e - s !== count * BYTES[dtype])
      return E.left(
        `tensor '${name}': size mismatch: ${dtype}[${shape.join(',')}] needs ${count * BYTES[dtype]} bytes, data_offsets give ${e - s}`,
      );
    const bytes = buf.slice(dataStart + s, dataStart + e); // copy: aligned and detached from the file buffer
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const data = dtype === 'F32' ? new Float32Array(ab) : dtype === 'F64' ? new Float64Array(ab) : new Int32Array(ab);
    tensors.set(name, { dtype: FROM_ST[dtype], shape, data });
    spans.push([s, e, name]);
  }
  // the format requires the tensors to cover the data section exactly: contiguous, from 0 to its end
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let end = 0;
  let last = '';
  for (const [s, e, name] of spans) {
    if (s < end) return E.left(`tensors '${last}' and '${name}' overlap (data_offsets [${s}, ${e}] start before byte ${end})`);
    if (s > end)
      return E.left(
        last === ''
          ? `tensor '${name}' starts at byte ${s}, the first tensor must start at 0 (header length wrong?)`
          : `tensor '${name}' starts at byte ${s} but the previous tensor '${last}' ends at ${end}: the data section has a gap`,
      );
    end = e;
    last = name;
  }
  if (end !== dataLen) {
    return E.left(
      `the data section has ${dataLen} bytes but the tensors cover ` +
        `${end}${last ? ` (${dataLen - end} bytes after tensor '${last}')` : ''}: header length wrong or data appended`,
    );
  }
  return E.right({ tensors, metadata });
}
