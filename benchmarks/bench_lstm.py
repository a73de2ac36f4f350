"""LSTM language-model training step, ember vs torch (not a test).

    python benchmarks/bench_lstm.py [--pairs 30] [--warmup 5]

Two measurements, each interleaved (ember step, torch step, ...) with the median of the
per-pair ratios reported:

* ``lstm_lm``: bench.py's workload (vocab 1000, embedding 128, 2-layer LSTM with hidden 256,
  seq 35, batch 32; forward, cross-entropy, zero_grad, backward, SGD momentum step);
* ``lstm_layers``: the two LSTM layers alone (forward + backward with a random output
  gradient), which isolates ember's fused recurrent kernel from the rest of the model.
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from bench import interleave, machine, run_workload  # noqa: E402


def lstm_layers(pairs: int, warmup: int) -> dict:
    import ember
    import torch
    torch.manual_seed(0)
    tm = torch.nn.LSTM(128, 256, num_layers=2)
    em = ember.nn.LSTM(128, 256, num_layers=2)
    em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    rng = np.random.default_rng(0)
    x = rng.standard_normal((35, 32, 128)).astype(np.float32)
    g = rng.standard_normal((35, 32, 256)).astype(np.float32)
    ex, tx = ember.from_numpy(x.copy()).requires_grad_(), torch.from_numpy(x.copy()).requires_grad_()
    eg, tg = ember.from_numpy(g.copy()), torch.from_numpy(g.copy())

    def estep():
        em.zero_grad()
        em(ex)[0].backward(eg)

    def tstep():
        tm.zero_grad()
        tm(tx)[0].backward(tg)
    return interleave(estep, tstep, pairs, warmup)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args(argv)
    print(machine())
    results = {"lstm_lm": run_workload("lstm_lm", args.pairs, args.warmup),
               "lstm_layers": lstm_layers(args.pairs, args.warmup)}
    print(f"{'workload':12s} {'ember ms':>9s} {'torch ms':>9s} {'ratio':>6s}")
    for name, r in results.items():
        print(f"{name:12s} {r['ember_ms']:9.2f} {r['torch_ms']:9.2f} {r['ratio']:6.2f}")
    return results


if __name__ == "__main__":
    main()
