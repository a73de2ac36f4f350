"""ember vs torch, side by side in one run.

Each workload is built by each library from the same seed (ember replays torch's random
stream, so the weights are the same) on the same inputs. By default each library runs in its
own worker process and the two take turns (A B A B: a few steps each, then a pause); we
report the median step time of each and the median of the per-round ember/torch ratios.
``--inprocess`` interleaves single steps in one process instead.

    python benchmarks/bench.py                 # all workloads
    python benchmarks/bench.py --only mlp cnn  # a subset
    python benchmarks/bench.py --json out.json

A training step is: forward, cross-entropy, zero_grad, backward, SGD(momentum=0.9).step().
Also reported: import times (fresh interpreters), peak RSS while training workload 3
(fresh interpreters), the machine's SGEMM rate and the GEMM-bound step times of workloads 3
and 4 (their GEMM FLOPs at that rate).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))


# ---------------------------------------------------------------------------------------------
# Workloads: each builder takes a namespace M (ember or torch) and returns (model, inputs...)
# ---------------------------------------------------------------------------------------------
def mlp(M):
    nn = M.nn
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def seed_cnn(M):
    nn, F = M.nn, M.nn.functional

    class Mnist_CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1)
            self.conv2 = nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1)
            self.conv3 = nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1)

        def forward(self, xb):
            xb = xb.view(-1, 1, 28, 28)
            xb = F.relu(self.conv1(xb))
            xb = F.relu(self.conv2(xb))
            xb = F.relu(self.conv3(xb))
            xb = F.avg_pool2d(xb, 4)
            return xb.view(-1, xb.size(1))
    return Mnist_CNN()


def mnist_net(M):
    nn, F = M.nn, M.nn.functional

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 3, 1)
            self.conv2 = nn.Conv2d(32, 64, 3, 1)
            self.fc1 = nn.Linear(9216, 128)
            self.fc2 = nn.Linear(128, 10)

        def forward(self, x):
            x = F.relu(self.conv1(x))
            x = F.relu(self.conv2(x))
            x = F.max_pool2d(x, 2)
            x = M.flatten(x, 1)
            x = F.relu(self.fc1(x))
            return self.fc2(x)
    return Net()


def lstm_lm(M):
    nn = M.nn

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(1000, 128)
            self.rnn = nn.LSTM(128, 256, num_layers=2)
            self.out = nn.Linear(256, 1000)

        def forward(self, x):
            h, _ = self.rnn(self.emb(x))
            return self.out(h).reshape(-1, 1000)
    return LM()


WORKLOADS = {
    # name: (builder, input shape, input kind, target shape, n_classes, train?)
    "mlp": (mlp, (64, 784), "float", (64,), 10, True),
    "cnn": (seed_cnn, (64, 784), "float", (64,), 10, True),
    "mnist_net": (mnist_net, (64, 1, 28, 28), "float", (64,), 10, True),
    "lstm_lm": (lstm_lm, (35, 32), "tokens", (35 * 32,), 1000, True),
    "mnist_net_infer": (mnist_net, (1000, 1, 28, 28), "float", None, 10, False),
}


def copy_weights(em, tm):
    import ember
    sd = {k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()}
    em.load_state_dict(sd)


def make_step(M, model, x, y, train):
    F = M.nn.functional
    if not train:
        def infer():
            with M.no_grad():
                model(x)
        return infer
    opt = M.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        out = model(x)
        loss = F.cross_entropy(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def run_workload(name, pairs, warmup):
    import ember
    import torch
    builder, xshape, kind, yshape, ncls, train = WORKLOADS[name]
    rng = np.random.default_rng(0)
    if kind == "tokens":
        xn = rng.integers(0, 1000, size=xshape).astype(np.int64)
    else:
        xn = rng.standard_normal(xshape).astype(np.float32)
    yn = rng.integers(0, ncls, size=yshape).astype(np.int64) if yshape else None
    torch.manual_seed(0)
    tm = builder(torch)
    em = builder(ember)
    copy_weights(em, tm)
    ex, tx = ember.from_numpy(xn.copy()), torch.from_numpy(xn.copy())
    ey = ember.from_numpy(yn.copy()) if yn is not None else None
    ty = torch.from_numpy(yn.copy()) if yn is not None else None
    es = make_step(ember, em, ex, ey, train)
    ts = make_step(torch, tm, tx, ty, train)
    return interleave(es, ts, pairs, warmup)


def interleave(es, ts, pairs, warmup):
    """Time ember step ``es`` and torch step ``ts`` alternately; medians and median ratio."""
    for _ in range(warmup):
        es()
        ts()
    e_times, t_times, ratios = [], [], []
    for _ in range(pairs):
        t0 = time.perf_counter()
        es()
        t1 = time.perf_counter()
        ts()
        t2 = time.perf_counter()
        e_times.append(t1 - t0)
        t_times.append(t2 - t1)
        ratios.append((t1 - t0) / (t2 - t1))
    return {"ember_ms": 1e3 * statistics.median(e_times),
            "torch_ms": 1e3 * statistics.median(t_times),
            "ratio": statistics.median(ratios), "pairs": pairs}


_WORKER = r"""
import importlib, json, sys, time
import numpy as np
sys.path.insert(0, {root!r}); sys.path.insert(0, {here!r})
lib, name = sys.argv[1], sys.argv[2]
M = importlib.import_module(lib)
import bench
builder, xshape, kind, yshape, ncls, train = bench.WORKLOADS[name]
rng = np.random.default_rng(0)
M.manual_seed(0)          # ember replays torch's generator: both start from the same weights
model = builder(M)
if kind == "tokens":
    x = M.from_numpy(rng.integers(0, 1000, size=xshape).astype(np.int64))
