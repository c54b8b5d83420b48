/** An IDX file: magic (type, rank), big-endian dimensions, then the body. */
export function idx(type: number, shape: number[], body: Uint8Array): Uint8Array {
  const h = new Uint8Array(4 + 4 * shape.length);
  h[2] = type;
  h[3] = shape.length;
  const dv = new DataView(h.buffer);
  for (const [i, d] of shape.entries()) dv.setUint32(4 + 4 * i, d, false);
  const out = new Uint8Array(h.length + body.length);
  out.set(h);
  out.set(body, h.length);
  return out;
}
