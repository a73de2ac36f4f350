"""A tiny encoder-decoder Transformer learns to reverse (or copy) digit sequences.

    python -m ember.examples.transformer                 # default: reverse, ~1-2 minutes
    python -m ember.examples.transformer --task copy --steps 300

Sequences of ``--length`` random digits go into ``nn.Transformer``'s encoder; the decoder,
fed the target shifted right behind a start token and masked causally
(``generate_square_subsequent_mask``), predicts the reversed (or copied) sequence. After
training, sequences are decoded greedily one token at a time, and a sequence counts as
correct only if every digit is. The last line printed is ``sequence accuracy: X``.

Progress bars use tqdm when it is installed (``pip install ember[progress]``); without it
the example prints plain progress lines.
"""
from __future__ import annotations

import argparse
import time

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember import optim
from ember.examples.char_lm import progress

DIGITS = 10
BOS = DIGITS            # start-of-sequence token for the decoder


class Seq2Seq(nn.Module):
    def __init__(self, d_model: int, nhead: int, layers: int, ff: int, max_len: int):
        super().__init__()
        self.tok = nn.Embedding(DIGITS + 1, d_model)
        self.pos = nn.Embedding(max_len, d_model)
        self.transformer = nn.Transformer(d_model, nhead, layers, layers, ff, dropout=0.0,
                                          batch_first=True)
        self.out = nn.Linear(d_model, DIGITS)

    def embed(self, x):
        return self.tok(x) + self.pos(ember.arange(x.shape[1]))

    def forward(self, src, tgt_in):
        mask = nn.Transformer.generate_square_subsequent_mask(tgt_in.shape[1])
        h = self.transformer(self.embed(src), self.embed(tgt_in), tgt_mask=mask,
                             tgt_is_causal=True)
        return self.out(h)

    def greedy(self, src):
        """Decode one token at a time from the start token."""
        memory = self.transformer.encoder(self.embed(src))
        ys = ember.full((src.shape[0], 1), BOS, dtype=ember.int64)
        for _ in range(src.shape[1]):
            mask = nn.Transformer.generate_square_subsequent_mask(ys.shape[1])
            h = self.transformer.decoder(self.embed(ys), memory, tgt_mask=mask,
                                         tgt_is_causal=True)
            nxt = self.out(h[:, -1]).argmax(-1, keepdim=True)
            ys = ember.cat([ys, nxt], 1)
        return ys[:, 1:]


def make_batch(n: int, length: int, task: str):
    src = ember.randint(0, DIGITS, (n, length))
    tgt = src.flip(1) if task == "reverse" else src
    tgt_in = ember.cat([ember.full((n, 1), BOS, dtype=ember.int64), tgt[:, :-1]], 1)
    return src, tgt_in, tgt


def accuracy(model, n: int, length: int, task: str) -> tuple[float, float]:
    """(sequence accuracy, token accuracy) of greedy decoding on fresh sequences."""
    model.eval()
    with ember.no_grad():
        src, _, tgt = make_batch(n, length, task)
        pred = model.greedy(src)
    model.train()
    hits = (pred == tgt)
    return hits.all(1).float().mean().item(), hits.float().mean().item()


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", choices=["reverse", "copy"], default="reverse")
    ap.add_argument("--length", type=int, default=8)
    ap.add_argument("--steps", type=int, default=1200)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--nhead", type=int, default=4)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--ff", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--eval-size", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    ember.manual_seed(args.seed)
    model = Seq2Seq(args.d_model, args.nhead, args.layers, args.ff, args.length + 1)
    opt = optim.Adam(model.parameters(), lr=args.lr)
    sched = optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / args.warmup) * max(0.05, 1 - s / args.steps))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"task: {args.task} {args.length} digits; model: {n_params:,} parameters; "
          f"{args.steps} steps of batch {args.batch_size}")
    bar = progress(range(args.steps), args.steps, "train")
    if bar is None:
        print("(install tqdm for a progress bar; printing every 100 steps instead)")
    t0 = time.perf_counter()
    running = None
    recent: list[float] = []
    for step in (bar if bar is not None else range(args.steps)):
        src, tgt_in, tgt = make_batch(args.batch_size, args.length, args.task)
        logits = model(src, tgt_in)
        loss = F.cross_entropy(logits.reshape(-1, DIGITS), tgt.reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        value = loss.item()
        running = value if running is None else 0.95 * running + 0.05 * value
        recent = (recent + [value])[-20:]
        if bar is not None:
            bar.set_postfix(loss=f"{running:.4f}")
        elif (step + 1) % 100 == 0:
            print(f"step {step + 1:5d}  loss {running:.4f}  ({time.perf_counter() - t0:.0f} s)")
    if bar is not None:
        bar.close()
    train_s = time.perf_counter() - t0
    final_loss = sum(recent) / len(recent)
    print(f"trained {args.steps} steps in {train_s:.1f} s "
          f"({1e3 * train_s / max(args.steps, 1):.1f} ms/step); loss over the last "
          f"{len(recent)} steps {final_loss:.4f}")
    seq_acc, tok_acc = accuracy(model, args.eval_size, args.length, args.task)
    src, _, _ = make_batch(1, args.length, args.task)
    model.eval()
    with ember.no_grad():
        pred = model.greedy(src)
    print(f"example: {src[0].tolist()} -> {pred[0].tolist()}")
    print(f"token accuracy: {tok_acc:.4f}")
    print(f"sequence accuracy: {seq_acc:.4f}")
    return {"seq_acc": seq_acc, "tok_acc": tok_acc, "loss": final_loss,
            "train_seconds": train_s}


if __name__ == "__main__":
    main()
