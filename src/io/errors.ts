/**
 * DataError: a file that cannot be read as what it claims to be (bad magic
 * number, truncated data, malformed header). The message names the file and
 * the problem.
 */
export class DataError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'DataError';
  }
}