else:
    x = M.from_numpy(rng.standard_normal(xshape).astype(np.float32))
y = M.from_numpy(rng.integers(0, ncls, size=yshape).astype(np.int64)) if yshape else None
step = bench.make_step(M, model, x, y, train)
"""
# Every worker ends with this: report ready, then time N steps of ``step`` per line read.
WORKER_SERVE = r"""
print("ready", flush=True)
for line in sys.stdin:
    times = []
    for _ in range(int(line)):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    print(json.dumps(times), flush=True)
"""


def run_solo(name, rounds, steps, warmup, pause=0.3, worker=None):
    """Each library in its own process, taking turns (``steps`` steps per turn, a pause
    between turns so idle BLAS threads go to sleep); returns median step times and the
    median over rounds of the per-round ratio. Unlike interleaving in one process, NumPy's
    spinning OpenBLAS threads cannot slow torch's next step (or the reverse). ``worker`` is
    source that defines ``step`` (a template with ``{root}``/``{here}``; argv is ``LIB
    NAME``); ``WORKER_SERVE`` is appended. Default: this module's workloads."""
    code = (worker or _WORKER).format(root=os.path.dirname(HERE), here=HERE) + WORKER_SERVE
    procs = {lib: subprocess.Popen([sys.executable, "-c", code, lib, name],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for lib in ("ember", "torch")}
    try:
        for lib, p in procs.items():
            line = p.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"{lib} worker for {name} failed to start")

        def turn(lib, n):
            p = procs[lib]
            p.stdin.write(f"{n}\n")
            p.stdin.flush()
            times = json.loads(p.stdout.readline())
            time.sleep(pause)
            return times
        for lib in procs:
            turn(lib, warmup)
        e_all, t_all, ratios = [], [], []
        for _ in range(rounds):
            e, t = turn("ember", steps), turn("torch", steps)
            e_all += e
            t_all += t
            ratios.append(statistics.median(e) / statistics.median(t))
    finally:
        for p in procs.values():
            p.stdin.close()
            p.wait()
    return {"ember_ms": 1e3 * statistics.median(e_all),
            "torch_ms": 1e3 * statistics.median(t_all),
            "ratio": statistics.median(ratios), "rounds": rounds, "steps": steps}


def _gemm_rate(mm, a, out, reps):
    """Best-of-``reps`` GFLOP/s of ``mm(a, a, out=out)`` for a square ``a``."""
    mm(a, a, out=out)
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        mm(a, a, out=out)
        best = min(best, time.perf_counter() - t)
    return 2 * a.shape[0] ** 3 / best / 1e9


