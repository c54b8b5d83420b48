"""PyTorch peer of `npm run bench` (optional: run by bench/run.ts when `import torch` works).

The same workloads on the same seeded data as bench/data.ts: square f32 matmuls
(GFLOP/s) and one SGD step of the MLP 784-256-128-10 (ReLU, softmax cross-entropy,
batch 128, learning rate 0.1), eager, on torch.set_num_threads(BENCH_TORCH_THREADS,
default 2). Prints one line `RESULT {json}` in the shape of bench/data.ts's PeerResult.
Environment: BENCH_SIZES, BENCH_MM_BATCH, BENCH_QUICK, BENCH_TORCH_THREADS.
"""

import json
import math
import os
import time

import torch

THREADS = int(os.environ.get("BENCH_TORCH_THREADS", "2"))
SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "256,512,1024").split(",")]
MM_BATCH = int(os.environ.get("BENCH_MM_BATCH", "1"))
QUICK = os.environ.get("BENCH_QUICK") == "1"
MLP_SIZES = [784, 256, 128, 10]
BATCH = 128
LR = 0.1
M32 = 0xFFFFFFFF


def rng(seed):
    """mulberry32, as bench/data.ts (all arithmetic modulo 2^32)."""
    state = seed & M32

    def nxt():
        nonlocal state
        state = (state + 0x6D2B79F5) & M32
        t = state
        t = ((t ^ (t >> 15)) * (t | 1)) & M32
        t = t ^ ((t + (((t ^ (t >> 7)) * (t | 61)) & M32)) & M32)
        return ((t ^ (t >> 14)) & M32) / 4294967296

    return nxt


def uniform(n, seed, lo=-1.0, hi=1.0):
    r = rng(seed)
    return torch.tensor([lo + (hi - lo) * r() for _ in range(n)], dtype=torch.float32)


def timed(fn, warmup=1, min_reps=3, max_reps=50, min_ms=1500.0):
    if QUICK:
        warmup, min_reps, max_reps, min_ms = 1, 2, 2, 0.0
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_reps or (len(times) < max_reps and (time.perf_counter() - start) * 1000 < min_ms):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2], len(times)


def gflops(n, ms):
    return 2 * n**3 / (ms * 1e6)


def main():
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    matmul = []
    with torch.no_grad():
        for n in SIZES:
            a = uniform(n * n, 1).reshape(n, n)
            b = uniform(n * n, 2).reshape(n, n)

            def mm():
                for _ in range(MM_BATCH):
                    torch.matmul(a, b)

            ms, _ = timed(mm, max_reps=3 if n >= 1024 else 20)
            ms /= MM_BATCH
            matmul.append({"n": n, "ms": ms, "gflops": gflops(n, ms)})

    params = []
    for i in range(len(MLP_SIZES) - 1):
        fan_in, fan_out = MLP_SIZES[i], MLP_SIZES[i + 1]
        lim = math.sqrt(6 / (fan_in + fan_out))
        params.append(uniform(fan_in * fan_out, 100 + i, -lim, lim).reshape(fan_in, fan_out).requires_grad_())
        params.append(torch.zeros(fan_out, dtype=torch.float32, requires_grad=True))
    x = uniform(BATCH * MLP_SIZES[0], 9, 0.0, 1.0).reshape(BATCH, MLP_SIZES[0])
    r = rng(7)
    y = torch.tensor([math.floor(r() * 10) for _ in range(BATCH)], dtype=torch.int64)
    first = []

    def step():
        h = x
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i + 2 < len(params):
                h = torch.relu(h)
        loss = torch.nn.functional.cross_entropy(h, y)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p.sub_(g, alpha=LR)
        v = loss.item()
        if not first:
            first.append(v)

    ms, reps = timed(step, warmup=2, min_reps=5, max_reps=50, min_ms=3000.0)
    result = {
        "peer": f"PyTorch (cpu, {THREADS} threads)",
        "device": f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads",
        "matmul": matmul,
        "mlp": {"msPerStep": ms, "stepsPerSec": 1000 / ms, "firstLoss": first[0], "reps": reps},
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
