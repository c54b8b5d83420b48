/**
 * checkpoint (remat): the same values and derivatives as the function itself
 * (bit for bit on the cpu backend: the recomputation runs the same kernels on
 * the same inputs), in every mode and nesting, and the memory target: the
 * peak live bytes of `grad` over a 64-layer chain drop at least 4× with
 * checkpointed blocks.
 */
import { describe, expect, it } from 'vitest';
import * as ct from '../../src/index.js';
import { close, kernels, rand, same, sameTree } from './helpers.js';

// a small MLP block with a record of parameters and a pytree result
type P = { W: ct.Tensor; b: ct.Tensor };
const block = (p: P, h: ct.Tensor) => ct.tanh(ct.add(ct.matmul(h, p.W), p.b));
const p64: P = { W: rand([5, 5], 'f64', 1, 0.5), b: rand([5], 'f64', 2, 0.2) };
const x64 = rand([3, 5], 'f64', 3);

describe('checkpoint: values', () => {
  it('outside transformations it computes f (pytrees in and out, several dtypes, static leaves)', () => {
    const f = (p: P, h: ct.Tensor) => {
      const y = block(p, h);
      return { y, s: ct.sum(y, 1), idx: ct.argmax(y, 1), label: 'out', k: 3 };
    };
    const g = ct.checkpoint(f);
    const a = f(p64, x64);
    const b = g(p64, x64);
    expect(b.label).toBe('out');
    expect(b.k).toBe(3);
    expect(b.idx.dtype).toBe('i32');
    sameTree(b, a);
  });

  it('remat is checkpoint', () => {
    expect(ct.remat).toBe(ct.checkpoint);
  });

  it('frees the intermediates of f outside transformations', () => {
    const g = ct.checkpoint((h: ct.Tensor) => ct.tanh(ct.tanh(ct.tanh(ct.tanh(h)))));
    ct.scope(() => {
      const before = ct.memoryStats().liveTensors;
      const y = g(x64);
      expect(ct.memoryStats().liveTensors).toBe(before + 1);
      y.dispose();
    });
  });

  it('f reading values is a clear error', () => {
    const g = ct.checkpoint((h: ct.Tensor) => ct.mul(h, h.dataSync()[0]!));
    expect(() => g(x64)).toThrow(/checkpoint.*traced abstractly/);
  });
});

