"""The main job: train a CNN on handwritten digits, with progress, validation and plots.

    python -m ember.examples.mnist                      # embedded 5,000 MNIST digits
    python -m ember.examples.mnist --data ../shared/data/fashion-mnist --epochs 1
    python -m ember.examples.mnist --model logistic     # the seed's other models

By default it trains on the 4,000 training digits shipped inside ember (500 of them held out
for validation) and reports accuracy on the 1,000 held-out test digits. ``--data DIR`` reads
MNIST or Fashion-MNIST IDX files instead (``DIR`` holding ``train-images-idx3-ubyte[.gz]``
and friends, or torchvision's ``DIR/MNIST/raw`` layout). The last line printed is
``test accuracy: 0.xxxx``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember import optim
from ember.utils.data import DataLoader, TensorDataset

MEAN, STD = 0.1307, 0.3081


# ---- the seed's three models, and the default ConvNet ---------------------------------------
class Mnist_Logistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(784, 10)

    def forward(self, xb):
        return self.lin(xb.reshape(xb.shape[0], -1))


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


class Lambda(nn.Module):
    def __init__(self, func):
        super().__init__()
        self.func = func

    def forward(self, x):
        return self.func(x)


def preprocess(x):
    return x.view(-1, 1, 28, 28)


def sequential_cnn():
    return nn.Sequential(
        Lambda(preprocess),
        nn.Conv2d(1, 16, kernel_size=3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(16, 16, kernel_size=3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(16, 10, kernel_size=3, stride=2, padding=1), nn.ReLU(),
        nn.AvgPool2d(4),
        Lambda(lambda x: x.view(x.size(0), -1)),
    )


def convnet():
    """Two conv blocks with batch norm and max pooling, then a small classifier."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * 7 * 7, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )


MODELS = {"convnet": convnet, "logistic": Mnist_Logistic, "cnn": Mnist_CNN,
          "sequential": sequential_cnn}
DEFAULT_LR = {"convnet": 0.05, "logistic": 0.5, "cnn": 0.1, "sequential": 0.1}


# ---- data -------------------------------------------------------------------------------------
def load_data(data_dir: str | None):
    """(x_train, y_train, x_test, y_test) as normalised float32 (N, 1, 28, 28) and int64."""
    from ember.vision import datasets
    if data_dir is None:
        xtr, ytr = datasets.load_embedded_mnist(train=True, dtype=ember.float32)
        xte, yte = datasets.load_embedded_mnist(train=False, dtype=ember.float32)
    else:
        tr = datasets.MNIST(data_dir, train=True)
        te = datasets.MNIST(data_dir, train=False)
        xtr, ytr = tr.data.float() / 255, tr.targets
        xte, yte = te.data.float() / 255, te.targets
    norm = lambda x: ((x - MEAN) / STD).reshape(-1, 1, 28, 28)  # noqa: E731
    return norm(xtr), ytr, norm(xte), yte


# ---- training -----------------------------------------------------------------------------------
def _progress(iterable, total, desc):
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(iterable, total=total, desc=desc, unit="batch", leave=False,
                file=sys.stderr, dynamic_ncols=True)


def evaluate(model, loader):
    model.eval()
    total_loss, correct, n = 0.0, 0, 0
    with ember.no_grad():
        for xb, yb in loader:
            out = model(xb)
            total_loss += F.cross_entropy(out, yb, reduction="sum").item()
            correct += (out.argmax(1) == yb).sum().item()
            n += len(yb)
    return total_loss / n, correct / n


