"""The sequence-model examples run end to end (tiny configurations; the default runs are
the long ones and are checked by hand, see the report in the examples' docstrings)."""
from __future__ import annotations

import math
import sys

import pytest

from ember.examples import char_lm, transformer


def test_char_lm_tiny_run_learns_and_samples(capsys):
    res = char_lm.main(["--steps", "40", "--hidden", "32", "--emb", "16", "--seq-len", "16",
                        "--batch-size", "16", "--lr", "1e-2", "--sample-len", "25",
                        "--eval-every", "20", "--prime", "And"])
    out = capsys.readouterr().out
    assert res["vocab"] == 60
    assert res["first_loss"] == pytest.approx(math.log(60), abs=0.3)    # untrained model
    assert res["val_loss"] < res["first_loss"] - 0.6                   # it learned something
    assert 2.9 < res["unigram_entropy"] < 3.1
    assert res["sample"].startswith("And") and len(res["sample"]) == 3 + 25
    assert "final validation loss" in out.strip().splitlines()[-1]
    assert "unigram entropy" in out


def test_char_lm_custom_text_without_tqdm(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)       # `import tqdm` now fails
    path = tmp_path / "t.txt"
    path.write_text("# a header line that is skipped\n" + "abcabcabd" * 40)
    res = char_lm.main(["--text", str(path), "--steps", "30", "--hidden", "16", "--emb", "8",
                        "--seq-len", "8", "--batch-size", "8", "--lr", "2e-2",
                        "--sample-len", "5", "--prime", "ab", "--eval-every", "10"])
    out = capsys.readouterr().out
    assert "install tqdm" in out and "step    10" in out
    assert res["vocab"] == 4                              # a, b, c, d: the header is skipped
    assert res["val_loss"] < res["unigram_entropy"]       # the pattern is predictable


@pytest.mark.parametrize("task", ["copy", "reverse"])
def test_transformer_tiny_run(task, capsys):
    res = transformer.main(["--task", task, "--steps", "60", "--length", "4", "--d-model", "16",
                            "--nhead", "2", "--layers", "1", "--ff", "32", "--lr", "1e-2",
                            "--warmup", "5", "--eval-size", "64", "--batch-size", "32"])
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("sequence accuracy: ")
    assert 0.0 <= res["seq_acc"] <= res["tok_acc"] <= 1.0
    assert res["loss"] < 1.5 < math.log(10)               # well below chance (ln 10)
    assert res["tok_acc"] > 0.5