describe('checkpoint: derivatives equal those of f, bit for bit', () => {
  const loss = (blk: (p: P, h: ct.Tensor) => ct.Tensor) => (p: P, x: ct.Tensor) => ct.sum(ct.square(blk(p, blk(p, x))));

  it('grad with respect to pytree arguments (f64 and f32)', () => {
    for (const dtype of ['f64', 'f32'] as const) {
      const p: P = { W: rand([5, 5], dtype, 11, 0.5), b: rand([5], dtype, 12, 0.2) };
      const x = rand([3, 5], dtype, 13);
      const want = ct.grad(loss(block), { argnums: [0, 1] })(p, x);
      const got = ct.grad(loss(ct.checkpoint(block)), { argnums: [0, 1] })(p, x);
      sameTree(got, want);
    }
  });

  it('the backward pass recomputes the forward pass (more kernels than without checkpoint)', () => {
    const plain = kernels(() => ct.grad(loss(block))(p64, x64));
    const remat = kernels(() => ct.grad(loss(ct.checkpoint(block)))(p64, x64));
    expect(remat).toBeGreaterThan(plain);
  });

  it('vjp of a function with several outputs of several dtypes', () => {
    const f = (p: P, h: ct.Tensor) => {
      const y = block(p, h);
      return [y, ct.sum(ct.exp(y)), ct.argmax(y, 1)] as const;
    };
    const [ya, pa] = ct.vjp(f, p64, x64);
    const [yb, pb] = ct.vjp(ct.checkpoint(f), p64, x64);
    sameTree(yb, ya);
    const c = [
      rand([3, 5], 'f64', 21),
      ct.scalar(0.7, { dtype: 'f64', backend: 'cpu' }),
      ct.zeros([3], { dtype: 'i32', backend: 'cpu' }),
    ] as const;
    sameTree(pb(c as never), pa(c as never));
  });

  it('captured tensors of an enclosing transformation are differentiated', () => {
    // the block closes over the parameters being differentiated
    const lossOf = (wrap: <F extends ct.Fn>(f: F) => F) => (p: P) => {
      const blk = wrap((h: ct.Tensor) => block(p, h));
      return ct.sum(ct.square(blk(blk(x64))));
    };
    const want = ct.grad(lossOf((f) => f))(p64);
    const got = ct.grad(lossOf(ct.checkpoint))(p64);
    sameTree(got, want);
  });

  it('jvp through checkpoint', () => {
    const f = (p: P, h: ct.Tensor) => [block(p, h), ct.sum(block(p, h))] as const;
    const t = [{ W: rand([5, 5], 'f64', 31), b: rand([5], 'f64', 32) }, rand([3, 5], 'f64', 33)] as const;
    const want = ct.jvp(f, [p64, x64], t as never);
    const got = ct.jvp(ct.checkpoint(f), [p64, x64], t as never);
    sameTree(got, want);
  });

  it('nested checkpoints, and a checkpoint inside a checkpoint inside grad of grad (hessian)', () => {
    const inner = ct.checkpoint((h: ct.Tensor) => ct.tanh(ct.mul(h, ct.sin(h))));
    const outer = ct.checkpoint((h: ct.Tensor) => ct.exp(ct.mul(inner(h), 0.5)));
    const fPlain = (h: ct.Tensor) => ct.sum(ct.exp(ct.mul(ct.tanh(ct.mul(h, ct.sin(h))), 0.5)));
    const fRemat = (h: ct.Tensor) => ct.sum(outer(h));
    const x = rand([4], 'f64', 41);
    sameTree(fRemat(x), fPlain(x));
    sameTree(ct.grad(fRemat)(x), ct.grad(fPlain)(x));
    // second derivatives: the same terms, accumulated in another order
    close(ct.grad((h: ct.Tensor) => ct.sum(ct.grad(fRemat)(h)))(x), ct.grad((h: ct.Tensor) => ct.sum(ct.grad(fPlain)(h)))(x), 1e-13);
    close(ct.hessian(fRemat)(x), ct.hessian(fPlain)(x), 1e-13);
    close(ct.jacfwd(ct.grad(fRemat))(x), ct.jacfwd(ct.grad(fPlain))(x), 1e-13);
    close(ct.jacrev(ct.grad(fRemat))(x), ct.hessian(fPlain)(x), 1e-13);
  });

  it('custom rules inside a checkpoint still apply', () => {
    // gradient clipping: identity forward, cotangent clipped to [-1, 1]
    const clip = ct.customVjp(
      (h) => h,
      (h) => [h, null] as const,
      (_r, c) => [ct.maximum(ct.minimum(c, 1), -1)],
    );
    const f = ct.checkpoint((h: ct.Tensor) => ct.mul(clip(h), 10));
    const g = ct.grad((h: ct.Tensor) => ct.sum(f(h)))(ct.tensor([1, 2], { dtype: 'f64', backend: 'cpu' }));
    expect(Array.from(g.dataSync())).toEqual([1, 1]);
  });

  it("f32 with constants made inside f (softmax) stays on the arguments' backend", () => {
    const p: P = { W: rand([5, 5], 'f32', 61, 0.5), b: rand([5], 'f32', 62, 0.2) };
    const x = rand([3, 5], 'f32', 63);
    const f = (q: P, h: ct.Tensor) => ct.sum(ct.mul(ct.softmax(block(q, h), -1), 3));
    sameTree(ct.checkpoint(f)(p, x), f(p, x));
    sameTree(ct.grad(ct.checkpoint(f), { argnums: [0, 1] })(p, x), ct.grad(f, { argnums: [0, 1] })(p, x));
  });

  it('per-example gradients: vmap of grad through checkpoint, and grad of vmap', () => {
    const w = rand([5], 'f64', 71);
    const xs = rand([4, 5], 'f64', 72);
    const lossOf = (blk: (h: ct.Tensor) => ct.Tensor) => (v: ct.Tensor, h: ct.Tensor) => ct.sum(blk(ct.mul(h, v)));
    const inner = (h: ct.Tensor) => ct.tanh(ct.exp(ct.mul(h, 0.3)));
    const per = (blk: (h: ct.Tensor) => ct.Tensor) => ct.vmap(ct.grad(lossOf(blk)), { inAxes: [null, 0] })(w, xs);
    sameTree(per(ct.checkpoint(inner)), per(inner));
    const batched = (blk: (h: ct.Tensor) => ct.Tensor) =>
      ct.grad((v: ct.Tensor) => ct.sum(ct.vmap((h: ct.Tensor) => lossOf(blk)(v, h))(xs)))(w);
    close(batched(ct.checkpoint(inner)), batched(inner), 1e-13);
  });

  it('under jit', () => {
    const f = (h: ct.Tensor) => ct.sum(ct.checkpoint((a: ct.Tensor) => ct.tanh(ct.mul(a, a)))(h));
    const x = rand([6], 'f64', 51);
    sameTree(ct.jit(ct.grad(f))(x), ct.grad((h: ct.Tensor) => ct.sum(ct.tanh(ct.mul(h, h))))(x));
  });
});