def sgemm_gflops(n=1024, reps=10):
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    return _gemm_rate(np.matmul, a, np.empty_like(a), reps)


def gemm_flops_mnist_net(batch=64):
    """FLOPs of workload 3's training step counted as GEMMs (forward + 2x for backward)."""
    c1 = 2 * batch * 26 * 26 * 32 * (1 * 9)
    c2 = 2 * batch * 24 * 24 * 64 * (32 * 9)
    f1 = 2 * batch * 9216 * 128
    f2 = 2 * batch * 128 * 10
    fwd = c1 + c2 + f1 + f2
    # backward: grad wrt weights for all, grad wrt inputs for all but conv1
    bwd = fwd + (c2 + f1 + f2)
    return fwd + bwd


def gemm_flops_lstm_lm(vocab=1000, emb=128, hidden=256, seq=35, batch=32):
    """FLOPs of workload 4's training step counted as GEMMs. Per LSTM layer with input size
    I: the input projection, the recurrent products, and in backward the gradients of the
    input (needed by layer 1 too: the embedding is trained), of both weights and of the
    previous hidden state: 3 x (2 N 4H I) + 3 x (2 N 4H H) with N = seq * batch. The
    decoder: forward, input and weight gradients."""
    n, g = seq * batch, 4 * hidden
    layers = sum(3 * 2 * n * g * i + 3 * 2 * n * g * hidden for i in (emb, hidden))
    return layers + 3 * 2 * n * hidden * vocab


GEMM_FLOPS = {"mnist_net": gemm_flops_mnist_net, "lstm_lm": gemm_flops_lstm_lm}


def _import_time(mod):
    code = f"import time; t=time.perf_counter(); import {mod}; print(time.perf_counter()-t)"
    vals = []
    # as a user would import it: with cached bytecode (the first run writes the cache)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for _ in range(6):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=os.path.dirname(HERE), env=env)
        vals.append(float(out.stdout.strip()))
    return statistics.median(vals[1:])


_RSS_CODE = r"""
import resource, sys, numpy as np
sys.path.insert(0, {root!r})
lib = {lib!r}
import importlib
M = importlib.import_module(lib)
sys.path.insert(0, {here!r})
from bench import mnist_net, make_step
model = mnist_net(M)
rng = np.random.default_rng(0)
x = M.from_numpy(rng.standard_normal((64, 1, 28, 28)).astype(np.float32))
y = M.from_numpy(rng.integers(0, 10, size=(64,)).astype(np.int64))
step = make_step(M, model, x, y, True)
for _ in range(20):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def _peak_rss(lib):
    code = _RSS_CODE.format(root=os.path.dirname(HERE), lib=lib, here=HERE)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode:
        return None
    return float(out.stdout.strip().splitlines()[-1])


def _openblas_core():
    """The kernel set NumPy's OpenBLAS is running (e.g. 'Haswell', 'SkylakeX'), if known."""
    try:
        import ctypes
        import glob
        libdir = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
        for path in glob.glob(os.path.join(libdir, "*openblas*")):
            lib = ctypes.CDLL(path)
            for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename",
                         "openblas_get_corename64_", "openblas_get_corename"):
                fn = getattr(lib, name, None)
                if fn is not None:
                    fn.restype = ctypes.c_char_p
                    return fn().decode()
    except (OSError, AttributeError):
        pass
    return None


def torch_sgemm_gflops(n=1024, reps=10):
    """torch's SGEMM rate (its own BLAS, MKL in the CPU wheel), for comparison."""
    import torch
    a = torch.from_numpy(np.random.default_rng(0).standard_normal((n, n)).astype(np.float32))
    return _gemm_rate(torch.mm, a, torch.empty_like(a), reps)


