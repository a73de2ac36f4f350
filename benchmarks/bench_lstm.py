"""LSTM language-model training step, ember vs torch (not a test).

    python benchmarks/bench_lstm.py [--rounds 8] [--steps 5] [--inprocess]

Workloads:

* ``lstm_lm``: bench.py's workload (vocab 1000, embedding 128, 2-layer LSTM with hidden 256,
  seq 35, batch 32; forward, cross-entropy, zero_grad, backward, SGD momentum step);
* ``lstm_layers``: the two LSTM layers alone (forward + backward with a random output
  gradient), which isolates ember's fused recurrent kernel from the rest of the model.

Default measurement: each library runs in its own worker process; the two workers take
turns (``--rounds`` rounds of ``--steps`` steps each, with a pause between turns so that idle
thread pools go to sleep) and the reported ratio is the median over rounds of the ratio of
per-round median step times. ``--inprocess`` also runs bench.py's interleaving in one process,
which flatters ember: numpy's OpenBLAS worker threads keep spinning for a while after each
GEMM and take the cores torch's next step needs (measured here: a torch step right after
numpy GEMMs took about twice as long as one run alone).
"""
from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

from bench import machine, run_solo, run_workload  # noqa: E402

# The LSTM layers alone (forward + backward with a random output gradient); "lstm_lm" is
# bench.py's own workload.
_LAYERS_WORKER = r"""
import importlib, json, sys, time
import numpy as np
sys.path.insert(0, {root!r}); sys.path.insert(0, {here!r})
M = importlib.import_module(sys.argv[1])
rng = np.random.default_rng(0)
M.manual_seed(0)
model = M.nn.LSTM(128, 256, num_layers=2)
x = M.from_numpy(rng.standard_normal((35, 32, 128)).astype(np.float32)).requires_grad_()
g = M.from_numpy(rng.standard_normal((35, 32, 256)).astype(np.float32))
def step():
    model.zero_grad()
    model(x)[0].backward(g)
"""


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--inprocess", action="store_true",
                    help="also time bench.py's in-process interleaving (biased, see above)")
    args = ap.parse_args(argv)
    print(machine())   # includes OPENBLAS_CORETYPE and the kernel set OpenBLAS runs
    results = {}
    for name in ("lstm_lm", "lstm_layers"):
        results[name] = run_solo(name, args.rounds, args.steps, args.warmup,
                                 worker=_LAYERS_WORKER if name == "lstm_layers" else None)
    if args.inprocess:
        results["lstm_lm (in-process)"] = run_workload("lstm_lm", args.rounds * args.steps,
                                                       args.warmup)
    print(f"{'workload':22s} {'ember ms':>9s} {'torch ms':>9s} {'ratio':>6s}")
    for name, r in results.items():
        print(f"{name:22s} {r['ember_ms']:9.2f} {r['torch_ms']:9.2f} {r['ratio']:6.2f}")
    return results


if __name__ == "__main__":
    main()
