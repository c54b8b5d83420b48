/**
 * Memory: tensors are immutable handles on backend buffers and users never
 * count references. `scope(fn)` frees every concrete tensor created inside
 * except what `fn` returns (which moves to the enclosing scope); a
 * FinalizationRegistry frees tensors that were never scoped once they are
 * garbage. `memoryStats()` reports live tensors and bytes per backend.
 * Functional updates (trainStep, optimiser updates) take ownership of the
 * trees they replace (`donate`), so a plain synchronous loop that never
 * yields to the finalisers still holds memory flat.
 */
import type { Backend, Storage } from '../backends/Backend.js';

/** A scope: the tensors created inside it, and the scope it hands kept tensors to. */
export interface Frame {
  readonly tensors: Set<object>;
  readonly parent: Frame | null;
  closed: boolean;
}

/** The freeable part of a concrete tensor (kept apart so the GC backstop can hold it). */
export interface Handle {
  readonly backend: Backend;
  storage: Storage | null;
  scope: Frame | null;
  /** Set by keep(): the tensor is exempt from scopes and from being freed with a step's metrics. */
  kept?: boolean;
  /** Why the storage was freed when it was not a plain dispose() or scope end (donation, shutdown). */
  freedBy?: string;
  /** What the GC backstop holds for this handle (so it can be unregistered and updated). */
  ticket?: Ticket;
}

/**
 * What the GC backstop keeps for a tensor: the backend and the byte count
 * (for the accounting), and the storage itself only for backends whose free()
 * needs it (WebGPU buffers). CPU typed arrays are referenced only by the
 * tensor, so the JavaScript garbage collector reclaims them as soon as the
 * tensor is garbage, without waiting for the finaliser.
 */
interface Ticket {
  readonly backend: Backend;
  readonly bytes: number;
  /** The handle itself for backends whose free() needs the storage (never the tensor). */
  readonly handle: Handle | null;
  done: boolean;
}

let liveTensors = 0;
let liveBytes = 0;
/** The most live bytes seen since the last {@link resetPeakBytes}. */
let peakLive = 0;
const liveByBackend = new Map<string, { tensors: number; bytes: number }>();
/** Live handles of backends that can be shut down (not the CPU), so shutdown can forget them. */
const handlesByBackend = new Map<Backend, Set<Handle>>();

/** While > 0, scopes hand their tensors to the parent instead of freeing (a tape may need them). */
let retainDepth = 0;

// ---- the current scope: synchronous scopes on a stack, async scopes in the async context ----

/** Innermost synchronous scope (null when none is running). Never set while a continuation starts. */
let syncTop: Frame | null = null;

interface ContextStore<T> {
  getStore(): T | undefined;
  run<R>(store: T, fn: () => R): R;
}

/**
 * Node's AsyncLocalStorage, when the platform has it (found without a static
 * import, so the browser bundle loads unchanged). Without it (browsers),
 * at most one async scope may be pending, and every tensor created meanwhile
 * belongs to it; a second scopeAsync is an error rather than silently sharing.
 */
function loadAsyncContext(): ContextStore<Frame | null> | null {
  const g = globalThis as {
    process?: { getBuiltinModule?: (m: string) => unknown };
    AsyncLocalStorage?: new () => ContextStore<Frame | null>;
  };
  try {
    const mod = g.process?.getBuiltinModule?.('node:async_hooks') as
      | { AsyncLocalStorage?: new () => ContextStore<Frame | null> }
      | undefined;
    const Als = mod?.AsyncLocalStorage ?? g.AsyncLocalStorage;
    return Als ? new Als() : null;
  } catch {
    return null;
  }
}

const asyncContext = loadAsyncContext();
/** Fallback (no async context): the pending async scope (at most one). */
const asyncStack: Frame[] = [];

/** Whether scope membership follows the async context (AsyncLocalStorage) on this platform. */
export const scopesFollowAsyncContext = asyncContext !== null;

