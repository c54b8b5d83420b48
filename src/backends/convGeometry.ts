/**
 * The geometry of one convolution-family call as its wasm and WebGPU kernels
 * read it: 16 integers, [n, h, w, cin, ho, wo, cout, kh, kw, sh, sw, dh, dw,
 * top, left, groups], from the input x's shape, the output y's shape (both
 * NHWC), the kernel size and the parameters.
 */

/** The convolution parameters as the kernels read them. */
export interface ConvCallParams {
  readonly stride: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly pads: readonly [readonly [number, number], readonly [number, number]];
  readonly groups: number;
}

/** [n, h, w, cin, ho, wo, cout, kh, kw, sh, sw, dh, dw, top, left, groups] of x shape, y shape and kernel. */
export function convGeometryWords(
  xs: readonly number[],
  ys: readonly number[],
  kernel: readonly [number, number],
  p: ConvCallParams,
): number[] {
  const [n, h, w, cin] = xs as [number, number, number, number];
  const [, ho, wo, cout] = ys as [number, number, number, number];
  return [n, h, w, cin, ho, wo, cout, kernel[0], kernel[1], ...p.stride, ...p.dilation, p.pads[0][0], p.pads[1][0], p.groups];
}
