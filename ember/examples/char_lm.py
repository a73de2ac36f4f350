"""Character-level LSTM language model on a public-domain text, then a sample from it.

    python -m ember.examples.char_lm               # default run: 1-2 minutes on 2 cores
    python -m ember.examples.char_lm --steps 100   # a quick run
    python -m ember.examples.char_lm --text my.txt --sample-len 500

The text is the Book of Genesis (chapters 1-24, King James Version, public domain; see the
header of ``genesis.txt`` beside this file). The last 10% of it is held out for validation.
The model (embedding -> LSTM -> linear) is trained with Adam on random windows, and its
validation loss (nats per character) is compared with the entropy of the text's character
frequencies (the best a model that ignores context can do). The last line printed is
``final validation loss: X nats/char (unigram entropy: Y nats/char)``.

Progress bars use tqdm when it is installed (``pip install ember[progress]``); without it
the example prints plain progress lines.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember import optim

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TEXT = os.path.join(HERE, "genesis.txt")


def progress(iterable, total: int, desc: str):
    """A tqdm bar over ``iterable`` when tqdm is installed, else None (callers print)."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(iterable, total=total, desc=desc, leave=False, file=sys.stderr,
                dynamic_ncols=True)


def load_text(path: str) -> str:
    """The file's text without its ``#`` header lines."""
    with open(path, encoding="utf-8") as f:
        return "".join(line for line in f if not line.startswith("#"))


class CharLM(nn.Module):
    def __init__(self, vocab: int, emb: int, hidden: int, layers: int, dropout: float):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, num_layers=layers, batch_first=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x, state=None):
        out, state = self.lstm(self.emb(x), state)
        return self.head(self.drop(out)), state


def unigram_entropy(ids: list[int], vocab: int) -> float:
    counts = [0] * vocab
    for i in ids:
        counts[i] += 1
    n = len(ids)
    return -sum(c / n * math.log(c / n) for c in counts if c)


def windows(data: ember.Tensor, starts: ember.Tensor, seq_len: int):
    """Inputs and next-character targets for windows beginning at ``starts``."""
    idx = starts.unsqueeze(1) + ember.arange(seq_len + 1)
    chunk = data[idx]
    return chunk[:, :-1], chunk[:, 1:]


def evaluate(model, data, seq_len: int, batch: int = 64) -> float:
    """Mean loss over non-overlapping windows covering ``data``."""
    model.eval()
    n_win = (len(data) - 1) // seq_len
    total, count = 0.0, 0
    with ember.no_grad():
        for b in range(0, n_win, batch):
            starts = ember.arange(b, min(b + batch, n_win)) * seq_len
            x, y = windows(data, starts, seq_len)
            logits, _ = model(x)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                                     reduction="sum").item()
            count += y.numel()
    model.train()
    return total / count


def sample(model, chars: str, prime: str, length: int, temperature: float) -> str:
    """Generate ``length`` characters after ``prime``, one step at a time."""
    index = {c: i for i, c in enumerate(chars)}
    model.eval()
    out = list(prime)
    with ember.no_grad():
        x = ember.tensor([[index[c] for c in prime if c in index]])
        logits, state = model(x)
        for _ in range(length):
            probs = F.softmax(logits[0, -1] / temperature, dim=-1)
            nxt = int(ember.multinomial(probs, 1))
            out.append(chars[nxt])
            logits, state = model(ember.tensor([[nxt]]), state)
    model.train()
    return "".join(out)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--text", default=DEFAULT_TEXT)
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--emb", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--eval-every", type=int, default=300)
    ap.add_argument("--sample-len", type=int, default=300)
    ap.add_argument("--prime", default="And God said")
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    ember.manual_seed(args.seed)
    text = load_text(args.text)
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = [index[c] for c in text]
    split = int(len(ids) * 0.9)
    train_data = ember.tensor(ids[:split])
    val_data = ember.tensor(ids[split:])
    h_uni = unigram_entropy(ids[:split], len(chars))
    print(f"text: {len(text):,} characters, vocabulary {len(chars)}; unigram entropy "
          f"{h_uni:.3f} nats/char ({h_uni / math.log(2):.3f} bits/char)")

    model = CharLM(len(chars), args.emb, args.hidden, args.layers, args.dropout)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.steps, eta_min=args.lr / 10)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model: {n_params:,} parameters; {args.steps} steps of {args.batch_size} x "
          f"{args.seq_len} characters")

    bar = progress(range(args.steps), args.steps, "train")
    if bar is None:
        print("(install tqdm for a progress bar; printing every --eval-every steps instead)")
    t0 = time.perf_counter()
    running = None
    first_loss = None
    for step in (bar if bar is not None else range(args.steps)):
        starts = ember.randint(0, len(train_data) - args.seq_len - 1, (args.batch_size,))
        x, y = windows(train_data, starts, args.seq_len)
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        if args.clip:
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        sched.step()
        value = loss.item()
        first_loss = value if first_loss is None else first_loss
        running = value if running is None else 0.98 * running + 0.02 * value
        if bar is not None:
            bar.set_postfix(loss=f"{running:.3f}")
        if (step + 1) % args.eval_every == 0 and step + 1 < args.steps:
            val = evaluate(model, val_data, args.seq_len)
            line = (f"step {step + 1:5d}  train loss {running:.3f}  val loss {val:.3f}  "
                    f"({time.perf_counter() - t0:.0f} s)")
            (bar.write(line) if bar is not None else print(line))
    if bar is not None:
        bar.close()
    train_s = time.perf_counter() - t0
    val = evaluate(model, val_data, args.seq_len)
    print(f"trained {args.steps} steps in {train_s:.1f} s ({1e3 * train_s / max(args.steps, 1):.1f}"
          f" ms/step)")
    text_out = sample(model, chars, args.prime, args.sample_len, args.temperature) \
        if args.sample_len > 0 else ""
    if text_out:
        print("--- sample ---")
        print(text_out)
        print("--------------")
    print(f"final validation loss: {val:.3f} nats/char ({val / math.log(2):.3f} bits/char); "
          f"unigram entropy: {h_uni:.3f} nats/char")
    return {"val_loss": val, "unigram_entropy": h_uni, "first_loss": first_loss,
            "train_seconds": train_s, "sample": text_out, "vocab": len(chars)}


if __name__ == "__main__":
    main()