function currentFrame(): Frame | null {
  let f = syncTop ?? (asyncContext ? (asyncContext.getStore() ?? null) : (asyncStack[asyncStack.length - 1] ?? null));
  while (f?.closed) f = f.parent;
  return f;
}

const newFrame = (parent: Frame | null): Frame => ({ tensors: new Set(), parent, closed: false });

const registry = new FinalizationRegistry<Ticket>((t) => finalize(t));

function account(backend: string, tensors: number, bytes: number): void {
  liveTensors += tensors;
  liveBytes += bytes;
  if (liveBytes > peakLive) peakLive = liveBytes;
  const e = liveByBackend.get(backend) ?? { tensors: 0, bytes: 0 };
  e.tensors += tensors;
  e.bytes += bytes;
  liveByBackend.set(backend, e);
}

/** Register a freshly created concrete tensor with the current scope and the GC backstop. */
export function track(owner: object, h: Handle): void {
  const bytes = h.storage!.bytes;
  account(h.backend.name, 1, bytes);
  const keepsStorage = h.backend.name !== 'cpu';
  const ticket: Ticket = { backend: h.backend, bytes, handle: keepsStorage ? h : null, done: false };
  h.ticket = ticket;
  registry.register(owner, ticket, h);
  if (keepsStorage) {
    let set = handlesByBackend.get(h.backend);
    if (!set) {
      set = new Set();
      handlesByBackend.set(h.backend, set);
    }
    set.add(h);
  }
  const top = currentFrame();
  if (top) {
    top.tensors.add(owner);
    h.scope = top;
  }
}

/** The GC backstop: the tensor is garbage, free what it held. */
function finalize(t: Ticket): void {
  if (t.done) return;
  if (t.handle) {
    release(t.handle);
    return;
  }
  t.done = true;
  account(t.backend.name, -1, -t.bytes);
  t.backend.free({ backend: t.backend.name, bytes: t.bytes });
}

/** Free a handle's buffer now (and stop counting it as live). */
export function release(h: Handle): void {
  if (!h.storage) return;
  account(h.backend.name, -1, -h.storage.bytes);
  h.backend.free(h.storage);
  h.storage = null;
  if (h.ticket) h.ticket.done = true;
  handlesByBackend.get(h.backend)?.delete(h);
  registry.unregister(h);
}

/**
 * Forget every tensor of a backend that is being shut down: they leave the
 * statistics, and using one is an error naming `reason`. Their buffers are
 * not handed back (the backend releases them all with its device).
 */
export function forgetBackend(backend: Backend, reason: string): number {
  const set = handlesByBackend.get(backend);
  if (!set) return 0;
  let n = 0;
  for (const h of set) {
    if (!h.storage) continue;
    account(backend.name, -1, -h.storage.bytes);
    h.storage = null;
    h.freedBy = reason;
    if (h.ticket) h.ticket.done = true;
    registry.unregister(h);
    n++;
  }
  handlesByBackend.delete(backend);
  return n;
}

/** Objects that own a handle (concrete tensors) expose it through this accessor. */
export interface Owner {
  readonly handle: Handle;
}

const isOwner = (x: unknown): x is Owner => typeof x === 'object' && x !== null && 'handle' in x && typeof (x as Owner).handle === 'object';

/** Walk a returned value (pytree of arrays / plain records) and collect concrete tensors. */
function collectOwners(value: unknown, out: Set<object>, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (isOwner(value)) {
    out.add(value);
    // a tracer keeps its primal alive: walk its fields that are tensors
  }
  if (Array.isArray(value)) for (const v of value) collectOwners(v, out, seen);
  else if (value instanceof Map) for (const v of value.values()) collectOwners(v, out, seen);
  else {
    const proto = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) for (const v of Object.values(value)) collectOwners(v, out, seen);
    else if (typeof (value as { retained?: () => unknown[] }).retained === 'function') {
      for (const v of (value as { retained: () => unknown[] }).retained()) collectOwners(v, out, seen);
    }
  }
}

