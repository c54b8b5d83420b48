/**
 * Reading files that may be gzip-compressed (detected by the gzip magic
 * bytes, not by the name), with errors naming the file.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataError } from './errors.js';

/** Read a file, gunzipping it when it starts with the gzip magic bytes; a DataError naming the file when it cannot be read. */
export function readMaybeGzip(file: string): Buffer {
  let raw: Buffer;
  try {
    raw = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(file, code === 'ENOENT' ? 'file not found' : `cannot read (${code ?? String(e)})`);
  }
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return gunzipSync(raw);
    } catch (e) {
      throw new DataError(file, `corrupt or truncated gzip data (${(e as Error).message})`);
    }
  }
  return raw;
}
