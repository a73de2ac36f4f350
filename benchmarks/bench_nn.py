"""nn primitives, ember vs torch: forward+backward of conv, linear, pooling, normalization
and cross-entropy at the shapes of small CNNs and of larger image models.

Both libraries run their BLAS single-threaded (the numbers then measure the kernels, not
thread scheduling on a shared machine); each case is timed interleaved and the minimum of
``--reps`` runs is reported. For convolutions and linear layers the GEMM work (forward,
input and weight gradients) is also given as GFLOP/s, next to each library's one-thread
SGEMM rate: a rate above NumPy's SGEMM peak means torch runs that case on kernels NumPy's
BLAS does not use here (oneDNN's AVX-512 kernels while ``OPENBLAS_CORETYPE=Haswell`` pins
OpenBLAS to AVX2).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_nn.py
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_nn.py --only conv --reps 10
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

RNG = np.random.default_rng(0)


def _arr(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def conv(N, C, H, O, k, s, p):
    x, w, b = _arr(N, C, H, H), _arr(O, C, k, k) * 0.1, _arr(O)

    def build(M):
        xt = M.from_numpy(x.copy()).requires_grad_()
        wt = M.from_numpy(w.copy()).requires_grad_()
        bt = M.from_numpy(b.copy()).requires_grad_()

        def step():
            y = M.nn.functional.conv2d(xt, wt, bt, stride=s, padding=p)
            y.backward(M.ones_like(y))
        return step
    oh = (H + 2 * p - k) // s + 1
    build.flops = 3 * 2 * N * O * oh * oh * C * k * k
    return build


def linear(N, I, O):
    x, w, b = _arr(N, I), _arr(O, I), _arr(O)

    def build(M):
        xt, wt, bt = (M.from_numpy(a.copy()).requires_grad_() for a in (x, w, b))

        def step():
            y = M.nn.functional.linear(xt, wt, bt)
            y.backward(M.ones_like(y))
        return step
    build.flops = 3 * 2 * N * I * O
    return build


def unary(fn_name, shape, **kw):
    x = _arr(*shape)

    def build(M):
        xt = M.from_numpy(x.copy()).requires_grad_()
        fn = getattr(M.nn.functional, fn_name)

        def step():
            y = fn(xt, **kw)
            y.backward(M.ones_like(y))
        return step
    return build


def batchnorm(shape):
    x = _arr(*shape)

    def build(M):
        xt = M.from_numpy(x.copy()).requires_grad_()
        bn = M.nn.BatchNorm2d(shape[1])

        def step():
            y = bn(xt)
            y.backward(M.ones_like(y))
        return step
    return build


def cross_entropy(N, C):
    x, y = _arr(N, C), RNG.integers(0, C, N)

    def build(M):
        xt, yt = M.from_numpy(x.copy()).requires_grad_(), M.from_numpy(y.copy())

        def step():
            M.nn.functional.cross_entropy(xt, yt).backward()
        return step
    return build


CASES = {
    "conv seed-cnn 1": conv(64, 1, 28, 16, 3, 2, 1),
    "conv seed-cnn 2": conv(64, 16, 14, 16, 3, 2, 1),
    "conv seed-cnn 3": conv(64, 16, 7, 10, 3, 2, 1),
    "conv mnist-net 2": conv(64, 32, 26, 64, 3, 1, 0),
    "conv cifar 64ch": conv(128, 64, 32, 64, 3, 1, 1),
    "conv imagenet stem": conv(32, 3, 224, 64, 7, 2, 3),
    "linear 64x9216->128": linear(64, 9216, 128),
    "linear 64x784->128": linear(64, 784, 128),
    "max_pool2d 64x64x24x24 k2": unary("max_pool2d", (64, 64, 24, 24), kernel_size=2),
    "avg_pool2d 64x16x28x28 k3s2": unary("avg_pool2d", (64, 16, 28, 28), kernel_size=3,
                                         stride=2, padding=1),
    "batch_norm 64x64x24x24": batchnorm((64, 64, 24, 24)),
    "layer_norm 4096x512": unary("layer_norm", (4096, 512), normalized_shape=(512,)),
    "gelu 2.4M": unary("gelu", (64 * 64 * 24 * 24,)),
    "cross_entropy 4096x1000": cross_entropy(4096, 1000),
}


def _gemm_rate(mm, reps=10):
    mm()
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        mm()
        best = min(best, time.perf_counter() - t)
    return 2 * 1024 ** 3 / best / 1e9


def run(names, reps):
    import ember
    import torch
    torch.set_num_threads(1)
    a = _arr(1024, 1024)
    ta = torch.from_numpy(a)
    print(f"one-thread SGEMM 1024^3: NumPy {_gemm_rate(lambda: a @ a):.0f} GFLOP/s, torch "
          f"{_gemm_rate(lambda: ta @ ta):.0f} GFLOP/s (NumPy's BLAS threads: "
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default')})")
    print(f"{'case':32s} {'ember ms':>9s} {'torch ms':>9s} {'ratio':>6s} "
          f"{'ember GF/s':>10s} {'torch GF/s':>10s}")
    for name in names:
        es, ts = CASES[name](ember), CASES[name](torch)
        es()
        ts()
        e_best = t_best = float("inf")
        for _ in range(reps):
            t0 = time.perf_counter()
            es()
            t1 = time.perf_counter()
            ts()
            t2 = time.perf_counter()
            e_best, t_best = min(e_best, t1 - t0), min(t_best, t2 - t1)
        rates = ""
        flops = getattr(CASES[name], "flops", None)
        if flops:
            rates = f" {flops / e_best / 1e9:10.0f} {flops / t_best / 1e9:10.0f}"
        print(f"{name:32s} {1e3 * e_best:9.2f} {1e3 * t_best:9.2f} {e_best / t_best:6.2f}"
              + rates)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="*", help="substrings of case names")
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    names = [n for n in CASES if not args.only or any(o in n for o in args.only)]
    run(names, args.reps)


if __name__ == "__main__":
    main()