/**
 * Run `fn` and free every tensor it created, except those reachable from its
 * result (arrays, plain records, Maps, tracers' primals), which move to the
 * enclosing scope. Scopes nest.
 */
export function scope<T>(fn: () => T): T {
  const mine = newFrame(currentFrame());
  const prev = syncTop;
  syncTop = mine;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    syncTop = prev;
    closeScope(mine, new Set());
    throw e;
  }
  syncTop = prev;
  if (result instanceof Promise) {
    closeScope(mine, new Set());
    throw new Error('scope: fn returned a Promise; scopes are synchronous (await outside the scope, or use scopeAsync)');
  }
  const keep = new Set<object>();
  collectOwners(result, keep);
  closeScope(mine, keep);
  return result;
}

/**
 * Async variant: frees what `fn` created once its promise settles, except
 * what the promise resolves to. Where the platform has AsyncLocalStorage
 * (Node), membership follows the async context: tensors created by code
 * running concurrently outside `fn` are not this scope's, so concurrent async
 * scopes are independent. Without it (browsers), every tensor created while
 * an async scope is pending belongs to it, and starting a second async scope
 * (nested or concurrent) while one is pending is an error.
 */
export async function scopeAsync<T>(fn: () => Promise<T>): Promise<T> {
  const mine = newFrame(currentFrame());
  const prev = syncTop;
  let promise: Promise<T>;
  if (asyncContext) {
    syncTop = null;
    try {
      promise = asyncContext.run(mine, fn);
    } catch (e) {
      closeScope(mine, new Set());
      throw e;
    } finally {
      syncTop = prev;
    }
  } else {
    // a nested call and a concurrent one look the same here, so only one may be pending
    if (asyncStack.some((f) => !f.closed)) {
      throw new Error(
        'scopeAsync: another scopeAsync is pending and this platform has no AsyncLocalStorage, so the two would share tensors; ' +
          'await the first one before starting another (inside one, use scope())',
      );
    }
    asyncStack.push(mine);
    syncTop = null;
    try {
      promise = fn();
    } catch (e) {
      removeFrame(mine);
      closeScope(mine, new Set());
      throw e;
    } finally {
      syncTop = prev;
    }
  }
  try {
    const result = await promise;
    const keep = new Set<object>();
    collectOwners(result, keep);
    removeFrame(mine);
    closeScope(mine, keep);
    return result;
  } catch (e) {
    removeFrame(mine);
    closeScope(mine, new Set());
    throw e;
  }
}

function removeFrame(f: Frame): void {
  const i = asyncStack.lastIndexOf(f);
  if (i >= 0) asyncStack.splice(i, 1);
}

function closeScope(mine: Frame, keep: Set<object>): void {
  mine.closed = true;
  let parent = mine.parent;
  while (parent?.closed) parent = parent.parent;
  for (const o of mine.tensors) {
    const h = (o as Owner).handle;
    if (h.scope !== mine) continue; // moved elsewhere (kept by an inner scope's parent, or `keep`)
    if (keep.has(o) || retainDepth > 0) {
      h.scope = parent;
      parent?.tensors.add(o);
    } else release(h);
  }
  mine.tensors.clear();
}

/**
 * Runs `fn` (with inner scopes retaining, as inside a transformation) and
 * returns its result with every concrete tensor it created and left alive,
 * exempt from all scopes (they live until disposed or collected): `jit`
 * keeps the constants its trace created and disposes the rest.
 */