def machine():
    info = {"python": platform.python_version(), "cores": os.cpu_count(),
            "numpy": np.__version__, "platform": platform.platform()}
    try:
        import torch
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        info["blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # noqa: BLE001
        pass
    # NumPy's OpenBLAS picks its kernels at load time; OPENBLAS_CORETYPE overrides the pick
    # (this project's machines set it to Haswell, AVX2, although the CPU has AVX-512).
    info["OPENBLAS_CORETYPE"] = os.environ.get("OPENBLAS_CORETYPE", "(unset)")
    core = _openblas_core()
    if core:
        info["openblas_kernels"] = core
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=list(WORKLOADS))
    ap.add_argument("--pairs", type=int, default=30, help="steps per library (in-process)")
    ap.add_argument("--rounds", type=int, default=8, help="turns per library (default mode)")
    ap.add_argument("--steps", type=int, default=5, help="steps per turn (default mode)")
    ap.add_argument("--inprocess", action="store_true",
                    help="interleave A B A B in one process (flatters ember: NumPy's OpenBLAS "
                         "threads keep spinning after each GEMM and slow torch's next step)")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--json")
    ap.add_argument("--no-extras", action="store_true", help="skip import/RSS/GEMM figures")
    ap.add_argument("--threads", type=int, default=None,
                    help="BLAS/intra-op threads for both libraries (default: each library's own)")
    args = ap.parse_args(argv)
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
        if "numpy" in sys.modules and os.environ.get("OPENBLAS_NUM_THREADS") != str(args.threads):
            # NumPy's BLAS reads its thread count at import: re-run with the variable set
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads),
                       OMP_NUM_THREADS=str(args.threads))
            raise SystemExit(subprocess.call([sys.executable, __file__] + (argv or sys.argv[1:]),
                                             env=env))
    results = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "workloads": {},
               "threads": args.threads}
    print(json.dumps(results["machine"]))
    print(f"{'workload':18s} {'ember ms':>9s} {'torch ms':>9s} {'ratio':>6s}")
    for name in args.only:
        if args.inprocess:
            pairs = args.pairs if name != "lstm_lm" else max(5, args.pairs // 3)
            r = run_workload(name, pairs, args.warmup)
        else:
            heavy = name in ("lstm_lm", "mnist_net_infer")
            r = run_solo(name, args.rounds, max(2, args.steps // 2) if heavy else args.steps,
                         args.warmup)
        results["workloads"][name] = r
        print(f"{name:18s} {r['ember_ms']:9.2f} {r['torch_ms']:9.2f} {r['ratio']:6.2f}",
              flush=True)
    if not args.no_extras:
        g = sgemm_gflops()
        results["sgemm_gflops"] = g
        results["torch_sgemm_gflops"] = torch_sgemm_gflops()
        for name, count in GEMM_FLOPS.items():
            results[f"{name}_gemm_bound_ms"] = count() / (g * 1e9) * 1e3
        results["import_s"] = {"ember": _import_time("ember"), "torch": _import_time("torch")}
        results["peak_rss_mb"] = {"ember": _peak_rss("ember"), "torch": _peak_rss("torch")}
        print(f"SGEMM: NumPy {g:.1f} GFLOP/s (torch {results['torch_sgemm_gflops']:.1f}); "
              "GEMM-bound step at NumPy's rate: " + ", ".join(
                  f"{name} {results[f'{name}_gemm_bound_ms']:.2f} ms" for name in GEMM_FLOPS))
        for name in GEMM_FLOPS:
            w = results["workloads"].get(name)
            if not w:
                continue
            bound = results[f"{name}_gemm_bound_ms"]
            results[f"{name}_step_over_bound"] = {"ember": w["ember_ms"] / bound,
                                                  "torch": w["torch_ms"] / bound}
            target = " (target: ember at most 1.5x)" if name == "mnist_net" else ""
            print(f"{name} step / GEMM bound: ember {w['ember_ms'] / bound:.2f}x, "
                  f"torch {w['torch_ms'] / bound:.2f}x{target}")
        print(f"import: ember {results['import_s']['ember']:.3f} s, "
              f"torch {results['import_s']['torch']:.3f} s")
        print(f"peak RSS training mnist_net: ember {results['peak_rss_mb']['ember']} MB, "
              f"torch {results['peak_rss_mb']['torch']} MB")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
