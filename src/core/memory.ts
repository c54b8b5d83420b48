/**
 * Memory: tensors are immutable handles on backend buffers and users never
 * count references. `scope(fn)` frees every concrete tensor created inside
 * except what `fn` returns (which moves to the enclosing scope); a
 * FinalizationRegistry frees tensors that were never scoped once they are
 * garbage. `memoryStats()` reports live tensors and bytes per backend.
 */
import type { Backend, Storage } from '../backends/Backend.js';

/** The freeable part of a concrete tensor (kept apart so the GC backstop can hold it). */
export interface Handle {
  readonly backend: Backend;
  storage: Storage | null;
  scope: Set<object> | null;
}

let liveTensors = 0;
let liveBytes = 0;
const liveByBackend = new Map<string, { tensors: number; bytes: number }>();

const scopes: Set<object>[] = [];
/** While > 0, scopes hand their tensors to the parent instead of freeing (a tape may need them). */
let retainDepth = 0;

const registry = new FinalizationRegistry<Handle>((h) => release(h));

function account(backend: string, tensors: number, bytes: number): void {
  liveTensors += tensors;
  liveBytes += bytes;
  const e = liveByBackend.get(backend) ?? { tensors: 0, bytes: 0 };
  e.tensors += tensors;
  e.bytes += bytes;
  liveByBackend.set(backend, e);
}

/** Register a freshly created concrete tensor with the current scope and the GC backstop. */
export function track(owner: object, h: Handle): void {
  account(h.backend.name, 1, h.storage!.bytes);
  registry.register(owner, h, h);
  const top = scopes[scopes.length - 1];
  if (top) {
    top.add(owner);
    h.scope = top;
  }
}

export function release(h: Handle): void {
  if (!h.storage) return;
  account(h.backend.name, -1, -h.storage.bytes);
  h.backend.free(h.storage);
  h.storage = null;
  registry.unregister(h);
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
  const mine = new Set<object>();
  scopes.push(mine);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    closeScope(mine, new Set());
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    throw new Error('scope: fn returned a Promise; scopes are synchronous (await outside the scope, or use scopeAsync)');
  }
  const keep = new Set<object>();
  collectOwners(result, keep);
  closeScope(mine, keep);
  return result;
}

/**
 * Async variant: frees what `fn` created once its promise settles. Tensors
 * created by other code running concurrently in between are attributed to
 * this scope too, so do not interleave independent async scopes.
 */
export async function scopeAsync<T>(fn: () => Promise<T>): Promise<T> {
  const mine = new Set<object>();
  scopes.push(mine);
  try {
    const result = await fn();
    const keep = new Set<object>();
    collectOwners(result, keep);
    removeScope(mine);
    closeScope(mine, keep);
    return result;
  } catch (e) {
    removeScope(mine);
    closeScope(mine, new Set());
    throw e;
  }
}

function removeScope(s: Set<object>): void {
  const i = scopes.lastIndexOf(s);
  if (i >= 0) scopes.splice(i, 1);
}

function closeScope(mine: Set<object>, keep: Set<object>): void {
  const parent = scopes[scopes.length - 1] ?? null;
  for (const o of mine) {
    const h = (o as Owner).handle;
    if (h.scope !== mine) continue; // moved elsewhere (kept by an inner scope's parent, or `keep`)
    if (keep.has(o) || retainDepth > 0) {
      h.scope = parent;
      parent?.add(o);
    } else release(h);
  }
}

/** Exempt tensors from the current scope: they live until disposed or collected. */
export function keep<T>(value: T): T {
  const owners = new Set<object>();
  collectOwners(value, owners);
  for (const o of owners) {
    const h = (o as Owner).handle;
    h.scope?.delete(o);
    h.scope = null;
  }
  return value;
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

export interface MemoryStats {
  /** Concrete tensors whose buffers are still allocated. */
  readonly liveTensors: number;
  readonly liveBytes: number;
  readonly byBackend: Readonly<Record<string, { tensors: number; bytes: number }>>;
  /** Buffers held by each backend (WebGPU counts pooled buffers too). */
  readonly backendBuffers: Readonly<Record<string, { buffers: number; bytes: number }>>;
}

export function tensorStats(): Pick<MemoryStats, 'liveTensors' | 'liveBytes' | 'byBackend'> {
  return { liveTensors, liveBytes, byBackend: Object.fromEntries([...liveByBackend].map(([k, v]) => [k, { ...v }])) };
}
