"""The examples run end to end (short configurations; the README's figures come from the
full default runs)."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_module(name, *args, timeout=600):
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-m", f"ember.examples.{name}", *args],
                         capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_mnist_main_job_short_run_saves_a_checkpoint_torch_can_read(tmp_path):
    ckpt, png = tmp_path / "ck.pt", tmp_path / "curves.png"
    out = run_module("mnist", "--model", "cnn", "--epochs", "3", "--save", str(ckpt),
                     "--plot", str(png))
    last = out.strip().splitlines()[-1]
    m = re.fullmatch(r"test accuracy: (0\.\d{4})", last)
    assert m, last
    assert float(m.group(1)) > 0.5
    assert re.search(r"epoch 1: train loss [\d.]+, validation loss [\d.]+, validation accuracy "
                     r"0\.\d{4}", out)
    import torch
    state = torch.load(ckpt, weights_only=True)
    assert set(state["model"]) == {"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                                   "conv3.weight", "conv3.bias"}
    try:
        import matplotlib  # noqa: F401
        assert png.stat().st_size > 1000
    except ImportError:
        assert "needs matplotlib" in out


def test_mnist_main_job_logistic_learns():
    out = run_module("mnist", "--model", "logistic", "--epochs", "2")
    acc = float(out.strip().splitlines()[-1].split(": ")[1])
    assert acc > 0.8


def test_mnist_rejects_missing_data_dir(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-m", "ember.examples.mnist", "--data",
                          str(tmp_path / "nope")], capture_output=True, text=True, env=env)
    assert out.returncode != 0 and "no such directory" in out.stderr


def test_quadratic_fit_matches_torch_program():
    out = run_module("quadratic", "--epochs", "300", "--every", "100")
    assert out.count("Loss after") == 3
    # f"{loss}" on a 0-d tensor formats its value, as torch's Tensor.__format__ does
    assert re.search(r"Loss after 0 steps: \d+\.\d+\n", out)


def test_temperature_prints_torch_numbers():
    out = run_module("temperature")
    assert "tensor([4517.2969,   82.6000])" in out
    assert "Epoch 500, Loss 7.860115051269531" in out      # by hand
    assert "Epoch 500, Loss 7.860119819641113" in out      # optim.SGD (torch's fused update)
    assert "tensor([ 9.5483e-01, -8.2600e-04], requires_grad=True)" in out
    assert out.count("tensor([  5.3671, -17.3012], requires_grad=True)") == 2
    assert "tensor([  0.5367, -17.3021], requires_grad=True)" in out


def test_linear_regression_runs():
    out = run_module("linear_regression")
    assert "epoch 99, loss" in out
    assert "grad_fn=<MseLossBackward0>" in out
    w = float(re.search(r"None tensor\(\[\[(-?[\d.]+)\]\]\)", out).group(1))
    assert abs(w - 2.0) < 0.2


def test_nn_from_scratch_walkthrough(tmp_path):
    out = run_module("nn_from_scratch", "--path", str(tmp_path / "mnist" / "mnist.pkl.gz"))
    lines = out.strip().splitlines()
    acc = float(lines[-1].split(": ")[1])
    assert acc > 0.1          # the tutorial's CNN settings learn slowly on 4,000 digits
    logistic_val = float(lines[lines.index("logistic:") + 2].split()[1])
    assert logistic_val < 0.6   # nn.Linear + SGD learned (validation loss after 2 epochs)
    assert "from scratch:" in out and "tensor(0.9" in out.split("from scratch:")[1][:80]
    assert "Lambda()" in out and "AvgPool2d(kernel_size=4, stride=4, padding=0)" in out