def train(args) -> float:
    ember.manual_seed(args.seed)
    x_train, y_train, x_test, y_test = load_data(args.data)
    n_val = min(args.val_size, len(x_train) // 5)
    perm = ember.randperm(len(x_train))
    tr_idx, va_idx = perm[n_val:], perm[:n_val]
    train_ds = TensorDataset(x_train[tr_idx], y_train[tr_idx])
    valid_ds = TensorDataset(x_train[va_idx], y_train[va_idx])
    test_ds = TensorDataset(x_test, y_test)
    g = ember.Generator().manual_seed(args.seed)
    train_dl = DataLoader(train_ds, batch_size=args.batch_size, shuffle=True, generator=g)
    valid_dl = DataLoader(valid_ds, batch_size=args.batch_size * 2)
    test_dl = DataLoader(test_ds, batch_size=args.batch_size * 2)

    model = MODELS[args.model]()
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.model]
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=1e-4)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=args.epochs,
                                          steps_per_epoch=len(train_dl))
    print(f"model: {args.model} ({sum(p.numel() for p in model.parameters()):,} parameters); "
          f"train {len(train_ds)}, validation {len(valid_ds)}, test {len(test_ds)}")
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    for epoch in range(1, args.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        seen, run_loss, run_correct = 0, 0.0, 0
        bar = _progress(train_dl, len(train_dl), f"epoch {epoch}/{args.epochs}")
        for xb, yb in (bar if bar is not None else train_dl):
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            seen += len(yb)
            run_loss += loss.item() * len(yb)
            run_correct += (out.argmax(1) == yb).sum().item()
            if bar is not None:
                rate = seen / (time.perf_counter() - t0)
                bar.set_postfix(loss=f"{run_loss / seen:.4f}", img_s=f"{rate:,.0f}")
        if bar is not None:
            bar.close()
        val_loss, val_acc = evaluate(model, valid_dl)
        elapsed = time.perf_counter() - t0
        history["train_loss"].append(run_loss / seen)
        history["train_acc"].append(run_correct / seen)
        history["val_loss"].append(val_loss)
        history["val_acc"].append(val_acc)
        print(f"epoch {epoch}: train loss {run_loss / seen:.4f}, validation loss {val_loss:.4f}, "
              f"validation accuracy {val_acc:.4f} ({elapsed:.1f} s, {seen / elapsed:,.0f} img/s)")
    if args.save:
        ember.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                    "args": vars(args)}, args.save)
        print(f"saved checkpoint to {args.save}")
    if args.plot:
        plot_history(history, args.plot)
    _, test_acc = evaluate(model, test_dl)
    print(f"test accuracy: {test_acc:.4f}")
    return test_acc


def plot_history(history, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("--plot needs matplotlib, an optional extra: pip install 'ember[plot]' "
              "(or pip install matplotlib). Skipping the plot.")
        return
    epochs = range(1, len(history["train_loss"]) + 1)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    a1.plot(epochs, history["train_loss"], "o-", label="train")
    a1.plot(epochs, history["val_loss"], "o-", label="validation")
    a1.set_xlabel("epoch")
    a1.set_ylabel("cross-entropy loss")
    a1.legend()
    a2.plot(epochs, history["train_acc"], "o-", label="train")
    a2.plot(epochs, history["val_acc"], "o-", label="validation")
    a2.set_xlabel("epoch")
    a2.set_ylabel("accuracy")
    a2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"saved plot to {path}")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="python -m ember.examples.mnist",
                                 description="Train a digit classifier with ember.")
    ap.add_argument("--data", metavar="DIR", default=None,
                    help="MNIST or Fashion-MNIST IDX files (default: ember's embedded digits)")
    ap.add_argument("--model", choices=sorted(MODELS), default="convnet")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=None, help="peak learning rate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--val-size", type=int, default=500, help="training digits held out")
    ap.add_argument("--save", metavar="PATH", help="write a checkpoint (ember.save)")
    ap.add_argument("--plot", metavar="PATH", help="write a PNG of the loss/accuracy curves")
    args = ap.parse_args(argv)
    if args.data is not None and not os.path.isdir(args.data):
        ap.error(f"--data {args.data}: no such directory")
    return args


def main(argv=None):
    return train(parse_args(argv))


if __name__ == "__main__":
    main()
