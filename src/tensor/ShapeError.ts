/**
 * ShapeError: the error every shape, axis and dtype rule throws. The message
 * always starts with the op's name and names the offending shapes, e.g.
 * `matmul: inner dimensions differ: [2,3] x [4,5]`.
 */
export class ShapeError extends Error {
  constructor(
    readonly op: string,
    detail: string,
  ) {
    super(`${op}: ${detail}`);
    this.name = 'ShapeError';
  }
}

/** Raised for data that does not fit (wrong length, bad dtype, disposed tensor). */
export class ValueError extends Error {
  constructor(
    readonly op: string,
    detail: string,
  ) {
    super(`${op}: ${detail}`);
    this.name = 'ValueError';
  }
}