describe('peakBytes', () => {
  it('counts the most bytes live at once since resetPeakBytes', () => {
    ct.scope(() => {
      const base = ct.memoryStats().liveBytes;
      ct.resetPeakBytes();
      expect(ct.peakBytes()).toBe(base);
      const a = ct.zeros([1000], { dtype: 'f64', backend: 'cpu' });
      const b = ct.zeros([500], { dtype: 'f32', backend: 'cpu' });
      a.dispose();
      b.dispose();
      expect(ct.memoryStats().liveBytes).toBe(base);
      expect(ct.peakBytes()).toBe(base + 8000 + 2000);
    });
  });
});

describe('checkpoint: memory of grad over a 64-layer chain', () => {
  const width = 256;
  const batch = 64;
  const layers = 64;
  const perBlock = 8;

  it('peak live bytes drop at least 4× with 8 checkpointed blocks of 8 layers, identical gradients', () => {
    const Ws = Array.from({ length: layers }, (_, i) => rand([width, width], 'f32', 100 + i, 1 / Math.sqrt(width)));
    const x = rand([batch, width], 'f32', 7);
    const layer = (h: ct.Tensor, w: ct.Tensor) => ct.tanh(ct.matmul(h, w));
    const blockOf = (ws: ct.Tensor[]) => (h: ct.Tensor) => ws.reduce(layer, h);
    const plain = (h: ct.Tensor) => ct.sum(Ws.reduce(layer, h));
    const blocks = Array.from({ length: layers / perBlock }, (_, b) => ct.checkpoint(blockOf(Ws.slice(b * perBlock, (b + 1) * perBlock))));
    const remat = (h: ct.Tensor) => ct.sum(blocks.reduce((a, blk) => blk(a), h));

    const measure = (f: (h: ct.Tensor) => ct.Tensor): [ct.Tensor, number] => {
      const base = ct.memoryStats().liveBytes;
      ct.resetPeakBytes();
      const g = ct.grad(f)(x);
      return [g, ct.peakBytes() - base];
    };
    const [gPlain, bytesPlain] = measure(plain);
    const [gRemat, bytesRemat] = measure(remat);
    console.log(
      `grad over ${layers} layers (${batch}×${width} f32): peak live bytes ${bytesPlain} without checkpoint, ${bytesRemat} with ` +
        `${layers / perBlock} checkpointed blocks (${(bytesPlain / bytesRemat).toFixed(2)}× less)`,
    );
    same(gRemat, gPlain);
    expect(bytesPlain).toBeGreaterThanOrEqual(4 * bytesRemat);
    gPlain.dispose();
    gRemat.dispose();
  });
});
