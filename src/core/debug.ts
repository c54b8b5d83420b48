/**
 * Debug options. `checkNumerics`: after every primitive evaluated on the cpu or
 * wasm backend (host memory), look for NaN/Inf in an output whose inputs were finite and throw a
 * NumericsError naming that first op (NaN/Inf are otherwise not errors).
 */
export interface DebugOptions {
  checkNumerics: boolean;
}

const options: DebugOptions = { checkNumerics: false };

/** Sets debug options (merged into the current ones), e.g. `setDebug({ checkNumerics: true })`. */
export function setDebug(o: Partial<DebugOptions>): void {
  Object.assign(options, o);
}

/** The current debug options. */
export function debugOptions(): Readonly<DebugOptions> {
  return options;
}

/** The error `checkNumerics` throws: `op` names the first primitive whose output became NaN/Inf from finite inputs. */
export class NumericsError extends Error {
  constructor(
    readonly op: string,
    detail: string,
  ) {
    super(`${op}: ${detail}`);
    this.name = 'NumericsError';
  }
}

const counters = { kernelCalls: 0 };

/** Counters for tests and profiling: kernels run by `evaluate` since start-up. */
export function debugCounters(): Readonly<typeof counters> {
  return { ...counters };
}

/** Count one kernel run (see debugCounters). */
export function countKernelCall(): void {
  counters.kernelCalls++;
}
