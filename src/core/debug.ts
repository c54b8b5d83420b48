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

const counters = { kernelCalls: 0, dispatches: 0, traces: 0 };

/** What {@link debugCounters} reports. */
export interface DebugCounters {
  /** Kernels run by the op-by-op evaluator (`evaluate`) since start-up (ordinary kernels inside jitted programs included). */
  readonly kernelCalls: number;
  /** Kernels launched since start-up: the ordinary ones and jit's fused kernels. */
  readonly dispatches: number;
  /** Programs traced by `jit` (a call with a new signature traces; a cached one does not). */
  readonly traces: number;
  /** WebGPU queue submissions since start-up (0 without a WebGPU backend). */
  readonly submits: number;
}

let submitsOf: () => number = () => 0;

/** Lets the backend registry report WebGPU submissions (core/init.ts wires it). */
export function setSubmitCounter(f: () => number): void {
  submitsOf = f;
}

/** Counters for tests and profiling: kernels run, jit traces, WebGPU submissions since start-up. */
export function debugCounters(): DebugCounters {
  return { ...counters, submits: submitsOf() };
}

/** Count one kernel run (see debugCounters). */
export function countKernelCall(): void {
  counters.kernelCalls++;
  counters.dispatches++;
}

/** Count one fused kernel launched by a jitted program. */
export function countJitDispatch(): void {
  counters.dispatches++;
}

/** Count one trace by jit. */
export function countTrace(): void {
  counters.traces++;
}