export function collectCreated<T>(fn: () => T): { result: T; created: object[] } {
  const mine = newFrame(currentFrame());
  const prev = syncTop;
  syncTop = mine;
  retainDepth++;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    retainDepth--;
    syncTop = prev;
    closeScope(mine, new Set());
    throw e;
  }
  retainDepth--;
  syncTop = prev;
  mine.closed = true;
  const created: object[] = [];
  for (const o of mine.tensors) {
    const h = (o as Owner).handle;
    if (h.scope !== mine || !h.storage) continue;
    h.scope = null;
    h.kept = true;
    created.push(o);
  }
  mine.tensors.clear();
  return { result, created };
}

/** Exempt tensors from the current scope: they live until disposed or collected. */
export function keep<T>(value: T): T {
  const owners = new Set<object>();
  collectOwners(value, owners);
  for (const o of owners) {
    const h = (o as Owner).handle;
    h.scope?.tensors.delete(o);
    h.scope = null;
    h.kept = true;
  }
  return value;
}

/**
 * Runs `fn` in a scope that frees what it created (except its result) even
 * inside a transformation: for work whose intermediates no tape or graph can
 * reference (checkpoint recomputing a block on concrete values).
 */
export function scopeFreeing<T>(fn: () => T): T {
  const saved = retainDepth;
  retainDepth = 0;
  try {
    return scope(fn);
  } finally {
    retainDepth = saved;
  }
}

/** Transformations run their body inside `retaining` so inner scopes cannot free taped values. */
export function retaining<T>(fn: () => T): T {
  retainDepth++;
  try {
    return fn();
  } finally {
    retainDepth--;
  }
}

/**
 * Donation: `op` has replaced `old` by `now` (a new parameter tree, a new
 * optimiser state) and takes ownership of `old`. Every concrete tensor of
 * `old` not reachable from `now` or `alsoAlive` is freed now; using one later
 * is an error that says it was donated to `op` and what to use instead.
 * Nothing is donated while a transformation is tracing (its tape may need
 * the old values).
 */
export function donate(op: string, old: unknown, now: unknown, instead: string, alsoAlive: unknown = null): void {
  if (retainDepth > 0) return;
  const alive = new Set<object>();
  collectOwners(now, alive);
  collectOwners(alsoAlive, alive);
  const gone = new Set<object>();
  collectOwners(old, gone);
  for (const o of gone) {
    if (alive.has(o)) continue;
    const h = (o as Owner).handle;
    if (!h.storage) continue;
    release(h);
    h.freedBy = `was donated to ${op} and freed; ${instead}`;
  }
}

/** Free the tensors of `value` unless keep() was called on them, saying why (`reason`) if one is used later. */
export function releaseUnkept(value: unknown, reason: string): void {
  if (retainDepth > 0) return;
  const owners = new Set<object>();
  collectOwners(value, owners);
  for (const o of owners) {
    const h = (o as Owner).handle;
    if (h.kept || !h.storage) continue;
    release(h);
    h.freedBy = reason;
  }
}

/** What {@link memoryStats} reports: live concrete tensors and bytes, per backend, and the buffers each backend holds. */
export interface MemoryStats {
  /** Concrete tensors whose buffers are still allocated. */
  readonly liveTensors: number;
  readonly liveBytes: number;
  readonly byBackend: Readonly<Record<string, { tensors: number; bytes: number }>>;
  /** Buffers held by each backend (WebGPU counts pooled buffers too). */
  readonly backendBuffers: Readonly<Record<string, { buffers: number; bytes: number }>>;
}

/** Start a new peak measurement: the peak becomes the bytes live now. */
export function resetPeakBytes(): void {
  peakLive = liveBytes;
}

/** The most bytes of concrete tensors live at once since the last {@link resetPeakBytes} (or since start). */
export function peakBytes(): number {
  return peakLive;
}

/** Live concrete tensors and bytes, in total and per backend. */
export function tensorStats(): Pick<MemoryStats, 'liveTensors' | 'liveBytes' | 'byBackend'> {
  return { liveTensors, liveBytes, byBackend: Object.fromEntries([...liveByBackend].map(([k, v]) => [k, { ...v }])) };
}
